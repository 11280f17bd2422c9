"""SMS and WhatsApp through Twilio end to end: form posts signed over the URL Twilio
called, into /webhooks/twilio/<name>, filed by a worker, answered through the fake
Messages API. Twilio signs no timestamp: a replay repeats a stored MessageSid."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from mailbot.channels import ChannelSpec
from mailbot.store.models import Attachment
from tests.fixtures.platforms import ChatDesk
from tests.fixtures.platforms import twilio as fx

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PATH = "/webhooks/twilio/acme"


@pytest.fixture
def desk(chat_desk: ChatDesk, monkeypatch: pytest.MonkeyPatch) -> ChatDesk:
    monkeypatch.delenv("MAILBOT_PUBLIC_URL", raising=False)
    chat_desk.api.credentials["twilio"] = f"{fx.ACCOUNT_SID}:{fx.AUTH_TOKEN}"
    chat_desk.add_channel(
        ChannelSpec(
            "twilio",
            "acme",
            secret=fx.AUTH_TOKEN,
            token=f"{fx.ACCOUNT_SID}:{fx.AUTH_TOKEN}",
            api_base=chat_desk.api.base("twilio"),
            options={"from": fx.OUR_NUMBER, "language": "es"},
        )
    )
    return chat_desk


def send(desk: ChatDesk, params: dict[str, str], signed_url: str | None = None) -> httpx.Response:
    url = desk.web.url(PATH)
    return desk.post(PATH, fx.encoded(params), fx.headers(signed_url or url, params))


def test_an_sms_becomes_a_ticket_answered_by_sms_from_the_number_written_to(desk: ChatDesk) -> None:
    params = fx.sms("Hola, mi pedido 4411 no ha llegado")
    assert send(desk, params).status_code == 200
    desk.work()
    [ticket] = desk.tickets()
    assert ticket["channel"] == "twilio" and ticket["acknowledged_at"] is not None
    assert ticket["messages"][0]["sender"] == {"type": "phone", "value": fx.CUSTOMER, "name": ""}
    [call] = desk.api.calls_to("twilio")
    assert call.status == 201
    assert (call.form["To"], call.form["From"]) == (fx.CUSTOMER, fx.OUR_NUMBER)
    assert ticket["ref"] in call.form["Body"]
    [entry] = desk.outbox()
    sid = entry.external_id or ""
    assert entry.status == "sent" and sid.startswith("SM")

    # Twilio's status callbacks about that answer are stored, never answered.
    for status in ("sent", "delivered"):
        assert send(desk, fx.status_callback(sid, status)).status_code == 200
    desk.work()
    assert [i.status for i in desk.inbound()] == ["processed", "ignored", "ignored"]
    assert len(desk.api.calls_to("twilio")) == 1


def test_behind_a_proxy_the_signature_is_over_the_public_url(
    desk: ChatDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILBOT_PUBLIC_URL", "https://support.example.test")
    params = fx.sms("Hola desde el proxy")
    # Signed over what Twilio was configured with, not the loopback address it reached.
    assert send(desk, params).status_code == 401
    assert send(desk, params, signed_url="https://support.example.test" + PATH).status_code == 200
    desk.work()
    assert len(desk.tickets()) == 1


def test_a_whatsapp_message_through_twilio_is_answered_on_whatsapp(desk: ChatDesk) -> None:
    send(desk, fx.whatsapp("Hola, ¿podéis llamarme?"))
    desk.work()
    [ticket] = desk.tickets()
    assert ticket["messages"][0]["sender"] == {
        "type": "whatsapp",
        "value": fx.CUSTOMER,
        "name": "Lucía Fernández",
    }
    [call] = desk.api.calls_to("twilio")
    assert (call.form["To"], call.form["From"]) == (fx.CUSTOMER_WHATSAPP, fx.OUR_WHATSAPP)


def test_a_replayed_request_is_answered_200_and_filed_once(desk: ChatDesk) -> None:
    params = fx.sms("¿Dónde está mi paquete?")
    for _ in range(3):
        assert send(desk, params).status_code == 200
    desk.work()
    assert len(desk.inbound()) == 1 and len(desk.tickets()) == 1
    assert len(desk.api.calls_to("twilio")) == 1


def test_a_forged_or_unsigned_request_is_401_and_nothing_is_stored(desk: ChatDesk) -> None:
    params = fx.sms("Hola")
    forged = fx.headers(desk.web.url(PATH), params, token="0" * 32)
    assert desk.post(PATH, fx.encoded(params), forged).status_code == 401
    unsigned = {"Content-Type": "application/x-www-form-urlencoded"}
    assert desk.post(PATH, fx.encoded(params), unsigned).status_code == 401
    empty: dict[str, str] = {}
    assert desk.post(PATH, b"", fx.headers(desk.web.url(PATH), empty)).status_code == 400
    desk.work()
    assert desk.inbound() == [] and desk.tickets() == []


def test_stop_is_stored_but_never_answered(desk: ChatDesk) -> None:
    send(desk, fx.sms("STOP"))
    desk.work()
    [stored] = desk.inbound()
    assert stored.status == "ignored"
    assert desk.tickets() == [] and desk.api.calls_to("twilio") == []


def test_a_photo_alone_is_a_customer_message_with_its_media_url(desk: ChatDesk) -> None:
    url = fx.media_url()
    send(desk, fx.mms(("image/jpeg", url)))
    desk.work()
    [ticket] = desk.tickets()
    assert ticket["messages"][0]["text"] == "[photo]"
    with desk.runtime.sessions() as session:
        [attachment] = session.scalars(select(Attachment)).all()
        assert (attachment.reference, attachment.content_type) == (url, "image/jpeg")
    assert len(desk.api.calls_to("twilio")) == 1


def test_a_voice_note_on_whatsapp_is_a_customer_message(desk: ChatDesk) -> None:
    send(desk, fx.whatsapp_voice())
    desk.work()
    [ticket] = desk.tickets()
    assert ticket["messages"][0]["text"] == "[voice message]"
