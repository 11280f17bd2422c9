"""WhatsApp Cloud API end to end: Meta-signed webhooks over real HTTP into
/webhooks/whatsapp/<name>, filed by a worker, acknowledged through the fake Graph API.

Meta signs no timestamp, so there is no stale-request window to test: a replayed
delivery is recognised by its message id and answered 200 without a second ticket."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mailbot.channels import ChannelSpec
from mailbot.store.models import Attachment, Message
from tests.fixtures.messages import alerts
from tests.fixtures.platforms import ChatDesk, as_bytes
from tests.fixtures.platforms import meta as fx

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PATH = "/webhooks/whatsapp/acme"


@pytest.fixture
def desk(chat_desk: ChatDesk) -> ChatDesk:
    chat_desk.api.credentials["meta"] = fx.ACCESS_TOKEN
    chat_desk.add_channel(
        ChannelSpec(
            "whatsapp",
            "acme",
            secret=fx.APP_SECRET,
            token=fx.ACCESS_TOKEN,
            api_base=chat_desk.api.base("meta"),
            options={
                "phone_number_id": fx.PHONE_NUMBER_ID,
                "verify_token": fx.VERIFY_TOKEN,
                "language": "es",
            },
        )
    )
    return chat_desk


def send(desk: ChatDesk, *changes: dict) -> int:
    body = as_bytes(fx.whatsapp_body(*changes))
    return desk.post(PATH, body, fx.headers(body)).status_code


def test_a_message_becomes_a_ticket_answered_on_whatsapp_once(desk: ChatDesk) -> None:
    assert send(desk, fx.messages_change(fx.wa_text("Hola, mi pedido 4411 no ha llegado todavía."))) == 200
    desk.work()

    [ticket] = desk.tickets()
    assert ticket["channel"] == "whatsapp" and ticket["acknowledged_at"] is not None
    [message] = ticket["messages"]
    assert message["sender"] == {"type": "whatsapp", "value": "+34612345678", "name": fx.CUSTOMER_NAME}
    assert message["kind"] == "customer"

    [call] = desk.api.calls_to("meta")
    assert (call.path, call.status) == (f"/{fx.PHONE_NUMBER_ID}/messages", 200)
    assert call.json["to"] == fx.CUSTOMER_WA_ID and call.json["type"] == "text"
    assert ticket["ref"] in call.json["text"]["body"] and call.json["text"]["body"].startswith("Hola Lucía")
    [entry] = desk.outbox()
    assert entry.status == "sent" and (entry.external_id or "").startswith("wamid.")

    # The next message of the conversation joins the ticket and is not answered again.
    send(desk, fx.messages_change(fx.wa_text("El número de seguimiento es ES123456789")))
    desk.work()
    [ticket] = desk.tickets()
    assert len(ticket["messages"]) == 2
    assert len(desk.api.calls_to("meta")) == 1


def test_a_redelivered_batch_is_answered_200_and_filed_once(desk: ChatDesk) -> None:
    body = as_bytes(fx.whatsapp_body(fx.messages_change(fx.wa_text("¿Dónde está mi paquete?"))))
    for _ in range(3):
        assert desk.post(PATH, body, fx.headers(body)).status_code == 200
    desk.work()
    assert len(desk.inbound()) == 1
    [ticket] = desk.tickets()
    assert len(ticket["messages"]) == 1
    assert len(desk.api.calls_to("meta")) == 1


def test_a_bad_signature_is_401_a_malformed_body_400_and_nothing_is_stored(desk: ChatDesk) -> None:
    body = as_bytes(fx.whatsapp_body(fx.messages_change(fx.wa_text("Hola"))))
    assert desk.post(PATH, body, fx.headers(body, secret="guessed")).status_code == 401
    assert desk.post(PATH, body, {"Content-Type": "application/json"}).status_code == 401
    broken = b'{"object": "whatsapp_business_account", "entry": '
    assert desk.post(PATH, broken, fx.headers(broken)).status_code == 400
    desk.work()
    assert desk.inbound() == [] and desk.tickets() == []


def test_the_subscription_handshake_over_http(desk: ChatDesk) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": fx.VERIFY_TOKEN, "hub.challenge": "1158201444"}
    answer = desk.http.get(desk.web.url(PATH), params=query)
    assert (answer.status_code, answer.text) == (200, "1158201444")
    assert answer.headers["content-type"].startswith("text/plain")
    wrong = desk.http.get(desk.web.url(PATH), params={**query, "hub.verify_token": "guessed"})
    assert wrong.status_code == 403


def test_an_edit_updates_the_message_and_a_revoke_marks_it_deleted(desk: ChatDesk) -> None:
    original = fx.wa_text("Pedido 441")
    send(desk, fx.messages_change(original))
    desk.work()
    send(desk, fx.messages_change(fx.wa_edit(original["id"], "Pedido 4411")))
    desk.work()
    [ticket] = desk.tickets()
    [message] = ticket["messages"]
    assert message["text"] == "Pedido 4411"
    send(desk, fx.messages_change(fx.wa_revoke(original["id"])))
    desk.work()
    with desk.runtime.sessions() as session:
        stored = session.scalar(select(Message).where(Message.internet_message_id == original["id"]))
        assert stored is not None and stored.deleted_at is not None
    assert len(desk.api.calls_to("meta")) == 1


def test_statuses_of_our_acknowledgement_are_stored_never_answered(desk: ChatDesk) -> None:
    send(desk, fx.messages_change(fx.wa_text("Hola, necesito ayuda con una devolución")))
    desk.work()
    [entry] = desk.outbox()
    wamid = entry.external_id or ""
    assert (
        send(desk, fx.statuses_change(fx.wa_status(wamid, "sent"), fx.wa_status(wamid, "delivered"))) == 200
    )
    assert send(desk, fx.statuses_change(fx.wa_status(wamid, "read"))) == 200
    desk.work()
    statuses = [i for i in desk.inbound() if i.source_key.split(":", 2)[2].startswith("status:")]
    assert len(statuses) == 3 and all(i.status == "ignored" for i in statuses)
    [ticket] = desk.tickets()
    assert len(ticket["messages"]) == 1
    assert len(desk.api.calls_to("meta")) == 1


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda: fx.echoes_change(fx.wa_echo("Le llamamos en 5 minutos")), id="business-app-echo"
        ),
        pytest.param(lambda: fx.messages_change(fx.wa_reaction("wamid.SOMETHING")), id="reaction"),
        pytest.param(
            lambda: fx.messages_change(fx.wa_text("Hola"), phone_number_id=fx.OTHER_PHONE_NUMBER_ID),
            id="another-number",
        ),
        pytest.param(fx.template_status_change, id="template-status-update"),
    ],
)
def test_what_is_not_a_customer_message_for_us_is_stored_but_never_answered(desk: ChatDesk, change) -> None:
    assert send(desk, change()) == 200
    desk.work()
    [stored] = desk.inbound()
    assert stored.status == "ignored"
    assert desk.tickets() == []
    assert desk.api.calls_to("meta") == []


@pytest.mark.parametrize(
    ("make", "text", "reference"),
    [
        pytest.param(fx.wa_image, "[photo]", "1479537139650973", id="photo"),
        pytest.param(fx.wa_voice, "[voice message]", "1003383421387256", id="voice"),
        pytest.param(fx.wa_document, "[document: factura-2026-118.pdf]", "1282457326318224", id="document"),
    ],
)
def test_a_media_only_message_is_a_customer_message_with_its_media_reference(
    desk: ChatDesk, make, text: str, reference: str
) -> None:
    send(desk, fx.messages_change(make()))
    desk.work()
    [ticket] = desk.tickets()
    [message] = ticket["messages"]
    assert (message["kind"], message["text"]) == ("customer", text)
    with desk.runtime.sessions() as session:
        [attachment] = session.scalars(select(Attachment)).all()
        assert (attachment.reference, attachment.data) == (reference, None)
    assert len(desk.api.calls_to("meta")) == 1


def test_two_photos_in_a_row_are_two_messages_of_the_ticket(desk: ChatDesk) -> None:
    first, second = fx.wa_image(), fx.wa_image()
    second["image"]["id"] = "1479537139650999"
    send(desk, fx.messages_change(first))
    desk.work()
    send(desk, fx.messages_change(second))
    desk.work()
    [ticket] = desk.tickets()
    assert [m["text"] for m in ticket["messages"]] == ["[photo]", "[photo]"]


def test_graph_refusing_the_token_fails_the_acknowledgement_and_alerts(desk: ChatDesk) -> None:
    desk.api.credentials["meta"] = "EAArevoked"
    send(desk, fx.messages_change(fx.wa_text("Hola, ¿me ayudáis?")))
    desk.work()
    [entry] = desk.outbox()
    assert entry.status == "failed" and "190" in (entry.last_error or "")
    [ticket] = desk.tickets()
    assert ticket["acknowledged_at"] is None
    [alert] = alerts(desk.runtime, "outbox_failed")
    assert entry.key in alert.detail
