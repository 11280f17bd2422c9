"""Slack end to end: Events API requests signed as Slack signs them, over real HTTP into
/webhooks/slack/<name>, filed by a worker, acknowledged through the fake Slack API; and
everything that must not become a ticket or an answer."""

from __future__ import annotations

import time

import pytest

from mailbot.channels import ChannelSpec
from mailbot.store.models import Attachment
from tests.fixtures.platforms import ChatDesk, as_bytes
from tests.fixtures.platforms import slack as fx

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PATH = "/webhooks/slack/acme"


@pytest.fixture
def desk(chat_desk: ChatDesk) -> ChatDesk:
    chat_desk.api.credentials["slack"] = fx.BOT_TOKEN
    chat_desk.add_channel(
        ChannelSpec(
            "slack",
            "acme",
            secret=fx.SIGNING_SECRET,
            token=fx.BOT_TOKEN,
            api_base=chat_desk.api.base("slack"),
            options={"language": "es"},
        )
    )
    return chat_desk


def send(desk: ChatDesk, event: dict, **envelope_options) -> tuple[int, bytes]:
    body = as_bytes(fx.envelope(event, **envelope_options))
    response = desk.post(PATH, body, fx.signed_headers(body))
    return response.status_code, body


def test_a_direct_message_becomes_a_ticket_acknowledged_once_in_the_same_conversation(desk: ChatDesk) -> None:
    event = fx.message("Hola, la factura de marzo no me ha llegado. ¿Me la podéis reenviar?")
    status, _ = send(desk, event)
    assert status == 200
    desk.work()

    [ticket] = desk.tickets()
    assert ticket["channel"] == "slack"
    [message] = ticket["messages"]
    assert message["kind"] == "customer"
    assert message["sender"]["type"] == "slack"
    assert message["sender"]["name"] == "marta"
    assert message["sender"]["value"] == fx.CUSTOMER  # Slack's ids keep their case
    assert message["message_id"] == f"{fx.DM}:{event['ts']}"
    assert ticket["acknowledged_at"] is not None

    [call] = desk.api.calls_to("slack")
    assert call.path == "/chat.postMessage" and call.status == 200
    assert call.headers["authorization"] == f"Bearer {fx.BOT_TOKEN}"
    assert call.json["channel"] == fx.DM
    assert "thread_ts" not in call.json
    assert ticket["ref"] in call.json["text"]
    assert call.json["text"].startswith("Hola")  # the channel's language
    [entry] = desk.outbox()
    assert (entry.status, entry.channel) == ("sent", "slack")
    assert entry.external_id and entry.external_id.count(".") == 1  # Slack's ts of our message


def test_url_verification_echoes_the_challenge(desk: ChatDesk) -> None:
    body = as_bytes(fx.url_verification("wjEc3fSvW2fqHxy2vmxLuuJd"))
    response = desk.post(PATH, body, fx.signed_headers(body))
    assert (response.status_code, response.text) == (200, "wjEc3fSvW2fqHxy2vmxLuuJd")
    assert desk.inbound() == []


def test_a_slack_retry_is_answered_200_and_filed_once(desk: ChatDesk) -> None:
    event = fx.message("¿Cuándo llega mi pedido 88231?")
    body = as_bytes(fx.envelope(event, event_id="Ev0RETRYE2E"))
    assert desk.post(PATH, body, fx.signed_headers(body)).status_code == 200
    for attempt in (1, 2, 3):
        assert desk.post(PATH, body, fx.retry_headers(body, attempt)).status_code == 200
    desk.work()
    assert len(desk.inbound()) == 1
    [ticket] = desk.tickets()
    assert len(ticket["messages"]) == 1
    assert len(desk.api.calls_to("slack")) == 1


def test_a_bad_signature_is_401_and_stores_nothing(desk: ChatDesk) -> None:
    body = fx.body_of(fx.message("hola"))
    forged = fx.signed_headers(body, secret="someone-elses-secret")
    response = desk.post(PATH, body, forged)
    assert response.status_code == 401
    unsigned = {"Content-Type": "application/json"}
    assert desk.post(PATH, body, unsigned).status_code == 401
    desk.work()
    assert desk.inbound() == [] and desk.tickets() == []


def test_a_replayed_request_with_its_old_signature_is_401(desk: ChatDesk) -> None:
    # Captured ten minutes ago, correctly signed then: outside the five-minute window now.
    body = fx.body_of(fx.message("hola"))
    response = desk.post(PATH, body, fx.signed_headers(body, timestamp=int(time.time()) - 600))
    assert response.status_code == 401
    assert desk.inbound() == []


def test_a_malformed_body_is_400_and_an_unknown_channel_404(desk: ChatDesk) -> None:
    body = b'{"type": "event_callback", "event": {"type": "message"'
    assert desk.post(PATH, body, fx.signed_headers(body)).status_code == 400
    good = fx.body_of(fx.message("hola"))
    assert desk.post("/webhooks/slack/nobody", good, fx.signed_headers(good)).status_code == 404
    assert desk.inbound() == []


