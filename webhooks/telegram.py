"""Telegram Bot API webhook: check the secret token, take the one Update, map it.

Docs: core.telegram.org/bots/api ("setWebhook" for the secret_token header, "Update",
"Message", "MessageEntity", "MessageReactionUpdated", "ChatMemberUpdated").
"""

from __future__ import annotations

from typing import Any

from mailbot.channels import DEFAULT_API_BASES
from mailbot.message import (
    EVENT_EDIT,
    EVENT_MEMBERSHIP,
    EVENT_MESSAGE,
    EVENT_REACTION,
    EVENT_STATUS,
    Attachment,
    InboundMessage,
)
from webhooks import (
    ChannelConfig,
    ChannelType,
    Rejected,
    UnreadableEvent,
    WebhookEvent,
    WebhookRequest,
    register,
)
from webhooks.checks import json_object, required_header, same_secret, stored_object
from webhooks.fields import mapping, string, unix_time
from webhooks.groups import unaddressed_group
from webhooks.media import placeholder, placeholder_text

# An Update carries exactly one of these (core.telegram.org/bots/api#update).
MESSAGE_UPDATES = {
    "message": EVENT_MESSAGE,
    "channel_post": EVENT_MESSAGE,
    "edited_message": EVENT_EDIT,
    "edited_channel_post": EVENT_EDIT,
}
MEMBERSHIP_UPDATES = ("my_chat_member", "chat_member", "chat_join_request")
REACTION_UPDATES = ("message_reaction", "message_reaction_count")
GROUP_CHAT_TYPES = frozenset({"group", "supergroup", "channel"})
# Service messages: Telegram's notes about the chat, not something a person wrote.
MEMBERSHIP_SERVICE_FIELDS = ("new_chat_members", "left_chat_member")
SERVICE_FIELDS = (
    "new_chat_title",
    "new_chat_photo",
    "delete_chat_photo",
    "group_chat_created",
    "supergroup_chat_created",
    "channel_chat_created",
    "migrate_to_chat_id",
    "migrate_from_chat_id",
    "pinned_message",
    "message_auto_delete_timer_changed",
    "forum_topic_created",
    "forum_topic_edited",
    "forum_topic_closed",
    "forum_topic_reopened",
    "video_chat_started",
    "video_chat_ended",
    "write_access_allowed",
)


# -- verify ---------------------------------------------------------------------


def verify(request: WebhookRequest, channel: ChannelConfig) -> None:
    """setWebhook's secret_token comes back verbatim in X-Telegram-Bot-Api-Secret-Token
    on every request; Telegram signs nothing else."""
    token = required_header(request, "X-Telegram-Bot-Api-Secret-Token")
    if not same_secret(channel.secret, token):
        raise Rejected(401, "X-Telegram-Bot-Api-Secret-Token does not match")


# -- events ---------------------------------------------------------------------


def events(request: WebhookRequest, channel: ChannelConfig) -> list[WebhookEvent]:
    update = json_object(request)
    update_id = update.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise Rejected(400, "Telegram update without an integer update_id")
    return [WebhookEvent(_event_id(update_id, update), request.body)]


def _event_id(update_id: int, update: dict[str, Any]) -> str:
    """update_id, qualified by what the update is about.

    Update ids are sequential, but after a week without updates the next one is chosen
    at random (core.telegram.org/bots/api#update), so it may repeat an id stored long
    ago; the chat, message and date keep a new update from being taken for an old one,
    while a redelivery of the same update keeps the same id."""
    parts = [str(update_id)]
    body = _payload(update)[1]
    chat_id = mapping(body.get("chat")).get("id")
    if chat_id is not None:
        parts.append(str(chat_id))
    if body.get("message_id") is not None:
        parts.append(str(body["message_id"]))
    date = body.get("edit_date") or body.get("date")
    if date is not None:
        parts.append(str(date))
    return ":".join(parts)


# -- normalize --------------------------------------------------------------------


