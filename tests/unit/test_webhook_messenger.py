"""Messenger and Instagram: one event per messaging item under its mid, every event kind
mapped (echo, edit, unsend, reaction, receipts, postback, attachments), the channel type
matched to the object, and the Send API sender against the fake Graph API."""

from __future__ import annotations

import json

import pytest

from mailbot.channels import ChannelSpec
from mailbot.deliver import deliver_many
from mailbot.devservers.platform_api import PlatformApi
from mailbot.message import (
    EVENT_DELETE,
    EVENT_EDIT,
    EVENT_MEMBERSHIP,
    EVENT_MESSAGE,
    EVENT_REACTION,
    EVENT_STATUS,
    SenderIdentity,
)
from mailbot.runtime import Runtime
from tests.fixtures.platforms import (
    as_bytes,
    channel_config,
    outbox_entry,
    queued_reply,
    stored_channel,
    webhook_request,
)
from tests.fixtures.platforms import meta as fx
from webhooks import CHANNEL_TYPES, Rejected, UnreadableEvent, WebhookRequest, load_channel_types

MESSENGER = channel_config("messenger", secret=fx.APP_SECRET, options={"verify_token": fx.VERIFY_TOKEN})
INSTAGRAM = channel_config("instagram", secret=fx.APP_SECRET, options={"verify_token": fx.VERIFY_TOKEN})


def kind(channel_type: str):
    load_channel_types()
    return CHANNEL_TYPES[channel_type]


def signed(payload: dict) -> WebhookRequest:
    body = as_bytes(payload)
    return webhook_request(body, fx.headers(body))


def page(*items: dict) -> WebhookRequest:
    return signed(fx.messaging_body(*items))


def instagram(*items: dict) -> WebhookRequest:
    return signed(fx.messaging_body(*items, obj="instagram", account=fx.IG_ACCOUNT_ID))


def mapped(item: dict, channel=MESSENGER):
    request = page(item) if channel.type == "messenger" else instagram(item)
    [event] = kind(channel.type).events(request, channel)
    return kind(channel.type).normalize(event.payload, channel)


# -- registration, verify, events ------------------------------------------------------


def test_both_types_verify_with_metas_signature_and_answer_its_handshake() -> None:
    request = page(fx.ms_text("Hola"))
    for channel in (MESSENGER, INSTAGRAM):
        kind(channel.type).verify(request, channel)
        query = {"hub.mode": "subscribe", "hub.verify_token": fx.VERIFY_TOKEN, "hub.challenge": "77"}
        get = WebhookRequest("GET", "https://support.example.test/", {}, query, b"", {}, 0.0)
        handshake = kind(channel.type).handshake
        assert handshake is not None and handshake(get, channel).body == b"77"
    forged = webhook_request(request.body, fx.headers(request.body, secret="not-the-app-secret"))
    with pytest.raises(Rejected) as refused:
        kind("messenger").verify(forged, MESSENGER)
    assert refused.value.status == 401


def test_each_messaging_item_is_one_event_under_its_mid() -> None:
    first, second = fx.ms_text("Hola"), fx.ms_text("¿Seguís ahí?")
    found = kind("messenger").events(page(first, second), MESSENGER)
    assert [e.event_id for e in found] == [first["message"]["mid"], second["message"]["mid"]]
    stored = json.loads(found[0].payload)
    assert (stored["object"], stored["entry_id"]) == ("page", fx.PAGE_ID)


def test_events_without_a_mid_get_ids_that_a_redelivery_repeats() -> None:
    items = [fx.ms_delivery("m_1"), fx.ms_read(), fx.ms_reaction("m_1"), fx.ms_edit("m_1", "Otra cosa")]
    first = [e.event_id for e in kind("messenger").events(page(*items), MESSENGER)]
    again = [e.event_id for e in kind("messenger").events(page(*items), MESSENGER)]
    assert first == again and len(set(first)) == 4
    assert first[3] == "edit:m_1:1"


def test_an_unsend_is_its_own_event_not_a_repeat_of_the_message() -> None:
    original = fx.ms_text("Hola", person=fx.IGSID, account=fx.IG_ACCOUNT_ID)
    mid = original["message"]["mid"]
    found = kind("instagram").events(instagram(original, fx.ig_unsend(mid)), INSTAGRAM)
    assert [e.event_id for e in found] == [mid, f"delete:{mid}"]


@pytest.mark.parametrize(
    ("channel", "payload"),
    [
        pytest.param(
            MESSENGER, fx.messaging_body(fx.ms_text("x"), obj="instagram"), id="instagram-to-messenger"
        ),
        pytest.param(INSTAGRAM, fx.messaging_body(fx.ms_text("x")), id="page-to-instagram"),
        pytest.param(
            MESSENGER, {"object": "page", "entry": [{"id": "1", "messaging": {"a": 1}}]}, id="not-a-list"
        ),
        pytest.param(
            MESSENGER,
            {"object": "page", "entry": [{"id": "1", "messaging": [{"message": {"text": "no mid"}}]}]},
            id="message-without-mid",
        ),
    ],
)
def test_a_body_for_another_product_or_malformed_is_refused_with_400(channel, payload: dict) -> None:
    with pytest.raises(Rejected) as refused:
        kind(channel.type).events(signed(payload), channel)
    assert refused.value.status == 400