def test_a_reply_in_the_thread_joins_the_ticket_and_is_not_acknowledged_again(desk: ChatDesk) -> None:
    top = fx.message(
        f"<@{fx.BOT_USER}> no puedo entrar en mi cuenta", channel=fx.PUBLIC, channel_type="channel"
    )
    send(desk, top)
    desk.work()
    reply = fx.message(
        f"<@{fx.BOT_USER}> el error dice 'usuario bloqueado'",
        channel=fx.PUBLIC,
        channel_type="channel",
        thread_ts=top["ts"],
    )
    send(desk, reply)
    desk.work()
    [ticket] = desk.tickets()
    assert [m["kind"] for m in ticket["messages"]] == ["customer", "customer"]
    [call] = desk.api.calls_to("slack")
    assert call.json["channel"] == fx.PUBLIC


def test_top_level_direct_messages_in_a_row_are_one_conversation(desk: ChatDesk) -> None:
    first = fx.message("Hola, el pedido 5521 llegó roto")
    send(desk, first)
    desk.work()
    send(desk, fx.message("Os mando la foto de la caja en un momento"))
    desk.work()
    [ticket] = desk.tickets()
    assert len(ticket["messages"]) == 2
    assert len(desk.api.calls_to("slack")) == 1  # acknowledged once


def test_top_level_messages_in_a_shared_channel_are_separate_threads(desk: ChatDesk) -> None:
    for text in ("no puedo pagar con tarjeta", "¿hacéis envíos a Canarias?"):
        send(desk, fx.message(f"<@{fx.BOT_USER}> {text}", channel=fx.PUBLIC, channel_type="channel"))
        desk.work()
    assert len(desk.tickets()) == 2


def test_our_own_acknowledgement_coming_back_is_not_a_ticket(desk: ChatDesk) -> None:
    send(desk, fx.message("Necesito cambiar la dirección de envío"))
    desk.work()
    [ack] = desk.api.calls_to("slack")
    [entry] = desk.outbox()
    # What Slack delivers when the message we posted appears in the conversation.
    echo = fx.own_message(ack.json["text"], channel=ack.json["channel"])
    echo["ts"] = echo["event_ts"] = entry.external_id
    assert send(desk, echo)[0] == 200
    desk.work()
    [ticket] = desk.tickets()
    assert len(ticket["messages"]) == 1
    assert len(desk.api.calls_to("slack")) == 1
    echoed = desk.inbound()[-1]
    assert (echoed.status, echoed.verdict) == ("ignored", "own_echo")


def test_an_edit_updates_the_message_and_opens_nothing(desk: ChatDesk) -> None:
    original = fx.message("Mi pedido es el 8823")
    send(desk, original)
    desk.work()
    send(desk, fx.message_changed(original, "Mi pedido es el 88231"))
    desk.work()
    [ticket] = desk.tickets()
    [message] = ticket["messages"]
    assert message["text"] == "Mi pedido es el 88231"
    assert len(desk.api.calls_to("slack")) == 1
    edit = desk.inbound()[-1]
    assert (edit.status, edit.verdict) == ("ignored", "event")


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: fx.bot_message("Deploy finished"), id="bot_message"),
        pytest.param(lambda: fx.reaction_added("1700000000.000100"), id="reaction_added"),
        pytest.param(fx.channel_join, id="channel_join"),
        pytest.param(fx.channel_leave, id="channel_leave"),
        pytest.param(fx.app_home_opened, id="app_home_opened"),
        pytest.param(fx.tokens_revoked, id="tokens_revoked"),
        pytest.param(fx.app_uninstalled, id="app_uninstalled"),
        pytest.param(
            lambda: fx.message("¿Alguien ha visto el pedido?", channel=fx.PUBLIC, channel_type="channel"),
            id="channel-message-not-addressed",
        ),
    ],
)
def test_what_is_not_a_customer_message_is_stored_but_never_a_ticket_or_an_answer(
    desk: ChatDesk, make
) -> None:
    assert send(desk, make())[0] == 200
    desk.work()
    [stored] = desk.inbound()
    assert stored.status == "ignored" or stored.verdict == "auto_reply"
    assert desk.tickets() == []
    assert desk.api.calls_to("slack") == []


def test_a_file_without_text_is_a_customer_message_with_its_reference(desk: ChatDesk) -> None:
    event = fx.file_share(name="rotura-caja.jpg", mimetype="image/jpeg")
    send(desk, event)
    desk.work()
    [ticket] = desk.tickets()
    [message] = ticket["messages"]
    assert message["text"] == "[image: rotura-caja.jpg]"
    with desk.runtime.sessions() as session:
        [attachment] = session.query(Attachment).all()
        assert attachment.reference == event["files"][0]["url_private"]
        assert attachment.data is None
    assert len(desk.api.calls_to("slack")) == 1


def test_a_rate_limited_acknowledgement_is_kept_for_later_not_lost(desk: ChatDesk) -> None:
    desk.api.fail("slack", 429, retry_after=120)
    send(desk, fx.message("¿Hacéis envíos a Andorra?"))
    desk.work()
    [entry] = desk.outbox()
    assert (entry.status, entry.attempts) == ("pending", 1)
    [ticket] = desk.tickets()
    assert ticket["acknowledged_at"] is None