def normalize(payload: bytes, channel: ChannelConfig) -> InboundMessage:
    update = stored_object(payload)
    kind, body = _payload(update)
    if not kind:
        raise UnreadableEvent("Telegram update with nothing in it")
    if kind in MESSAGE_UPDATES:
        return _message(body, MESSAGE_UPDATES[kind], channel)
    if kind in MEMBERSHIP_UPDATES:
        return _about_chat(body, EVENT_MEMBERSHIP, channel)
    if kind in REACTION_UPDATES:
        message = _about_chat(body, EVENT_REACTION, channel)
        chat_id = mapping(body.get("chat")).get("id")
        if body.get("message_id") is not None:
            message.target_message_id = f"{chat_id}:{body['message_id']}"
        return message
    message = _about_chat(body, EVENT_STATUS, channel)
    message.parse_warnings.append(f"Telegram update {kind!r} is not one mailbot maps")
    return message


def _message(msg: dict[str, Any], kind: str, channel: ChannelConfig) -> InboundMessage:
    chat = mapping(msg.get("chat"))
    chat_id, message_id = chat.get("id"), msg.get("message_id")
    if chat_id is None or message_id is None:
        raise UnreadableEvent("Telegram message without chat.id or message_id")
    message = _about_chat(msg, kind, channel)
    attachments, placeholders = _media(msg)
    text = string(msg.get("text")) or string(msg.get("caption"))
    message.text = text or placeholder_text(placeholders)
    message.attachments = attachments
    own_id = f"{chat_id}:{message_id}"
    if kind == EVENT_EDIT:
        message.message_id = f"{own_id}:{msg.get('edit_date', '')}"
        message.target_message_id = own_id
        message.date = unix_time(msg.get("edit_date")) or message.date
    else:
        message.message_id = own_id
    if kind == EVENT_MESSAGE and not message.text:
        if any(field in msg for field in MEMBERSHIP_SERVICE_FIELDS):
            message.event = EVENT_MEMBERSHIP
        elif any(field in msg for field in SERVICE_FIELDS):
            message.event = EVENT_STATUS
    message.reply_fields = {"chat_id": str(chat_id), "reply_to_message_id": str(message_id)}
    if msg.get("is_topic_message") and msg.get("message_thread_id") is not None:
        # A forum topic: the answer belongs in the same topic (sendMessage message_thread_id).
        message.reply_fields["message_thread_id"] = str(msg["message_thread_id"])
    bot = _Bot.of(channel)
    addressed = _addressed(msg, text, bot)
    message.unaddressed_group = unaddressed_group(
        channel.options, group=string(chat.get("type")) in GROUP_CHAT_TYPES, addressed=addressed
    )
    return message


def _about_chat(body: dict[str, Any], kind: str, channel: ChannelConfig) -> InboundMessage:
    """The parts every update about a chat has: who, which chat, when."""
    chat = mapping(body.get("chat"))
    sender = mapping(body.get("from")) or mapping(body.get("user"))
    sender_chat = mapping(body.get("sender_chat")) or mapping(body.get("actor_chat"))
    if sender:
        address, name = str(sender.get("id", "")), _person_name(sender)
    elif sender_chat:
        # A channel post or an anonymous group admin: the chat speaks, not a person.
        address, name = str(sender_chat.get("id", "")), string(sender_chat.get("title"))
    else:
        address, name = str(chat.get("id", "")), string(chat.get("title")) or _person_name(chat)
    bot = _Bot.of(channel)
    return InboundMessage(
        channel="telegram",
        sender_type="telegram",
        sender_address=address,
        sender_name=name,
        subject="",
        text="",
        event=kind,
        conversation_key=f"telegram:{chat.get('id', '')}",
        date=unix_time(body.get("date")),
        from_bot=bool(sender.get("is_bot")),
        from_us=bool(sender) and bot.is_us(sender),
        headers={},
    )