# -- normalize ---------------------------------------------------------------------------


def test_a_text_is_the_persons_message_answered_to_their_psid() -> None:
    message = mapped(fx.ms_text("Mi pedido no llega", reply_to={"mid": "m_EARLIER"}))
    assert message.event == EVENT_MESSAGE and not message.from_us
    assert message.sender == SenderIdentity("messenger", fx.PSID, "")
    assert message.conversation_key == f"messenger:{fx.PAGE_ID}:{fx.PSID}"
    assert message.reply_fields == {"recipient_id": fx.PSID}
    assert message.in_reply_to == ["m_EARLIER"]
    assert message.date is not None and message.date.year == 2026


def test_on_instagram_the_sender_is_an_instagram_identity() -> None:
    message = mapped(fx.ms_text("Hola", person=fx.IGSID, account=fx.IG_ACCOUNT_ID), INSTAGRAM)
    assert message.sender == SenderIdentity("instagram", fx.IGSID, "")
    assert message.channel == "instagram"
    assert message.conversation_key == f"instagram:{fx.IG_ACCOUNT_ID}:{fx.IGSID}"


@pytest.mark.parametrize(
    ("item", "text"),
    [
        (fx.ms_attachment("image", "https://scontent.xx.fbcdn.net/v/t1.15752-9/foto.jpg"), "[photo]"),
        (
            fx.ms_attachment("audio", "https://cdn.fbsbx.com/v/t59.3654-21/audioclip.mp4"),
            "[voice message]",
        ),
        (fx.ms_attachment("video", "https://video.xx.fbcdn.net/v/t42.3356-2/clip.mp4"), "[video]"),
        (
            fx.ms_attachment("file", "https://cdn.fbsbx.com/v/t59.2708-21/12345_factura-118.pdf?_nc_cat=1"),
            "[document: 12345_factura-118.pdf]",
        ),
        (
            fx.ms_attachment(
                "image", "https://scontent.xx.fbcdn.net/t39.1997-6/851557.png", sticker_id=369239263222822
            ),
            "[sticker]",
        ),
    ],
)
def test_media_only_messages_keep_the_media_url_and_read_as_what_they_are(item: dict, text: str) -> None:
    message = mapped(item)
    assert (message.event, message.text) == (EVENT_MESSAGE, text)
    [attachment] = message.attachments
    assert attachment.reference == item["message"]["attachments"][0]["payload"]["url"]


def test_an_instagram_story_mention_is_a_message_with_a_placeholder() -> None:
    message = mapped(fx.ig_story_mention(), INSTAGRAM)
    assert (message.event, message.text) == (EVENT_MESSAGE, "[story mention]")


def test_an_echo_of_what_the_page_sent_is_ours_in_the_persons_conversation() -> None:
    echo = mapped(fx.ms_echo("Te respondemos enseguida"))
    assert echo.from_us and echo.event == EVENT_MESSAGE
    assert echo.conversation_key == f"messenger:{fx.PAGE_ID}:{fx.PSID}"
    assert echo.sender_address == fx.PAGE_ID


def test_an_edit_points_at_the_message_with_its_new_text() -> None:
    edit = mapped(fx.ms_edit("m_ORIGINAL", "Pedido 4412"))
    assert (edit.event, edit.target_message_id, edit.text) == (EVENT_EDIT, "m_ORIGINAL", "Pedido 4412")


def test_an_instagram_unsend_is_a_deletion_of_the_message() -> None:
    gone = mapped(fx.ig_unsend("m_UNSENT"), INSTAGRAM)
    assert (gone.event, gone.target_message_id) == (EVENT_DELETE, "m_UNSENT")
    assert gone.message_id == "delete:m_UNSENT"


def test_a_reaction_and_its_withdrawal_point_at_the_message() -> None:
    react = mapped(fx.ms_reaction("m_LIKED"))
    assert (react.event, react.target_message_id, react.text) == (EVENT_REACTION, "m_LIKED", "\u2764\ufe0f")
    unreact = mapped(fx.ms_reaction("m_LIKED", "unreact"))
    assert (unreact.event, unreact.text) == (EVENT_REACTION, "")


def test_delivery_and_read_receipts_are_statuses() -> None:
    delivered = mapped(fx.ms_delivery("m_OURS"))
    assert (delivered.event, delivered.target_message_id) == (EVENT_STATUS, "m_OURS")
    assert mapped(fx.ms_read()).event == EVENT_STATUS


