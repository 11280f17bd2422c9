"""Facebook Messenger and Instagram messaging webhooks: one mapping, two channel types.

Both send `{"object": "page" | "instagram", "entry": [{"id": <page or Instagram account
id>, "time": ..., "messaging": [...]}]}` (developers.facebook.com/documentation/
business-messaging/messenger-platform/webhooks, and docs/instagram-messaging/webhooks).
Each `messaging` item is one event between a person (`sender.id`, their page-scoped id:
PSID on Messenger, IGSID on Instagram) and us (`recipient.id`):

- `message` with `mid`, `text` and/or `attachments[]`; `is_echo: true` when it is ours
  (sent by this page, from our app or a person in the page inbox); on Instagram
  `is_deleted: true` when the person unsent it;
- `message_edit` (`mid`, new `text`, `num_edit`), `reaction` (`mid`, `action`
  react/unreact, `emoji`), `delivery` and `read` receipts, `postback` (a button tap),
  and `referral`, `optin` and the handover events.

Messenger does not put the person's name in the webhook; it takes a Graph API call,
which a pure mapping does not make, so the name stays empty. Signature and handshake
are Meta's (meta.py).
"""

from __future__ import annotations

from typing import Any

from mailbot.channels import DEFAULT_API_BASES
from mailbot.message import (
    EVENT_DELETE,
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
    Events,
    Normalize,
    Rejected,
    UnreadableEvent,
    WebhookEvent,
    WebhookRequest,
    meta,
    register,
)
from webhooks.attachments import filename_from_url, media_attachment
from webhooks.checks import compact_json, stored_object
from webhooks.media import placeholder
from webhooks.payload import derived_id, object_list, section, sections, text, unix_millis

# Channel type -> the `object` its webhooks carry.
OBJECTS = {"messenger": "page", "instagram": "instagram"}
# Messaging items that are about the relationship, not a message: opt-ins, ad referrals,
# account linking, policy actions on the page, the handover protocol.
MEMBERSHIP_KEYS = (
    "referral",
    "optin",
    "account_linking",
    "policy_enforcement",
    "pass_thread_control",
    "take_thread_control",
    "request_thread_control",
    "app_roles",
)
ATTACHMENT_KINDS = {
    "image": "photo",
    "video": "video",
    "audio": "voice",  # Messenger and Instagram audio clips are recorded voice notes
    "file": "document",
    "location": "location",
    "story_mention": "story mention",
    "share": "shared post",
    "ig_reel": "reel",
    "reel": "reel",
    "ig_post": "shared post",
}


def _events_for(channel_type: str) -> Events:
    def events(request: WebhookRequest, channel: ChannelConfig) -> list[WebhookEvent]:
        wanted = OBJECTS[channel_type]
        found: list[WebhookEvent] = []
        for entry in meta.parse_body(request, (wanted,)):
            context = {"object": wanted, "entry_id": text(entry, "id")}
            for item in object_list(entry, "messaging"):
                found.append(_event(_event_id(item), context, "messaging", item))
            for key, value in entry.items():
                # `standby` (another app has the thread), `changes` (comments, mentions):
                # kept as notices, never read as messages of ours.
                if key != "messaging" and isinstance(value, list):
                    for item in object_list(entry, key):
                        found.append(_event(derived_id(f"notice:{key}", item), context, "notice", item))
        return found

    return events


def _event_id(item: dict[str, Any]) -> str:
    message = section(item, "message")
    if message:
        mid = text(message, "mid")
        if not mid:
            raise Rejected(400, "a message without a mid")
        # An unsend names the message it takes back: its own event, not a repeat of it.
        return f"delete:{mid}" if message.get("is_deleted") is True else mid
    edit = section(item, "message_edit")
    if edit:
        return f"edit:{text(edit, 'mid')}:{text(edit, 'num_edit')}"
    postback = section(item, "postback")
    if text(postback, "mid"):
        return text(postback, "mid")
    return derived_id(_kind(item), item)


def _kind(item: dict[str, Any]) -> str:
    for key in ("message", "message_edit", "reaction", "delivery", "read", "postback", *MEMBERSHIP_KEYS):
        if key in item:
            return key
    return "unknown"


def _event(event_id: str, context: dict[str, Any], kind: str, item: dict[str, Any]) -> WebhookEvent:
    return WebhookEvent(event_id, compact_json({"event_id": event_id, **context, "kind": kind, "item": item}))


def _normalize_for(channel_type: str) -> Normalize:
    def normalize(payload: bytes, channel: ChannelConfig) -> InboundMessage:
        return _normalize(channel_type, stored_object(payload), channel)

    return normalize