def _media(msg: dict[str, Any]) -> tuple[list[Attachment], list[str]]:
    """Media stays on Telegram: the attachment keeps its file_id (getFile fetches it)."""
    found: list[tuple[Attachment, str]] = []
    photos = msg.get("photo")
    if isinstance(photos, list) and photos and isinstance(photos[-1], dict):
        largest = photos[-1]  # PhotoSize list, smallest first
        found.append((_attachment(largest, "photo.jpg", "image/jpeg"), placeholder("photo")))
    for field, filename, content_type in (
        ("voice", "voice.ogg", "audio/ogg"),
        ("video_note", "video_note.mp4", "video/mp4"),
        ("animation", "animation.mp4", "video/mp4"),
        ("video", "video.mp4", "video/mp4"),
        ("audio", "audio.mp3", "audio/mpeg"),
        ("document", "document", "application/octet-stream"),
    ):
        item = mapping(msg.get(field))
        if not item or (field == "document" and "animation" in msg):
            continue  # an animation also comes as a document: count it once
        attachment = _attachment(item, filename, content_type)
        named = field in ("document", "audio") and string(item.get("file_name"))
        found.append((attachment, placeholder(field, attachment.filename if named else "")))
    sticker = mapping(msg.get("sticker"))
    if sticker:
        found.append((_attachment(sticker, "sticker.webp", "image/webp"), placeholder("sticker")))
    attachments = [attachment for attachment, _ in found]
    placeholders = [text for _, text in found]
    if isinstance(msg.get("location"), dict):
        placeholders.append(placeholder("location"))
    contact = mapping(msg.get("contact"))
    if contact:
        placeholders.append(placeholder("contact", _person_name(contact)))
    return attachments, placeholders


def _attachment(item: dict[str, Any], filename: str, content_type: str) -> Attachment:
    size = item.get("file_size")
    return Attachment(
        filename=string(item.get("file_name")) or filename,
        content_type=string(item.get("mime_type")) or content_type,
        size=size if isinstance(size, int) else 0,
        data=None,
        reference=string(item.get("file_id")) or None,
    )


class _Bot:
    """Our own bot as the channel knows it: the `bot_username` option, and the numeric
    user id that starts every bot token ("123456:ABC...", core.telegram.org/bots/api#authorizing-your-bot)."""

    def __init__(self, username: str, user_id: str) -> None:
        self.username = username.lstrip("@").lower()
        self.user_id = user_id

    @classmethod
    def of(cls, channel: ChannelConfig) -> _Bot:
        prefix = channel.token.split(":", 1)[0]
        return cls(channel.options.get("bot_username", ""), prefix if prefix.isdigit() else "")

    def is_us(self, user: dict[str, Any]) -> bool:
        if self.user_id and str(user.get("id")) == self.user_id:
            return True
        username = string(user.get("username")).lower()
        return bool(self.username) and bool(user.get("is_bot")) and username == self.username


def _addressed(msg: dict[str, Any], text: str, bot: _Bot) -> bool:
    """In a group the bot is addressed by an @mention, a /command (not one meant for
    another bot: /help@other_bot), or a reply to one of its messages."""
    replied = mapping(mapping(msg.get("reply_to_message")).get("from"))
    if replied and (bot.is_us(replied) or (not bot.username and not bot.user_id and replied.get("is_bot"))):
        return True
    entities = msg.get("entities") if "text" in msg else msg.get("caption_entities")
    for entity in entities if isinstance(entities, list) else []:
        if not isinstance(entity, dict):
            continue
        kind = entity.get("type")
        value = _entity_text(text, entity.get("offset"), entity.get("length"))
        if kind == "mention" and bot.username and value.lstrip("@").lower() == bot.username:
            return True
        if kind == "text_mention" and bot.is_us(mapping(entity.get("user"))):
            return True
        if kind == "bot_command":
            _, at, target = value.partition("@")
            if not at or (bot.username and target.lower() == bot.username):
                return True
    return False


def _entity_text(text: str, offset: Any, length: Any) -> str:
    # Entity offsets and lengths count UTF-16 code units (core.telegram.org/bots/api#messageentity):
    # an emoji before the mention moves it by two.
    if not isinstance(offset, int) or not isinstance(length, int):
        return ""
    units = text.encode("utf-16-le", "surrogatepass")
    return units[offset * 2 : (offset + length) * 2].decode("utf-16-le", "replace")


def _payload(update: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    for key, value in update.items():
        if key != "update_id" and isinstance(value, dict):
            return key, value
    return "", {}


def _person_name(person: dict[str, Any]) -> str:
    full = " ".join(p for p in (string(person.get("first_name")), string(person.get("last_name"))) if p)
    if full:
        return full
    username = string(person.get("username"))
    return f"@{username}" if username else ""


register(ChannelType("telegram", verify, events, normalize, default_api_base=DEFAULT_API_BASES["telegram"]))
