"""Twilio: the signature over the exact URL and the sorted parameters, one event per
MessageSid (and per status of ours), SMS and WhatsApp mapped with their media, opt-out
keywords recognised, and the Messages API sender against the fake Twilio."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from urllib.parse import urlencode

import pytest

from mailbot.channels import ChannelSpec
from mailbot.deliver import deliver_many
from mailbot.devservers.platform_api import PlatformApi
from mailbot.message import EVENT_MEMBERSHIP, EVENT_MESSAGE, EVENT_STATUS, SenderIdentity
from mailbot.runtime import Runtime
from mailbot.timeutil import as_utc, utcnow
from tests.fixtures.platforms import channel_config, outbox_entry, queued_reply, stored_channel
from tests.fixtures.platforms import twilio as fx
from webhooks import Rejected, UnreadableEvent, WebhookRequest
from webhooks.twilio import events, normalize, verify

URL = "https://support.example.test/webhooks/twilio/main"
CHANNEL = channel_config(
    "twilio", secret=fx.AUTH_TOKEN, token=f"{fx.ACCOUNT_SID}:{fx.AUTH_TOKEN}", options={"from": fx.OUR_NUMBER}
)


def post(
    params: dict[str, str], *, url: str = URL, signed_url: str | None = None, **header: str
) -> WebhookRequest:
    headers = {k.lower(): v for k, v in fx.headers(signed_url or url, params).items()}
    headers.update({k.lower().replace("_", "-"): v for k, v in header.items()})
    query = dict(part.split("=", 1) for part in url.partition("?")[2].split("&") if part)
    return WebhookRequest("POST", url, headers, query, fx.encoded(params), params, 0.0)


def mapped(params: dict[str, str]):
    [event] = events(post(params), CHANNEL)
    return normalize(event.payload, CHANNEL)


# -- verify ----------------------------------------------------------------------------


def test_a_request_signed_over_its_url_and_sorted_parameters_is_accepted() -> None:
    verify(post(fx.sms("Hola, mi pedido 4411 no ha llegado")), CHANNEL)


def test_a_url_with_a_query_string_is_signed_with_it() -> None:
    url = URL + "?source=sms&region=eu"
    verify(post(fx.sms("Hola"), url=url), CHANNEL)
    with pytest.raises(Rejected):
        verify(post(fx.sms("Hola"), url=url, signed_url=URL), CHANNEL)


@pytest.mark.parametrize(
    ("signed_url", "url"),
    [
        pytest.param(URL, "https://support.example.test:443/webhooks/twilio/main", id="port-added"),
        pytest.param("https://support.example.test:443/webhooks/twilio/main", URL, id="port-dropped"),
    ],
)
def test_the_default_port_written_out_or_not_is_the_same_url(signed_url: str, url: str) -> None:
    verify(post(fx.sms("Hola"), url=url, signed_url=signed_url), CHANNEL)


def _tampered(request: WebhookRequest) -> WebhookRequest:
    form = {**request.form, "Body": "Please refund 10000 EUR"}
    return WebhookRequest(request.method, request.url, request.headers, {}, fx.encoded(form), form, 0.0)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda: post(fx.sms("Hola"), signed_url="http://support.example.test/webhooks/twilio/main"),
            id="other-scheme",
        ),
        pytest.param(
            lambda: post(fx.sms("Hola"), signed_url="https://support.example.test/webhooks/twilio/other"),
            id="other-path",
        ),
        pytest.param(lambda: _tampered(post(fx.sms("Hola"))), id="parameter-changed"),
        pytest.param(lambda: post(fx.sms("Hola"), x_twilio_signature="c2lnbmF0dXJl"), id="wrong"),
        pytest.param(lambda: post(fx.sms("Hola"), x_twilio_signature=""), id="missing"),
    ],
)
def test_a_signature_for_anything_else_is_refused_with_401(make) -> None:
    with pytest.raises(Rejected) as refused:
        verify(make(), CHANNEL)
    assert refused.value.status == 401


def test_a_signature_made_with_another_auth_token_is_refused() -> None:
    params = fx.sms("Hola")
    headers = {k.lower(): v for k, v in fx.headers(URL, params, token="0" * 32).items()}
    with pytest.raises(Rejected):
        verify(WebhookRequest("POST", URL, headers, {}, fx.encoded(params), params, 0.0), CHANNEL)


def test_a_json_webhook_is_signed_over_the_url_carrying_the_body_hash() -> None:
    body = json.dumps({"MessageSid": "SM1", "Body": "Hola"}).encode()
    url = f"{URL}?{urlencode({'bodySHA256': hashlib.sha256(body).hexdigest()})}"
    headers = {"x-twilio-signature": fx.signature(url, {})}
    query = {"bodySHA256": hashlib.sha256(body).hexdigest()}
    verify(WebhookRequest("POST", url, headers, query, body, {}, 0.0), CHANNEL)
    with pytest.raises(Rejected):
        verify(WebhookRequest("POST", url, headers, query, body + b" ", {}, 0.0), CHANNEL)


def test_a_replayed_request_verifies_and_repeats_its_message_sid() -> None:
    request = post(fx.sms("Hola"))
    verify(request, CHANNEL)
    assert (
        events(request, CHANNEL)[0].event_id
        == events(request, CHANNEL)[0].event_id
        == request.form["MessageSid"]
    )


# -- events ------------------------------------------------------------------------------


def test_each_status_of_our_message_is_its_own_event() -> None:
    sid = fx.message_sid()
    ids = [events(post(fx.status_callback(sid, s)), CHANNEL)[0].event_id for s in ("sent", "delivered")]
    assert ids == [f"status:{sid}:sent", f"status:{sid}:delivered"]


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({}, id="no-form"),
        pytest.param({"From": fx.CUSTOMER, "Body": "Hola"}, id="no-message-sid"),
    ],
)
def test_a_request_without_a_message_is_refused_with_400(params: dict[str, str]) -> None:
    with pytest.raises(Rejected) as refused:
        events(WebhookRequest("POST", URL, {}, {}, fx.encoded(params), params, 0.0), CHANNEL)
    assert refused.value.status == 400


# -- normalize ---------------------------------------------------------------------------


def test_an_sms_is_the_customers_message_from_their_phone() -> None:
    params = fx.sms("Hola, mi pedido 4411 no ha llegado")
    message = mapped(params)
    assert message.event == EVENT_MESSAGE
    assert message.sender == SenderIdentity("phone", fx.CUSTOMER, "")
    assert message.text == "Hola, mi pedido 4411 no ha llegado"
    assert message.message_id == params["MessageSid"]
    assert message.conversation_key == f"twilio:sms:{fx.OUR_NUMBER}:{fx.CUSTOMER}"
    assert message.reply_fields == {"to": fx.CUSTOMER, "from": fx.OUR_NUMBER}


def test_a_whatsapp_message_through_twilio_is_a_whatsapp_identity_with_its_profile_name() -> None:
    message = mapped(fx.whatsapp("Hola"))
    assert message.sender == SenderIdentity("whatsapp", fx.CUSTOMER, "Lucía Fernández")
    assert message.conversation_key == f"twilio:whatsapp:+14155238886:{fx.CUSTOMER}"
    assert message.reply_fields == {"to": fx.CUSTOMER_WHATSAPP, "from": fx.OUR_WHATSAPP}


def test_an_mms_photo_without_text_keeps_the_media_url_and_reads_as_photo() -> None:
    url = fx.media_url()
    message = mapped(fx.mms(("image/jpeg", url)))
    assert (message.event, message.text) == (EVENT_MESSAGE, "[photo]")
    [attachment] = message.attachments
    assert (attachment.reference, attachment.content_type, attachment.data) == (url, "image/jpeg", None)


def test_media_with_text_keeps_both() -> None:
    message = mapped(
        fx.mms(("image/jpeg", fx.media_url()), ("application/pdf", fx.media_url()), body="Adjunto")
    )
    assert message.text == "Adjunto" and len(message.attachments) == 2


@pytest.mark.parametrize(
    ("params", "text"),
    [
        (fx.whatsapp_voice(), "[voice message]"),
        (fx.whatsapp_location(), "[location: Tienda Sol]"),
        (fx.whatsapp_button("Sí, llamadme"), "Sí, llamadme"),
    ],
)
def test_whatsapp_media_location_and_buttons_read_as_what_they_are(params: dict[str, str], text: str) -> None:
    message = mapped(params)
    assert (message.event, message.text) == (EVENT_MESSAGE, text)


@pytest.mark.parametrize("body", ["STOP", "stop", " Unsubscribe ", "START", "HELP"])
def test_an_opt_out_keyword_is_a_membership_event_twilio_answers_itself(body: str) -> None:
    assert mapped(fx.sms(body)).event == EVENT_MEMBERSHIP


def test_a_sentence_starting_with_stop_is_a_message() -> None:
    assert mapped(fx.sms("Stop sending me the wrong size")).event == EVENT_MESSAGE


def test_twilios_advanced_opt_out_parameter_is_a_membership_event() -> None:
    params = {**fx.sms("Basta ya"), "OptOutType": "STOP"}
    assert mapped(params).event == EVENT_MEMBERSHIP


def test_a_status_callback_is_about_our_message_to_the_customer() -> None:
    sid = fx.message_sid()
    status = mapped(fx.status_callback(sid, "delivered"))
    assert (status.event, status.target_message_id, status.text) == (EVENT_STATUS, sid, "delivered")
    assert status.sender_address == fx.CUSTOMER
    failed = mapped(fx.status_callback(sid, "undelivered"))
    assert failed.event == EVENT_STATUS and "30003" in failed.text


@pytest.mark.parametrize(
    "payload",
    [b"[]", json.dumps({"params": {"MessageSid": "SM1", "Body": "x"}}).encode()],
)
def test_a_stored_event_without_its_numbers_is_unreadable(payload: bytes) -> None:
    with pytest.raises(UnreadableEvent):
        normalize(payload, CHANNEL)


# -- sender ---------------------------------------------------------------------------------

ACK = "Hola Lucía, hemos recibido tu mensaje. Referencia: MB-7K3Q9P."


@pytest.fixture
def twilio_channel(runtime: Runtime, platform_api: PlatformApi):
    platform_api.credentials["twilio"] = f"{fx.ACCOUNT_SID}:{fx.AUTH_TOKEN}"
    spec = ChannelSpec(
        "twilio",
        "acme",
        secret=fx.AUTH_TOKEN,
        token=f"{fx.ACCOUNT_SID}:{fx.AUTH_TOKEN}",
        api_base=platform_api.base("twilio"),
        options={"from": fx.OUR_NUMBER},
    )
    return stored_channel(runtime, spec)


def test_an_sms_acknowledgement_goes_from_the_number_written_to_and_its_sid_is_recorded(
    runtime: Runtime, platform_api: PlatformApi, twilio_channel
) -> None:
    fields = {"to": fx.CUSTOMER, "from": "+14155550199", "ticket_ref": "MB-7K3Q9P"}
    outbox_id = queued_reply(runtime, twilio_channel, fields, ACK)
    assert deliver_many(runtime, [outbox_id])[0].status == "sent"
    [call] = platform_api.calls_to("twilio")
    assert (call.path, call.status) == (f"/2010-04-01/Accounts/{fx.ACCOUNT_SID}/Messages.json", 201)
    assert call.form == {"To": fx.CUSTOMER, "From": "+14155550199", "Body": ACK}
    assert call.headers["authorization"].startswith("Basic ")
    external = outbox_entry(runtime, outbox_id).external_id or ""
    assert external.startswith("SM") and len(external) == 34


def test_a_whatsapp_answer_keeps_the_whatsapp_prefix_on_both_ends(
    runtime: Runtime, platform_api: PlatformApi, twilio_channel
) -> None:
    # Without the number written to, the channel's `from` is used, on WhatsApp too.
    outbox_id = queued_reply(runtime, twilio_channel, {"to": fx.CUSTOMER_WHATSAPP, "ticket_ref": "MB-1"}, ACK)
    assert deliver_many(runtime, [outbox_id])[0].status == "sent"
    [call] = platform_api.calls_to("twilio")
    assert (call.form["To"], call.form["From"]) == (fx.CUSTOMER_WHATSAPP, f"whatsapp:{fx.OUR_NUMBER}")


def test_a_429_waits_its_retry_after(runtime: Runtime, platform_api: PlatformApi, twilio_channel) -> None:
    ids = [
        queued_reply(runtime, twilio_channel, {"to": fx.CUSTOMER, "ticket_ref": f"MB-{n}"}, ACK)
        for n in range(2)
    ]
    platform_api.fail(
        "twilio", 429, retry_after=120, body={"code": 20429, "message": "Too Many Requests", "status": 429}
    )
    before = utcnow()
    assert [d.status for d in deliver_many(runtime, ids)] == ["retry", "retry"]
    assert len(platform_api.calls_to("twilio")) == 1
    assert as_utc(outbox_entry(runtime, ids[0]).next_attempt_at) >= before + dt.timedelta(seconds=115)


def test_a_customer_who_replied_stop_fails_that_entry_alone(
    runtime: Runtime, platform_api: PlatformApi, twilio_channel
) -> None:
    stopped = queued_reply(runtime, twilio_channel, {"to": fx.CUSTOMER, "ticket_ref": "MB-1"}, ACK)
    fine = queued_reply(runtime, twilio_channel, {"to": "+34699887766", "ticket_ref": "MB-2"}, ACK)
    unsubscribed = {
        "code": 21610,
        "message": "Attempt to send to unsubscribed recipient",
        "more_info": "https://www.twilio.com/docs/errors/21610",
        "status": 400,
    }
    platform_api.fail("twilio", 400, body=unsubscribed)
    assert [d.status for d in deliver_many(runtime, [stopped, fine])] == ["failed", "sent"]
    assert "21610" in (outbox_entry(runtime, stopped).last_error or "")


def test_wrong_credentials_are_refused_for_good(
    runtime: Runtime, platform_api: PlatformApi, twilio_channel
) -> None:
    platform_api.credentials["twilio"] = f"{fx.ACCOUNT_SID}:{'f' * 32}"
    outbox_id = queued_reply(runtime, twilio_channel, {"to": fx.CUSTOMER, "ticket_ref": "MB-1"}, ACK)
    assert deliver_many(runtime, [outbox_id])[0].status == "failed"
    assert "20003" in (outbox_entry(runtime, outbox_id).last_error or "")


def test_twilio_down_is_retried(runtime: Runtime, platform_api: PlatformApi, twilio_channel) -> None:
    platform_api.down("twilio")
    outbox_id = queued_reply(runtime, twilio_channel, {"to": fx.CUSTOMER, "ticket_ref": "MB-1"}, ACK)
    assert deliver_many(runtime, [outbox_id])[0].status == "retry"


def test_the_fake_refuses_what_twilio_refuses(
    runtime: Runtime, platform_api: PlatformApi, twilio_channel
) -> None:
    cases = [
        ({"to": "34612345678"}, "21211"),  # not E.164
        ({"to": fx.CUSTOMER, "from": fx.OUR_WHATSAPP}, "21910"),  # SMS to, WhatsApp from
    ]
    for fields, code in cases:
        outbox_id = queued_reply(runtime, twilio_channel, {**fields, "ticket_ref": "MB-1"}, ACK)
        assert deliver_many(runtime, [outbox_id])[0].status == "failed"
        assert code in (outbox_entry(runtime, outbox_id).last_error or "")
