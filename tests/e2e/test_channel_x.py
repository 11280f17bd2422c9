"""X end to end: the CRC and signed Account Activity posts over real HTTP into
/webhooks/x/<name>, filed by a worker, answered through the fake X API: a DM with a DM,
a public mention with a public reply naming the ticket. X signs no timestamp: a replay
repeats event ids already stored."""

from __future__ import annotations

import pytest

from mailbot.channels import ChannelSpec
from tests.fixtures.platforms import ChatDesk, as_bytes
from tests.fixtures.platforms import x as fx

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PATH = "/webhooks/x/acme"


@pytest.fixture
def desk(chat_desk: ChatDesk) -> ChatDesk:
    chat_desk.api.credentials["x"] = fx.USER_TOKEN
    chat_desk.api.credentials["x:user_id"] = fx.OUR_ID
    chat_desk.add_channel(
        ChannelSpec(
            "x",
            "acme",
            secret=fx.CONSUMER_SECRET,
            token=fx.USER_TOKEN,
            api_base=chat_desk.api.base("x"),
            options={"account_id": fx.OUR_ID, "language": "es"},
        )
    )
    return chat_desk


def send(desk: ChatDesk, payload: dict) -> int:
    body = as_bytes(payload)
    return desk.post(PATH, body, fx.headers(body)).status_code


def test_the_crc_over_http(desk: ChatDesk) -> None:
    answer = desk.http.get(desk.web.url(PATH), params={"crc_token": "d3ZlcnlfcmFuZG9t"})
    assert answer.status_code == 200 and answer.json() == fx.crc_response("d3ZlcnlfcmFuZG9t")


def test_a_direct_message_becomes_a_ticket_answered_by_dm(desk: ChatDesk) -> None:
    assert send(desk, fx.dm("Hola, mi pedido 4411 no ha llegado")) == 200
    desk.work()
    [ticket] = desk.tickets()
    assert ticket["channel"] == "x" and ticket["acknowledged_at"] is not None
    assert ticket["messages"][0]["sender"] == {"type": "x", "value": fx.CUSTOMER_ID, "name": fx.CUSTOMER_NAME}
    [call] = desk.api.calls_to("x")
    assert (call.path, call.status) == (f"/2/dm_conversations/with/{fx.CUSTOMER_ID}/messages", 201)
    assert ticket["ref"] in call.json["text"]
    [entry] = desk.outbox()
    assert entry.status == "sent" and (entry.external_id or "").isdigit()

    # Our DM comes back as a direct_message_event authored by us; the customer reads it.
    send(desk, fx.dm(call.json["text"], sender=fx.OUR_ID, recipient=fx.CUSTOMER_ID))
    send(desk, fx.mark_read(entry.external_id or ""))
    desk.work()
    assert [i.status for i in desk.inbound()] == ["processed", "ignored", "ignored"]
    assert len(desk.api.calls_to("x")) == 1


def test_each_public_mention_gets_a_public_reply_naming_the_one_ticket(desk: ChatDesk) -> None:
    first = fx.tweet("mi pedido 4411 lleva dos semanas sin llegar")
    send(desk, fx.mentions(first))
    desk.work()
    [ticket] = desk.tickets()
    [reply] = desk.api.calls_to("x")
    assert reply.path == "/2/tweets"
    assert reply.json["reply"] == {"in_reply_to_tweet_id": first["id_str"]}
    assert ticket["ref"] in reply.json["text"]

    second = fx.tweet("¿nadie me va a contestar?")
    send(desk, fx.mentions(second))
    desk.work()
    [ticket] = desk.tickets()
    assert len(ticket["messages"]) == 2
    _, again = desk.api.calls_to("x")
    assert again.json["reply"] == {"in_reply_to_tweet_id": second["id_str"]}
    assert ticket["ref"] in again.json["text"]


def test_a_customer_with_an_open_dm_ticket_is_named_it_in_public(desk: ChatDesk) -> None:
    send(desk, fx.dm("Hola, mi pedido 4411 no ha llegado"))
    desk.work()
    send(desk, fx.mentions(fx.tweet("sigo esperando mi pedido")))
    desk.work()
    [ticket] = desk.tickets()  # the mention joined the open ticket: no second one
    _, public = desk.api.calls_to("x")
    assert public.path == "/2/tweets" and ticket["ref"] in public.json["text"]
    assert "DM" not in public.json["text"]


def test_a_redelivery_is_answered_200_and_filed_once(desk: ChatDesk) -> None:
    payload = fx.dm("¿Seguís ahí?")
    for _ in range(3):
        assert send(desk, payload) == 200
    desk.work()
    assert len(desk.inbound()) == 1 and len(desk.tickets()) == 1
    assert len(desk.api.calls_to("x")) == 1


def test_a_bad_signature_is_401_and_nothing_is_stored(desk: ChatDesk) -> None:
    body = as_bytes(fx.dm("Hola"))
    assert desk.post(PATH, body, fx.headers(body, secret="guessed")).status_code == 401
    assert desk.post(PATH, body, {"Content-Type": "application/json"}).status_code == 401
    desk.work()
    assert desk.inbound() == [] and desk.tickets() == []


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: fx.favorite(fx.tweet("Gracias", author=fx.OUR_USER, mention=False)), id="like"),
        pytest.param(fx.follow, id="follow"),
        pytest.param(fx.typing, id="typing"),
        pytest.param(lambda: fx.tweet_delete("1864000000000000077"), id="deleted-post"),
        pytest.param(
            lambda: fx.mentions(fx.tweet("Nuevo horario", author=fx.OUR_USER, mention=False)), id="our-post"
        ),
        pytest.param(fx.revoke, id="revoked"),
    ],
)
def test_what_is_not_a_customer_message_is_stored_but_never_answered(desk: ChatDesk, make) -> None:
    assert send(desk, make()) == 200
    desk.work()
    [stored] = desk.inbound()
    assert stored.status == "ignored"
    assert desk.tickets() == [] and desk.api.calls_to("x") == []


def test_a_photo_alone_in_a_dm_is_a_customer_message(desk: ChatDesk) -> None:
    attachment, link = fx.photo_attachment()
    send(desk, fx.dm(link, attachment=attachment))
    desk.work()
    [ticket] = desk.tickets()
    assert ticket["messages"][0]["text"] == "[photo]"
    assert len(desk.api.calls_to("x")) == 1