def test_a_postback_is_a_message_saying_what_was_tapped() -> None:
    tapped = mapped(fx.ms_postback("Hablar con soporte"))
    assert (tapped.event, tapped.text) == (EVENT_MESSAGE, "Hablar con soporte")


def test_an_ad_referral_is_a_membership_event() -> None:
    assert mapped(fx.ms_referral()).event == EVENT_MEMBERSHIP


def test_an_event_for_another_page_is_recorded_never_answered() -> None:
    channel = channel_config("messenger", secret=fx.APP_SECRET, options={"page_id": "999000999"})
    other = mapped(fx.ms_text("Hola"), channel)
    assert other.event == EVENT_STATUS and fx.PAGE_ID in other.parse_warnings[0]
    assert (
        mapped(fx.ms_text("Hola"), channel_config("messenger", options={"page_id": fx.PAGE_ID})).event
        == EVENT_MESSAGE
    )


def test_standby_and_changes_are_notices() -> None:
    body = {"object": "page", "entry": [{"id": fx.PAGE_ID, "time": 1, "standby": [fx.ms_text("Hola")]}]}
    [event] = kind("messenger").events(signed(body), MESSENGER)
    notice = kind("messenger").normalize(event.payload, MESSENGER)
    assert event.event_id.startswith("notice:standby:") and notice.event == EVENT_STATUS


@pytest.mark.parametrize(
    "payload",
    [b"{", as_bytes({"kind": "messaging", "entry_id": fx.PAGE_ID, "item": {"message": {"mid": "m_1"}}})],
)
def test_a_stored_event_without_its_people_is_unreadable(payload: bytes) -> None:
    with pytest.raises(UnreadableEvent):
        kind("messenger").normalize(payload, MESSENGER)


# -- sender ---------------------------------------------------------------------------------

ACK = "Hola, hemos recibido tu mensaje. Tu referencia: MB-7K3Q9P."


@pytest.fixture(params=["messenger", "instagram"])
def page_channel(request, runtime: Runtime, platform_api: PlatformApi):
    platform_api.credentials["meta"] = fx.ACCESS_TOKEN
    spec = ChannelSpec(
        request.param, "acme", secret=fx.APP_SECRET, token=fx.ACCESS_TOKEN, api_base=platform_api.base("meta")
    )
    return stored_channel(runtime, spec)


def test_an_acknowledgement_is_a_response_to_the_person_and_its_mid_recorded(
    runtime: Runtime, platform_api: PlatformApi, page_channel
) -> None:
    outbox_id = queued_reply(runtime, page_channel, {"recipient_id": fx.PSID, "ticket_ref": "MB-7K3Q9P"}, ACK)
    assert deliver_many(runtime, [outbox_id])[0].status == "sent"
    [call] = platform_api.calls_to("meta")
    assert (call.path, call.headers["authorization"]) == ("/me/messages", f"Bearer {fx.ACCESS_TOKEN}")
    assert call.json == {"recipient": {"id": fx.PSID}, "messaging_type": "RESPONSE", "message": {"text": ACK}}
    assert (outbox_entry(runtime, outbox_id).external_id or "").startswith("m_")


def test_a_person_outside_the_messaging_window_fails_that_entry_alone(
    runtime: Runtime, platform_api: PlatformApi, page_channel
) -> None:
    late = queued_reply(runtime, page_channel, {"recipient_id": fx.PSID, "ticket_ref": "MB-1"}, ACK)
    fine = queued_reply(runtime, page_channel, {"recipient_id": fx.IGSID, "ticket_ref": "MB-2"}, ACK)
    window = {
        "error": {
            "message": "(#10) This message is sent outside of allowed window.",
            "type": "OAuthException",
            "code": 10,
            "error_subcode": 2018278,
        }
    }
    platform_api.fail("meta", 400, body=window)
    assert [d.status for d in deliver_many(runtime, [late, fine])] == ["failed", "sent"]
    assert "outside of allowed window" in (outbox_entry(runtime, late).last_error or "")


def test_page_rate_limiting_is_retried(runtime: Runtime, platform_api: PlatformApi, page_channel) -> None:
    outbox_id = queued_reply(runtime, page_channel, {"recipient_id": fx.PSID, "ticket_ref": "MB-1"}, ACK)
    platform_api.fail(
        "meta", 400, body={"error": {"message": "(#32) Page request limit reached", "code": 32}}
    )
    assert deliver_many(runtime, [outbox_id])[0].status == "retry"


def test_a_row_without_a_recipient_fails_without_a_call(
    runtime: Runtime, platform_api: PlatformApi, page_channel
) -> None:
    outbox_id = queued_reply(runtime, page_channel, {"ticket_ref": "MB-1"}, ACK)
    assert deliver_many(runtime, [outbox_id])[0].status == "failed"
    assert platform_api.calls_to("meta") == []
