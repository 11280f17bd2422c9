"""WhatsApp Cloud API: Meta's signature and handshake, one event per message, status and
echo, every message type mapped, another number's traffic recognised, and the sender
against the fake Graph API (24-hour window, throttling, refusals)."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from mailbot.channels import ChannelSpec
from mailbot.deliver import deliver_many
from mailbot.devservers.platform_api import PlatformApi
from mailbot.message import (
    EVENT_DELETE,
    EVENT_EDIT,
    EVENT_MESSAGE,
    EVENT_REACTION,
    EVENT_STATUS,
    SenderIdentity,
)
from mailbot.runtime import Runtime
from mailbot.timeutil import as_utc, utcnow
from tests.fixtures.platforms import (
    as_bytes,
    channel_config,
    outbox_entry,
    queued_reply,
    stored_channel,
    webhook_request,
)
from tests.fixtures.platforms import meta as fx
from webhooks import Rejected, UnreadableEvent, WebhookRequest
from webhooks.meta import handshake, verify
from webhooks.whatsapp import events, normalize

CHANNEL = channel_config(
    "whatsapp",
    secret=fx.APP_SECRET,
    token=fx.ACCESS_TOKEN,
    options={"phone_number_id": fx.PHONE_NUMBER_ID, "verify_token": fx.VERIFY_TOKEN},
)


def signed(payload: dict) -> WebhookRequest:
    body = as_bytes(payload)
    return webhook_request(body, fx.headers(body), path="/webhooks/whatsapp/main")


def mapped(*messages: dict, **change: str):
    [event] = events(signed(fx.whatsapp_body(fx.messages_change(*messages, **change))), CHANNEL)
    return normalize(event.payload, CHANNEL)


def get(query: dict[str, str]) -> WebhookRequest:
    return WebhookRequest(
        "GET", "https://support.example.test/webhooks/whatsapp/main", {}, query, b"", {}, 0.0
    )


# -- verify and handshake -----------------------------------------------------------


def test_a_body_signed_with_the_app_secret_is_accepted() -> None:
    verify(signed(fx.whatsapp_body(fx.messages_change(fx.wa_text("Hola")))), CHANNEL)


def test_the_signature_is_compared_whatever_the_case_of_its_hex() -> None:
    body = as_bytes(fx.whatsapp_body(fx.messages_change(fx.wa_text("Hola"))))
    upper = "sha256=" + fx.signature(body).removeprefix("sha256=").upper()
    verify(webhook_request(body, {"X-Hub-Signature-256": upper}), CHANNEL)


@pytest.mark.parametrize(
    "make_headers",
    [
        pytest.param(lambda body: fx.headers(body, secret="another-apps-secret"), id="other-secret"),
        pytest.param(lambda body: fx.headers(body + b" "), id="body-changed-after-signing"),
        pytest.param(
            lambda body: {"X-Hub-Signature": fx.signature(body).replace("sha256", "sha1")}, id="sha1-only"
        ),
        pytest.param(
            lambda body: {"X-Hub-Signature-256": fx.signature(body).removeprefix("sha256=")}, id="no-prefix"
        ),
        pytest.param(lambda body: {"Content-Type": "application/json"}, id="missing"),
    ],
)
def test_a_bad_or_missing_signature_is_refused_with_401(make_headers) -> None:
    body = as_bytes(fx.whatsapp_body(fx.messages_change(fx.wa_text("Hola"))))
    with pytest.raises(Rejected) as refused:
        verify(webhook_request(body, make_headers(body)), CHANNEL)
    assert refused.value.status == 401


def test_a_replayed_delivery_verifies_but_carries_the_same_event_ids() -> None:
    # Meta signs no timestamp: a replay is made harmless by the ids the store keeps unique.
    request = signed(fx.whatsapp_body(fx.messages_change(fx.wa_text("Hola"), fx.wa_voice())))
    verify(request, CHANNEL)
    verify(request, CHANNEL)
    assert [e.event_id for e in events(request, CHANNEL)] == [e.event_id for e in events(request, CHANNEL)]


def test_the_subscription_handshake_answers_the_challenge_as_plain_text() -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": fx.VERIFY_TOKEN, "hub.challenge": "1158201444"}
    reply = handshake(get(query), CHANNEL)
    assert (reply.status, reply.body, reply.content_type.split(";")[0]) == (200, b"1158201444", "text/plain")


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "guessed", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": fx.VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": fx.VERIFY_TOKEN},
        {},
    ],
)
def test_a_handshake_without_the_verify_token_is_refused_with_403(query: dict[str, str]) -> None:
    with pytest.raises(Rejected) as refused:
        handshake(get(query), CHANNEL)
    assert refused.value.status == 403


def test_a_channel_without_a_verify_token_answers_no_handshake() -> None:
    channel = channel_config(
        "whatsapp", secret=fx.APP_SECRET, options={"phone_number_id": fx.PHONE_NUMBER_ID}
    )
    with pytest.raises(Rejected) as refused:
        handshake(get({"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}), channel)
    assert refused.value.status == 403


# -- events -----------------------------------------------------------------------------


def test_each_message_and_status_is_one_event_under_the_platforms_id() -> None:
    text, voice = fx.wa_text("Hola"), fx.wa_voice()
    payload = fx.whatsapp_body(
        fx.messages_change(text, voice),
        fx.statuses_change(fx.wa_status("wamid.OURS1", "sent"), fx.wa_status("wamid.OURS1", "delivered")),
    )
    found = events(signed(payload), CHANNEL)
    assert [e.event_id for e in found] == [
        text["id"],
        voice["id"],
        "status:wamid.OURS1:sent",
        "status:wamid.OURS1:delivered",
    ]
    stored = json.loads(found[0].payload)
    # What normalize needs besides the message: the number it came to and the name.
    assert stored["metadata"]["phone_number_id"] == fx.PHONE_NUMBER_ID
    assert stored["contacts"][0]["profile"]["name"] == fx.CUSTOMER_NAME


def test_an_echo_and_an_account_notice_are_events_too() -> None:
    echo = fx.wa_echo("Le llamamos en 5 minutos")
    found = events(signed(fx.whatsapp_body(fx.echoes_change(echo), fx.template_status_change())), CHANNEL)
    assert found[0].event_id == echo["id"]
    assert found[1].event_id.startswith("notice:message_template_status_update:")
    again = events(signed(fx.whatsapp_body(fx.template_status_change())), CHANNEL)
    assert again[0].event_id == found[1].event_id  # a redelivery is recognised


def test_an_empty_entry_list_is_no_event() -> None:
    assert events(signed({"object": "whatsapp_business_account", "entry": []}), CHANNEL) == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b"[1, 2]", id="not-an-object"),
        pytest.param(as_bytes({"object": "page", "entry": []}), id="messenger-object"),
        pytest.param(as_bytes({"object": "whatsapp_business_account", "entry": {}}), id="entry-not-list"),
        pytest.param(
            as_bytes(
                {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages"}]}]}
            ),
            id="change-without-value",
        ),
        pytest.param(
            as_bytes(fx.whatsapp_body(fx.messages_change({"from": fx.CUSTOMER_WA_ID, "type": "text"}))),
            id="message-without-id",
        ),
        pytest.param(
            as_bytes(fx.whatsapp_body({"field": "messages", "value": {"messages": "hola"}})),
            id="messages-not-list",
        ),
    ],
)
def test_a_malformed_body_is_refused_with_400(body: bytes) -> None:
    with pytest.raises(Rejected) as refused:
        events(webhook_request(body, fx.headers(body)), CHANNEL)
    assert refused.value.status == 400


# -- normalize: messages ---------------------------------------------------------------


def test_a_text_message_is_the_customers_in_their_conversation() -> None:
    message = mapped(fx.wa_text("¿Dónde está mi pedido 4411?"))
    assert message.event == EVENT_MESSAGE and not message.from_us
    assert message.sender == SenderIdentity("whatsapp", "+34612345678", fx.CUSTOMER_NAME)
    assert message.text == "¿Dónde está mi pedido 4411?"
    assert message.conversation_key == f"whatsapp:{fx.PHONE_NUMBER_ID}:{fx.CUSTOMER_WA_ID}"
    assert message.reply_fields == {"to": fx.CUSTOMER_WA_ID}
    assert message.message_id and message.message_id.startswith("wamid.")
    assert message.date == dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
    assert message.subject == "" and message.headers == {}


def test_a_reply_names_the_message_it_quotes() -> None:
    message = mapped(fx.wa_text("Este", context={"from": fx.DISPLAY_NUMBER, "id": "wamid.QUOTED"}))
    assert message.in_reply_to == ["wamid.QUOTED"]


def test_a_photo_without_caption_keeps_its_media_id_and_reads_as_photo() -> None:
    message = mapped(fx.wa_image())
    assert message.event == EVENT_MESSAGE and message.text == "[photo]"
    [attachment] = message.attachments
    assert (attachment.reference, attachment.content_type, attachment.data) == (
        "1479537139650973",
        "image/jpeg",
        None,
    )


def test_a_photo_caption_is_the_text() -> None:
    assert mapped(fx.wa_image(caption="Llegó roto")).text == "Llegó roto"


def test_a_voice_note_reads_as_voice_message() -> None:
    message = mapped(fx.wa_voice())
    assert message.text == "[voice message]"
    assert message.attachments[0].content_type == "audio/ogg; codecs=opus"


def test_a_document_reads_with_its_file_name() -> None:
    message = mapped(fx.wa_document("factura-2026-118.pdf"))
    assert message.text == "[document: factura-2026-118.pdf]"
    assert message.attachments[0].filename == "factura-2026-118.pdf"


def test_a_sticker_and_a_location_read_as_what_they_are() -> None:
    assert mapped(fx.wa_sticker()).text == "[sticker]"
    assert mapped(fx.wa_location()).text == "[location: Tienda Sol, Puerta del Sol 1, Madrid]"


@pytest.mark.parametrize(
    ("message", "text"),
    [
        (fx.wa_button_reply("Hablar con alguien"), "Hablar con alguien"),
        (fx.wa_list_reply("Devoluciones"), "Devoluciones"),
        (fx.wa_template_button("Sí, llamadme"), "Sí, llamadme"),
    ],
)
def test_a_tap_on_a_button_or_list_row_is_a_message_with_its_title(message: dict, text: str) -> None:
    mapped_message = mapped(message)
    assert (mapped_message.event, mapped_message.text) == (EVENT_MESSAGE, text)


def test_an_unsupported_message_is_still_the_customers_with_a_warning() -> None:
    message = mapped(fx.wa_unsupported())
    assert (message.event, message.text) == (EVENT_MESSAGE, "[unsupported message]")
    assert "131051" in message.parse_warnings[0]


def test_a_reaction_points_at_the_message() -> None:
    message = mapped(fx.wa_reaction("wamid.REACTED"))
    assert (message.event, message.target_message_id, message.text) == (
        EVENT_REACTION,
        "wamid.REACTED",
        "\U0001f44d",
    )


def test_an_edit_and_a_revoke_point_at_the_original() -> None:
    edit = mapped(fx.wa_edit("wamid.ORIGINAL", "Pedido 4412, perdón"))
    assert (edit.event, edit.target_message_id, edit.text) == (
        EVENT_EDIT,
        "wamid.ORIGINAL",
        "Pedido 4412, perdón",
    )
    revoke = mapped(fx.wa_revoke("wamid.ORIGINAL"))
    assert (revoke.event, revoke.target_message_id) == (EVENT_DELETE, "wamid.ORIGINAL")


# -- normalize: what is not a customer's message ------------------------------------


def test_a_status_is_about_our_message() -> None:
    [event] = events(
        signed(fx.whatsapp_body(fx.statuses_change(fx.wa_status("wamid.OURS", "read")))), CHANNEL
    )
    status = normalize(event.payload, CHANNEL)
    assert (status.event, status.target_message_id, status.text) == (EVENT_STATUS, "wamid.OURS", "read")
    assert status.conversation_key == f"whatsapp:{fx.PHONE_NUMBER_ID}:{fx.CUSTOMER_WA_ID}"


def test_a_failed_status_says_why() -> None:
    [event] = events(
        signed(fx.whatsapp_body(fx.statuses_change(fx.wa_status("wamid.OURS", "failed")))), CHANNEL
    )
    status = normalize(event.payload, CHANNEL)
    assert status.event == EVENT_STATUS and "131047" in status.text and status.text.startswith("failed")


def test_a_message_sent_from_the_business_app_is_ours() -> None:
    [event] = events(signed(fx.whatsapp_body(fx.echoes_change(fx.wa_echo("Le llamamos")))), CHANNEL)
    echo = normalize(event.payload, CHANNEL)
    assert echo.from_us and echo.event == EVENT_MESSAGE
    assert echo.conversation_key == f"whatsapp:{fx.PHONE_NUMBER_ID}:{fx.CUSTOMER_WA_ID}"


def test_a_message_to_another_number_of_the_business_is_recorded_never_answered() -> None:
    other = mapped(fx.wa_text("Hola"), phone_number_id=fx.OTHER_PHONE_NUMBER_ID)
    assert other.event == EVENT_STATUS
    assert fx.OTHER_PHONE_NUMBER_ID in other.parse_warnings[0]
    # Its id cannot clash with the same message recorded by the channel of that number.
    assert other.message_id and other.message_id.startswith("notice:wamid.")
    assert normalize_as_owner(fx.wa_text("Hola")).event == EVENT_MESSAGE


def normalize_as_owner(message: dict):
    owner = channel_config(
        "whatsapp", secret=fx.APP_SECRET, options={"phone_number_id": fx.OTHER_PHONE_NUMBER_ID}
    )
    payload = fx.whatsapp_body(fx.messages_change(message, phone_number_id=fx.OTHER_PHONE_NUMBER_ID))
    [event] = events(signed(payload), owner)
    return normalize(event.payload, owner)


def test_an_account_notice_is_a_status_with_a_warning() -> None:
    [event] = events(signed(fx.whatsapp_body(fx.template_status_change())), CHANNEL)
    notice = normalize(event.payload, CHANNEL)
    assert notice.event == EVENT_STATUS and "message_template_status_update" in notice.parse_warnings[0]


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        as_bytes({"kind": "message", "item": {"id": "wamid.X", "from": "34612345678", "type": "text"}}),
        as_bytes({"kind": "telepathy", "metadata": {"phone_number_id": fx.PHONE_NUMBER_ID}, "item": {}}),
        as_bytes(
            {"kind": "message", "metadata": {"phone_number_id": fx.PHONE_NUMBER_ID}, "item": {"type": "text"}}
        ),
    ],
)
def test_a_stored_event_that_cannot_be_mapped_is_unreadable(payload: bytes) -> None:
    with pytest.raises(UnreadableEvent):
        normalize(payload, CHANNEL)


# -- sender -------------------------------------------------------------------------------

ACK = "Hola Lucía, hemos recibido tu mensaje. Tu referencia: MB-7K3Q9P."


@pytest.fixture
def whatsapp_channel(runtime: Runtime, platform_api: PlatformApi):
    return _channel(runtime, platform_api)


def _channel(runtime: Runtime, platform_api: PlatformApi, **options: str):
    platform_api.credentials["meta"] = fx.ACCESS_TOKEN
    spec = ChannelSpec(
        "whatsapp",
        "acme" if not options else "acme-template",
        secret=fx.APP_SECRET,
        token=fx.ACCESS_TOKEN,
        api_base=platform_api.base("meta"),
        options={"phone_number_id": fx.PHONE_NUMBER_ID, **options},
    )
    return stored_channel(runtime, spec)


def _reply(runtime: Runtime, channel, to: str = fx.CUSTOMER_WA_ID) -> int:
    return queued_reply(runtime, channel, {"to": to, "ticket_ref": "MB-7K3Q9P"}, ACK)


def test_an_acknowledgement_is_a_text_message_and_its_wamid_is_recorded(
    runtime: Runtime, platform_api: PlatformApi, whatsapp_channel
) -> None:
    outbox_id = _reply(runtime, whatsapp_channel)
    assert deliver_many(runtime, [outbox_id])[0].status == "sent"
    [call] = platform_api.calls_to("meta")
    assert (call.path, call.status, call.headers["authorization"]) == (
        f"/{fx.PHONE_NUMBER_ID}/messages",
        200,
        f"Bearer {fx.ACCESS_TOKEN}",
    )
    assert call.json["messaging_product"] == "whatsapp"
    assert (call.json["to"], call.json["type"], call.json["text"]["body"]) == (fx.CUSTOMER_WA_ID, "text", ACK)
    entry = outbox_entry(runtime, outbox_id)
    assert entry.status == "sent" and (entry.external_id or "").startswith("wamid.")


def _outside_window() -> dict:
    return {
        "error": {
            "message": "(#131047) Re-engagement message",
            "type": "OAuthException",
            "code": 131047,
            "error_data": {"messaging_product": "whatsapp", "details": "More than 24 hours have passed"},
            "fbtrace_id": "AbCdEf",
        }
    }


def test_outside_the_24_hour_window_the_approved_template_is_sent_instead(
    runtime: Runtime, platform_api: PlatformApi
) -> None:
    channel = _channel(runtime, platform_api, template="ticket_received", template_language="es")
    outbox_id = _reply(runtime, channel)
    platform_api.fail("meta", 400, body=_outside_window())
    assert deliver_many(runtime, [outbox_id])[0].status == "sent"
    refused, template = platform_api.calls_to("meta")
    assert (refused.status, template.status) == (400, 200)
    assert template.json["type"] == "template"
    assert template.json["template"] == {
        "name": "ticket_received",
        "language": {"code": "es"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "MB-7K3Q9P"}]}],
    }
    assert (outbox_entry(runtime, outbox_id).external_id or "").startswith("wamid.")


def test_outside_the_window_without_a_template_the_entry_fails_saying_so(
    runtime: Runtime, platform_api: PlatformApi, whatsapp_channel
) -> None:
    outbox_id = _reply(runtime, whatsapp_channel)
    platform_api.fail("meta", 400, body=_outside_window())
    assert deliver_many(runtime, [outbox_id])[0].status == "failed"
    error = outbox_entry(runtime, outbox_id).last_error or ""
    assert "131047" in error and "24-hour" in error and "template" in error
    assert len(platform_api.calls_to("meta")) == 1


def test_graph_throttling_is_a_400_that_is_retried(
    runtime: Runtime, platform_api: PlatformApi, whatsapp_channel
) -> None:
    outbox_id = _reply(runtime, whatsapp_channel)
    throttled = {"error": {"message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429}}
    platform_api.fail("meta", 400, body=throttled)
    assert deliver_many(runtime, [outbox_id])[0].status == "retry"
    assert outbox_entry(runtime, outbox_id).status == "pending"


def test_a_429_waits_its_retry_after_and_holds_the_rest_of_the_batch(
    runtime: Runtime, platform_api: PlatformApi, whatsapp_channel
) -> None:
    ids = [_reply(runtime, whatsapp_channel) for _ in range(2)]
    platform_api.fail("meta", 429, retry_after=600)
    before = utcnow()
    assert [d.status for d in deliver_many(runtime, ids)] == ["retry", "retry"]
    assert len(platform_api.calls_to("meta")) == 1
    for outbox_id in ids:
        assert as_utc(outbox_entry(runtime, outbox_id).next_attempt_at) >= before + dt.timedelta(seconds=595)


def test_a_refused_recipient_fails_that_entry_alone(
    runtime: Runtime, platform_api: PlatformApi, whatsapp_channel
) -> None:
    bad = _reply(runtime, whatsapp_channel, to="12")  # not a phone number: the fake refuses it
    fine = _reply(runtime, whatsapp_channel)
    assert [d.status for d in deliver_many(runtime, [bad, fine])] == ["failed", "sent"]
    assert "(#100)" in (outbox_entry(runtime, bad).last_error or "")


def test_an_expired_token_is_refused_for_good(
    runtime: Runtime, platform_api: PlatformApi, whatsapp_channel
) -> None:
    platform_api.credentials["meta"] = "EAAnother"
    outbox_id = _reply(runtime, whatsapp_channel)
    assert deliver_many(runtime, [outbox_id])[0].status == "failed"
    assert "190" in (outbox_entry(runtime, outbox_id).last_error or "")


def test_graph_down_is_retried(runtime: Runtime, platform_api: PlatformApi, whatsapp_channel) -> None:
    platform_api.down("meta")
    outbox_id = _reply(runtime, whatsapp_channel)
    assert deliver_many(runtime, [outbox_id])[0].status == "retry"


def test_graph_unreachable_is_retried(runtime: Runtime, platform_api: PlatformApi) -> None:
    channel = _channel(runtime, platform_api)
    outbox_id = _reply(runtime, channel)
    platform_api.stop()  # nothing listens on the port any more
    assert deliver_many(runtime, [outbox_id])[0].status == "retry"
    assert outbox_entry(runtime, outbox_id).status == "pending"


def test_the_fake_refuses_what_the_cloud_api_refuses(platform_api: PlatformApi) -> None:
    platform_api.credentials["meta"] = fx.ACCESS_TOKEN
    url = f"{platform_api.base('meta')}/{fx.PHONE_NUMBER_ID}/messages"
    auth = {"Authorization": f"Bearer {fx.ACCESS_TOKEN}"}
    good = {"messaging_product": "whatsapp", "to": fx.CUSTOMER_WA_ID, "type": "text", "text": {"body": "x"}}
    assert httpx.post(url, json=good, headers=auth).json()["messages"][0]["id"].startswith("wamid.")
    assert httpx.post(url, json=good).json()["error"]["code"] == 190
    no_product = {k: v for k, v in good.items() if k != "messaging_product"}
    assert httpx.post(url, json=no_product, headers=auth).status_code == 400
    empty = {**good, "text": {"body": ""}}
    assert httpx.post(url, json=empty, headers=auth).json()["error"]["code"] == 100
    typo = {**good, "recipient": fx.CUSTOMER_WA_ID}
    assert httpx.post(url, json=typo, headers=auth).status_code == 400
