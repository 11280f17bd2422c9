"""Messenger and Instagram end to end: Meta-signed messaging webhooks over real HTTP into
/webhooks/messenger/<name> and /webhooks/instagram/<name>, filed by a worker, answered
through the fake Send API. Meta signs no timestamp: a replay repeats a stored mid."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mailbot.channels import ChannelSpec
from mailbot.store.models import Attachment, Message
from tests.fixtures.platforms import ChatDesk, as_bytes
from tests.fixtures.platforms import meta as fx

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

MESSENGER = "/webhooks/messenger/acme"
INSTAGRAM = "/webhooks/instagram/acme"


@pytest.fixture
def desk(chat_desk: ChatDesk) -> ChatDesk:
    chat_desk.api.credentials["meta"] = fx.ACCESS_TOKEN
    for channel_type in ("messenger", "instagram"):
        chat_desk.add_channel(
            ChannelSpec(
                channel_type,
                "acme",
                secret=fx.APP_SECRET,
                token=fx.ACCESS_TOKEN,
                api_base=chat_desk.api.base("meta"),
                options={"verify_token": fx.VERIFY_TOKEN, "language": "es"},
            )
        )
    return chat_desk


def send(desk: ChatDesk, *items: dict, path: str = MESSENGER) -> int:
    if path == INSTAGRAM:
        payload = fx.messaging_body(*items, obj="instagram", account=fx.IG_ACCOUNT_ID)
    else:
        payload = fx.messaging_body(*items)
    body = as_bytes(payload)
    return desk.post(path, body, fx.headers(body)).status_code


def test_a_messenger_message_becomes_a_ticket_answered_to_the_psid(desk: ChatDesk) -> None:
    assert send(desk, fx.ms_text("Hola, quiero cambiar la talla de mi pedido 4411")) == 200
    desk.work()
    [ticket] = desk.tickets()
    assert ticket["channel"] == "messenger" and ticket["acknowledged_at"] is not None
    assert ticket["messages"][0]["sender"] == {"type": "messenger", "value": fx.PSID, "name": ""}
    [call] = desk.api.calls_to("meta")
    assert call.path == "/me/messages" and call.json["recipient"] == {"id": fx.PSID}
    assert call.json["messaging_type"] == "RESPONSE" and ticket["ref"] in call.json["message"]["text"]
    [entry] = desk.outbox()
    assert entry.status == "sent" and (entry.external_id or "").startswith("m_")

    # Meta echoes what the page sent: our acknowledgement comes back and is ours.
    assert send(desk, fx.ms_echo(call.json["message"]["text"])) == 200
    send(desk, fx.ms_delivery(entry.external_id or ""), fx.ms_read())
    desk.work()
    assert [i.status for i in desk.inbound()] == ["processed", "ignored", "ignored", "ignored"]
    assert len(desk.tickets()[0]["messages"]) == 1
    assert len(desk.api.calls_to("meta")) == 1


def test_an_instagram_message_becomes_a_ticket_answered_on_instagram(desk: ChatDesk) -> None:
    send(
        desk,
        fx.ms_text("¿Tenéis la chaqueta en talla M?", person=fx.IGSID, account=fx.IG_ACCOUNT_ID),
        path=INSTAGRAM,
    )
    desk.work()
    [ticket] = desk.tickets()
    assert ticket["channel"] == "instagram"
    assert ticket["messages"][0]["sender"]["type"] == "instagram"
    [call] = desk.api.calls_to("meta")
    assert call.json["recipient"] == {"id": fx.IGSID}


def test_a_redelivery_is_answered_200_and_filed_once(desk: ChatDesk) -> None:
    item = fx.ms_text("¿Seguís ahí?")
    for _ in range(3):
        assert send(desk, item) == 200
    desk.work()
    assert len(desk.inbound()) == 1 and len(desk.tickets()) == 1
    assert len(desk.api.calls_to("meta")) == 1


def test_a_bad_signature_or_the_wrong_product_stores_nothing(desk: ChatDesk) -> None:
    body = as_bytes(fx.messaging_body(fx.ms_text("Hola")))
    assert desk.post(MESSENGER, body, fx.headers(body, secret="guessed")).status_code == 401
    # A page webhook posted to the Instagram channel: misconfigured, refused loudly.
    assert desk.post(INSTAGRAM, body, fx.headers(body)).status_code == 400
    desk.work()
    assert desk.inbound() == [] and desk.tickets() == []


def test_an_edit_updates_the_message_and_an_instagram_unsend_marks_it_deleted(desk: ChatDesk) -> None:
    original = fx.ms_text("Pedido 441")
    send(desk, original)
    desk.work()
    send(desk, fx.ms_edit(original["message"]["mid"], "Pedido 4411"))
    desk.work()
    assert desk.tickets()[0]["messages"][0]["text"] == "Pedido 4411"

    on_instagram = fx.ms_text("Hola", person=fx.IGSID, account=fx.IG_ACCOUNT_ID)
    send(desk, on_instagram, path=INSTAGRAM)
    desk.work()
    send(desk, fx.ig_unsend(on_instagram["message"]["mid"]), path=INSTAGRAM)
    desk.work()
    with desk.runtime.sessions() as session:
        unsent = session.scalar(
            select(Message).where(Message.internet_message_id == on_instagram["message"]["mid"])
        )
        assert unsent is not None and unsent.deleted_at is not None
    assert len(desk.api.calls_to("meta")) == 2  # one answer per conversation, none for edits


def test_reactions_and_referrals_are_never_answered(desk: ChatDesk) -> None:
    send(desk, fx.ms_reaction("m_SOMETHING"), fx.ms_referral())
    desk.work()
    assert [i.status for i in desk.inbound()] == ["ignored", "ignored"]
    assert desk.tickets() == [] and desk.api.calls_to("meta") == []


def test_a_photo_alone_is_a_customer_message_with_its_url(desk: ChatDesk) -> None:
    url = "https://scontent.xx.fbcdn.net/v/t1.15752-9/foto-paquete.jpg"
    send(desk, fx.ms_attachment("image", url))
    desk.work()
    [ticket] = desk.tickets()
    assert ticket["messages"][0]["text"] == "[photo]"
    with desk.runtime.sessions() as session:
        [attachment] = session.scalars(select(Attachment)).all()
        assert attachment.reference == url
    assert len(desk.api.calls_to("meta")) == 1