def _normalize(channel_type: str, data: dict[str, Any], channel: ChannelConfig) -> InboundMessage:
    item = section(data, "item")
    account = text(data, "entry_id")
    ours = channel.options.get("page_id", "")
    if text(data, "kind") == "notice":
        return _notice(channel_type, data, "not a messaging event: recorded, never answered")
    if ours and account != ours:
        warning = f"for account {account}, not this channel's {ours}: recorded, never answered"
        return _notice(channel_type, data, warning)
    message = section(item, "message")
    from_us = message.get("is_echo") is True
    person = text(section(item, "recipient" if from_us else "sender"), "id")
    if not person or not account:
        raise UnreadableEvent(f"a {channel_type} event without its sender or account id")
    kind = _kind(item)
    event, body = EVENT_MESSAGE, ""
    target: str | None = None
    attachments: list[Attachment] = []
    in_reply_to: list[str] = []
    message_id = text(data, "event_id")
    if kind == "message":
        if message.get("is_deleted") is True:
            event, target = EVENT_DELETE, text(message, "mid")
        else:
            message_id = text(message, "mid")
            body, attachments = _content(message)
            reply_to = text(section(message, "reply_to"), "mid")
            in_reply_to = [reply_to] if reply_to else []
    elif kind == "message_edit":
        edit = section(item, "message_edit")
        event, target, body = EVENT_EDIT, text(edit, "mid") or None, text(edit, "text")
    elif kind == "reaction":
        reaction = section(item, "reaction")
        emoji = text(reaction, "emoji") or text(reaction, "reaction")
        event, target = EVENT_REACTION, text(reaction, "mid") or None
        body = "" if text(reaction, "action") == "unreact" else emoji
    elif kind in {"delivery", "read"}:
        receipt = section(item, kind)
        mids = receipt.get("mids")
        first = mids[0] if isinstance(mids, list) and mids and isinstance(mids[0], str) else ""
        event, target, body = EVENT_STATUS, (first or text(receipt, "mid")) or None, kind
    elif kind == "postback":
        # A tap on a button we offered: the person chose something, in words on the button.
        postback = section(item, "postback")
        body = text(postback, "title") or text(postback, "payload")
    elif kind in MEMBERSHIP_KEYS:
        event = EVENT_MEMBERSHIP
    else:
        return _notice(channel_type, data, f"unknown {channel_type} event: recorded, never answered")
    return InboundMessage(
        channel=channel_type,
        sender_type=channel_type,
        sender_address=account if from_us else person,
        sender_name="",
        subject="",
        text=body,
        message_id=message_id,
        in_reply_to=in_reply_to,
        date=unix_millis(text(item, "timestamp")),
        attachments=attachments,
        conversation_key=f"{channel_type}:{account}:{person}",
        event=event,
        target_message_id=target,
        from_us=from_us,
        reply_fields={"recipient_id": person},
    )


def _content(message: dict[str, Any]) -> tuple[str, list[Attachment]]:
    attachments: list[Attachment] = []
    labels: list[str] = []
    for attachment in sections(message, "attachments"):
        kind = text(attachment, "type")
        media = section(attachment, "payload")
        url = text(media, "url")
        if kind == "image" and text(media, "sticker_id"):
            reader_kind = "sticker"  # the thumbs-up and other stickers arrive as images
        else:
            reader_kind = ATTACHMENT_KINDS.get(kind, kind or "attachment")
        filename = filename_from_url(url) if kind == "file" else ""
        if kind == "fallback":
            # A shared link: its title and URL are the message.
            labels.append(text(attachment, "title") or text(attachment, "url") or url or "[link]")
            continue
        if url:
            attachments.append(media_attachment(url, _content_type(kind), filename))
        labels.append(placeholder(reader_kind, filename))
    if message.get("is_unsupported") is True:
        labels.append(placeholder("unsupported message"))
    return text(message, "text") or " ".join(labels), attachments


def _content_type(kind: str) -> str:
    # Messenger names only the kind of media; the exact type is known once it is fetched.
    return {"image": "image/*", "video": "video/*", "audio": "audio/*"}.get(kind, "application/octet-stream")


def _notice(channel_type: str, data: dict[str, Any], warning: str) -> InboundMessage:
    item = section(data, "item")
    account = text(data, "entry_id")
    person = text(section(item, "sender"), "id")
    return InboundMessage(
        channel=channel_type,
        sender_type=channel_type,
        sender_address=person,
        sender_name="",
        subject="",
        text="",
        message_id=f"notice:{text(data, 'event_id')}",
        date=unix_millis(text(item, "timestamp")),
        parse_warnings=[warning],
        conversation_key=f"{channel_type}:{account}:{person}" if account and person else "",
        event=EVENT_STATUS,
    )


for _type in OBJECTS:
    register(
        ChannelType(
            name=_type,
            verify=meta.verify,
            events=_events_for(_type),
            normalize=_normalize_for(_type),
            handshake=meta.handshake,
            default_api_base=DEFAULT_API_BASES[_type],
        )
    )
