"""Telegram: the secret-token header, one Update per request, every update kind mapped
(group addressing included), and sendMessage against the fake Bot API."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from mailbot.channels import ChannelSpec
from mailbot.deliver import deliver_many
from mailbot.devservers.platform_api import PlatformApi
from mailbot.message import (
    EVENT_EDIT,
    EVENT_MEMBERSHIP,
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
from tests.fixtures.platforms import telegram as fx
from webhooks import Rejected, UnreadableEvent
from webhooks.telegram import events, normalize, verify

CHANNEL = channel_config(
    "telegram", secret=fx.SECRET_TOKEN, token=fx.BOT_TOKEN, options={"bot_username": fx.BOT_USERNAME}
)


def mapped(kind: str, body: dict, channel=CHANNEL):
    return normalize(as_bytes(fx.update(kind, body)), channel)


# -- verify ---------------------------------------------------------------------


def test_the_secret_token_header_set_with_setwebhook_is_accepted() -> None:
    body = as_bytes(fx.update("message", fx.message("Hallo")))
    verify(webhook_request(body, fx.headers()), CHANNEL)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"X-Telegram-Bot-Api-Secret-Token": "guessed-token"}, id="wrong"),
        pytest.param({"X-Telegram-Bot-Api-Secret-Token": fx.SECRET_TOKEN[:-1]}, id="prefix"),
        pytest.param({"X-Telegram-Bot-Api-Secret-Token": ""}, id="empty"),
        pytest.param({"Content-Type": "application/json"}, id="missing"),
    ],
)
def test_a_wrong_or_missing_secret_token_is_refused_with_401(headers: dict[str, str]) -> None:
    body = as_bytes(fx.update("message", fx.message("Hallo")))
    with pytest.raises(Rejected) as refused:
        verify(webhook_request(body, headers), CHANNEL)
    assert refused.value.status == 401


# -- events ---------------------------------------------------------------------


def test_an_update_is_one_event_keyed_by_its_update_id_with_the_update_stored() -> None:
    update = fx.update("message", fx.message("Hallo"), update_id=874512)
    body = as_bytes(update)
    [event] = events(webhook_request(body, fx.headers()), CHANNEL)
    assert event.event_id.startswith("874512:")
    assert event.payload == body


def test_a_redelivered_update_has_the_same_event_id() -> None:
    body = as_bytes(fx.update("message", fx.message("Hallo"), update_id=874513))
    first = events(webhook_request(body, fx.headers()), CHANNEL)
    again = events(webhook_request(body, fx.headers()), CHANNEL)
    assert [e.event_id for e in first] == [e.event_id for e in again]


def test_an_update_id_telegram_reuses_after_a_quiet_week_is_not_taken_for_the_old_update() -> None:
    # After a week without updates the next update_id is chosen at random (Bot API, Update).
    old = as_bytes(fx.update("message", fx.message("Erste Frage"), update_id=1000))
    new = as_bytes(fx.update("message", fx.message("Ganz neue Frage"), update_id=1000))
    [first] = events(webhook_request(old, fx.headers()), CHANNEL)
    [second] = events(webhook_request(new, fx.headers()), CHANNEL)
    assert first.event_id != second.event_id


def test_an_edit_of_a_message_is_a_different_event_from_the_message() -> None:
    original = fx.message("Bestellung 4411")
    [sent] = events(webhook_request(as_bytes(fx.update("message", original, 7)), {}), CHANNEL)
    [edit] = events(
        webhook_request(as_bytes(fx.update("edited_message", fx.edited(original, "x"), 8)), {}), CHANNEL
    )
    assert sent.event_id != edit.event_id


@pytest.mark.parametrize(
    "body",
    [
        b"update_id=5",
        b"[]",
        as_bytes({"message": {}}),
        as_bytes({"update_id": "12"}),
        as_bytes({"update_id": True}),
    ],
    ids=["not-json", "array", "no-update-id", "string-id", "bool-id"],
)
def test_a_malformed_update_is_refused_with_400(body: bytes) -> None:
    with pytest.raises(Rejected) as refused:
        events(webhook_request(body, fx.headers()), CHANNEL)
    assert refused.value.status == 400


# -- normalize ------------------------------------------------------------------------


def test_a_private_message_is_a_customer_message_answered_in_its_chat() -> None:
    body = fx.message("Hallo, meine Bestellung 4411 ist nicht angekommen.")
    message = mapped("message", body)
    assert message.channel == "telegram"
    assert message.sender == SenderIdentity("telegram", str(fx.CUSTOMER["id"]), "Lena Fischer")
    assert message.event == EVENT_MESSAGE
    assert message.text == "Hallo, meine Bestellung 4411 ist nicht angekommen."
    assert message.message_id == f"{fx.CUSTOMER['id']}:{body['message_id']}"
    assert message.conversation_key == f"telegram:{fx.CUSTOMER['id']}"
    assert message.reply_fields == {
        "chat_id": str(fx.CUSTOMER["id"]),
        "reply_to_message_id": str(body["message_id"]),
    }
    assert message.date == dt.datetime.fromtimestamp(body["date"], dt.UTC)
    assert (message.from_bot, message.from_us, message.unaddressed_group) == (False, False, False)


def test_two_messages_of_one_chat_share_the_conversation() -> None:
    first, second = mapped("message", fx.message("Hallo")), mapped("message", fx.message("Noch da?"))
    assert first.conversation_key == second.conversation_key
    assert first.message_id != second.message_id


def test_a_sender_without_a_name_is_named_by_handle() -> None:
    sender = {"id": 999, "is_bot": False, "first_name": "", "username": "anon42"}
    assert mapped("message", fx.message("hi", sender=sender)).sender_name == "@anon42"


def test_an_edited_message_points_at_the_original() -> None:
    original = fx.message("Bestellung 441")
    edit = mapped("edited_message", fx.edited(original, "Bestellung 4411"))
    assert edit.event == EVENT_EDIT
    assert edit.target_message_id == mapped("message", original).message_id
    assert edit.message_id != edit.target_message_id
    assert edit.text == "Bestellung 4411"
    assert edit.date == dt.datetime.fromtimestamp(original["date"] + 30, dt.UTC)


def test_a_message_from_a_bot_is_from_a_bot() -> None:
    message = mapped("message", fx.group_message("Wetter: 12 °C", sender=fx.OTHER_BOT))
    assert (message.from_bot, message.from_us) == (True, False)


def test_our_own_bot_is_recognised_by_the_id_in_its_token() -> None:
    message = mapped("message", fx.message("Danke!", sender=fx.BOT, chat=fx.private_chat(fx.CUSTOMER)))
    without_username = channel_config("telegram", secret="s", token=fx.BOT_TOKEN)
    assert message.from_us is True
    assert mapped("message", fx.message("Danke!", sender=fx.BOT), without_username).from_us is True


def test_a_blocked_or_restarted_bot_is_a_membership_event() -> None:
    blocked = mapped("my_chat_member", fx.my_chat_member("kicked"))
    assert blocked.event == EVENT_MEMBERSHIP
    assert blocked.sender_address == str(fx.CUSTOMER["id"])
    assert mapped("my_chat_member", fx.my_chat_member("member")).event == EVENT_MEMBERSHIP


def test_someone_joining_a_group_is_a_membership_event() -> None:
    assert mapped("message", fx.new_chat_members()).event == EVENT_MEMBERSHIP


def test_a_pinned_message_note_is_a_status() -> None:
    note = fx.group_message_without_text(pinned_message={"message_id": 3, "chat": fx.GROUP, "date": 1})
    assert mapped("message", note).event == EVENT_STATUS


def test_a_reaction_points_at_the_message() -> None:
    message = mapped("message_reaction", fx.message_reaction(77))
    assert message.event == EVENT_REACTION
    assert message.target_message_id == f"{fx.CUSTOMER['id']}:77"


def test_an_update_kind_mailbot_does_not_map_is_a_status_with_a_warning() -> None:
    query = {"id": "4382", "from": fx.CUSTOMER, "chat_instance": "-8", "data": "btn-1"}
    message = mapped("callback_query", query)
    assert message.event == EVENT_STATUS
    assert "callback_query" in message.parse_warnings[0]


@pytest.mark.parametrize(
    "payload",
    [b"{", b"[]", as_bytes({"update_id": 1}), as_bytes({"update_id": 1, "message": {"text": "no chat"}})],
    ids=["not-json", "array", "empty-update", "no-chat"],
)
def test_a_stored_update_that_cannot_be_mapped_is_unreadable(payload: bytes) -> None:
    with pytest.raises(UnreadableEvent):
        normalize(payload, CHANNEL)


# -- media-only ------------------------------------------------------------------------


def test_a_photo_without_caption_keeps_the_largest_size_and_reads_as_photo() -> None:
    message = mapped("message", fx.photo())
    assert message.event == EVENT_MESSAGE
    assert message.text == "[photo]"
    [attachment] = message.attachments
    assert attachment.reference == "AgACAgIAAxkBAAIBbGXlarge"
    assert (attachment.content_type, attachment.size, attachment.data) == ("image/jpeg", 98213, None)


def test_a_photo_caption_is_the_text() -> None:
    assert mapped("message", fx.photo(caption="So kam das Paket an")).text == "So kam das Paket an"


def test_a_voice_note_reads_as_voice_message() -> None:
    message = mapped("message", fx.voice())
    assert message.text == "[voice message]"
    [attachment] = message.attachments
    assert (attachment.content_type, attachment.reference) == ("audio/ogg", "AwACAgIAAxkBAAIBbWvoice")


def test_a_document_reads_with_its_file_name() -> None:
    message = mapped("message", fx.document("Rechnung-2031.pdf"))
    assert message.text == "[document: Rechnung-2031.pdf]"
    [attachment] = message.attachments
    assert (attachment.filename, attachment.content_type) == ("Rechnung-2031.pdf", "application/pdf")


# -- group chats ------------------------------------------------------------------------


def test_in_a_group_a_plain_message_is_not_for_us() -> None:
    message = mapped("message", fx.group_message("Hat jemand auch Probleme mit der Lieferung?"))
    assert message.unaddressed_group is True
    assert message.conversation_key == f"telegram:{fx.GROUP['id']}"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(fx.mention_in_group(f"@{fx.BOT_USERNAME} meine Lieferung fehlt"), id="mention"),
        pytest.param(
            fx.mention_in_group(f"🙂🙂 Hallo @{fx.BOT_USERNAME}, Lieferung fehlt"), id="mention-after-emoji"
        ),
        pytest.param(fx.command_in_group("/hilfe Lieferung fehlt", "/hilfe"), id="command"),
        pytest.param(
            fx.command_in_group(f"/hilfe@{fx.BOT_USERNAME} Lieferung", f"/hilfe@{fx.BOT_USERNAME}"),
            id="command-to-us",
        ),
        pytest.param(fx.reply_in_group("Nein, immer noch nicht da"), id="reply-to-bot"),
    ],
)
def test_in_a_group_a_mention_a_command_or_a_reply_to_the_bot_is_addressed(body: dict) -> None:
    assert mapped("message", body).unaddressed_group is False


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            fx.command_in_group("/wetter@weather_bot Berlin", "/wetter@weather_bot"),
            id="command-to-other-bot",
        ),
        pytest.param(fx.reply_in_group("danke", to=fx.OTHER_BOT), id="reply-to-other-bot"),
        pytest.param(fx.reply_in_group("danke", to=fx.CUSTOMER), id="reply-to-person"),
        pytest.param(
            fx.group_message(
                "@weather_bot Berlin", entities=[fx.entity("@weather_bot Berlin", "@weather_bot", "mention")]
            ),
            id="mention-of-other",
        ),
    ],
)
def test_in_a_group_what_is_meant_for_someone_else_is_not_addressed(body: dict) -> None:
    assert mapped("message", body).unaddressed_group is True


def test_groups_all_and_ignore() -> None:
    everything = channel_config("telegram", secret="s", token=fx.BOT_TOKEN, options={"groups": "all"})
    nothing = channel_config(
        "telegram",
        secret="s",
        token=fx.BOT_TOKEN,
        options={"groups": "ignore", "bot_username": fx.BOT_USERNAME},
    )
    assert mapped("message", fx.group_message("Hallo zusammen"), everything).unaddressed_group is False
    assert mapped("message", fx.mention_in_group(f"@{fx.BOT_USERNAME} hi"), nothing).unaddressed_group is True
    assert mapped("message", fx.message("Hallo"), nothing).unaddressed_group is False  # private chat


def test_a_channel_post_is_a_group_message_the_channel_itself_sends() -> None:
    message = mapped("channel_post", fx.channel_post("Neue Öffnungszeiten ab Montag"))
    assert message.event == EVENT_MESSAGE
    assert message.sender_name == "Acme News"
    assert message.unaddressed_group is True


# -- sender ------------------------------------------------------------------------


@pytest.fixture
def telegram_channel(runtime: Runtime, platform_api: PlatformApi):
    platform_api.credentials["telegram"] = fx.BOT_TOKEN
    return stored_channel(
        runtime,
        ChannelSpec(
            "telegram",
            "acme",
            secret=fx.SECRET_TOKEN,
            token=fx.BOT_TOKEN,
            api_base=platform_api.base("telegram"),
        ),
    )


ACK = "Hallo Lena, danke für deine Nachricht. Deine Referenz: T-7K3Q9P."


def test_an_acknowledgement_is_sent_as_a_reply_and_its_message_id_recorded(
    runtime: Runtime, platform_api: PlatformApi, telegram_channel
) -> None:
    fields = {"chat_id": str(fx.CUSTOMER["id"]), "reply_to_message_id": "812", "ticket_ref": "T-7K3Q9P"}
    outbox_id = queued_reply(runtime, telegram_channel, fields, ACK)
    [delivery] = deliver_many(runtime, [outbox_id])
    assert delivery.status == "sent"
    [call] = platform_api.calls_to("telegram")
    assert (call.method, call.path, call.status) == ("POST", f"/bot{fx.BOT_TOKEN}/sendMessage", 200)
    assert call.json == {"chat_id": fx.CUSTOMER["id"], "text": ACK, "reply_to_message_id": 812}
    entry = outbox_entry(runtime, outbox_id)
    assert entry.status == "sent"
    assert entry.external_id is not None and entry.external_id.isdigit()


def test_a_group_answer_goes_to_the_group_and_topic(
    runtime: Runtime, platform_api: PlatformApi, telegram_channel
) -> None:
    fields = {
        "chat_id": str(fx.GROUP["id"]),
        "reply_to_message_id": "9",
        "message_thread_id": "4",
        "ticket_ref": "T-1",
    }
    deliver_many(runtime, [queued_reply(runtime, telegram_channel, fields, ACK)])
    [call] = platform_api.calls_to("telegram")
    assert call.json == {
        "chat_id": fx.GROUP["id"],
        "text": ACK,
        "reply_to_message_id": 9,
        "message_thread_id": 4,
    }


def test_flood_control_waits_the_retry_after_telegram_gives_in_its_answer(
    runtime: Runtime, platform_api: PlatformApi, telegram_channel
) -> None:
    fields = {"chat_id": str(fx.CUSTOMER["id"]), "ticket_ref": "T-1"}
    ids = [queued_reply(runtime, telegram_channel, fields, ACK) for _ in range(2)]
    # Telegram's 429 names the wait in parameters.retry_after, with no Retry-After header.
    flood = {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 900",
        "parameters": {"retry_after": 900},
    }
    platform_api.fail("telegram", 429, body=flood)
    before = utcnow()
    assert [d.status for d in deliver_many(runtime, ids)] == ["retry", "retry"]
    assert len(platform_api.calls_to("telegram")) == 1
    for outbox_id in ids:
        assert as_utc(outbox_entry(runtime, outbox_id).next_attempt_at) >= before + dt.timedelta(seconds=895)


def test_a_user_who_blocked_the_bot_fails_that_entry_alone(
    runtime: Runtime, platform_api: PlatformApi, telegram_channel
) -> None:
    blocked = queued_reply(runtime, telegram_channel, {"chat_id": "424242", "ticket_ref": "T-1"}, ACK)
    fine = queued_reply(
        runtime, telegram_channel, {"chat_id": str(fx.CUSTOMER["id"]), "ticket_ref": "T-2"}, ACK
    )
    platform_api.fail(
        "telegram",
        403,
        body={"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
    )
    assert [d.status for d in deliver_many(runtime, [blocked, fine])] == ["failed", "sent"]
    assert "blocked by the user" in (outbox_entry(runtime, blocked).last_error or "")


def test_a_wrong_bot_token_is_refused_for_good(
    runtime: Runtime, platform_api: PlatformApi, telegram_channel
) -> None:
    platform_api.credentials["telegram"] = "7034556121:another-token"
    outbox_id = queued_reply(runtime, telegram_channel, {"chat_id": "1", "ticket_ref": "T-1"}, ACK)
    assert deliver_many(runtime, [outbox_id])[0].status == "failed"
    assert "Unauthorized" in (outbox_entry(runtime, outbox_id).last_error or "")


def test_telegram_down_is_retried(runtime: Runtime, platform_api: PlatformApi, telegram_channel) -> None:
    platform_api.down("telegram")
    outbox_id = queued_reply(runtime, telegram_channel, {"chat_id": "1", "ticket_ref": "T-1"}, ACK)
    assert deliver_many(runtime, [outbox_id])[0].status == "retry"
    assert outbox_entry(runtime, outbox_id).status == "pending"


def test_the_fake_refuses_what_the_bot_api_refuses(platform_api: PlatformApi) -> None:
    platform_api.credentials["telegram"] = fx.BOT_TOKEN
    base = platform_api.base("telegram")
    ok = httpx.post(f"{base}/bot{fx.BOT_TOKEN}/sendMessage", json={"chat_id": 5, "text": "x"})
    assert ok.json()["ok"] is True and isinstance(ok.json()["result"]["message_id"], int)
    wrong = httpx.post(f"{base}/bot123:nope/sendMessage", json={"chat_id": 5, "text": "x"})
    assert (wrong.status_code, wrong.json()["description"]) == (401, "Unauthorized")
    empty = httpx.post(f"{base}/bot{fx.BOT_TOKEN}/sendMessage", json={"chat_id": 5, "text": ""})
    assert empty.json() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: message text is empty",
    }
    typo = httpx.post(
        f"{base}/bot{fx.BOT_TOKEN}/sendMessage", json={"chat_id": 5, "text": "x", "reply_to": 3}
    )
    assert typo.status_code == 400
