"""Slack Events API: verify the v0 signature, cut the request into its one event, map it.

Docs: "Verifying requests from Slack" (api.slack.com/authentication/verifying-requests-from-slack),
the Events API (api.slack.com/apis/events-api) and the message event and its subtypes
(api.slack.com/events/message).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
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
    Rejected,
    Reply,
    UnreadableEvent,
    WebhookEvent,
    WebhookRequest,
    register,
)
from webhooks.checks import (
    fresh_timestamp,
    hmac_sha256_hex,
    json_object,
    required_header,
    same_secret,
    stored_object,
)
from webhooks.fields import mapping, string, unix_time
from webhooks.groups import unaddressed_group
from webhooks.media import placeholder, placeholder_text

log = logging.getLogger("mailbot.webhooks")

# Message subtypes that are a person writing: everything else of type `message` is
# Slack's own bookkeeping (topic changes, pins, "a reply was added") or handled below.
PERSON_SUBTYPES = frozenset({None, "file_share", "thread_broadcast", "me_message"})
MEMBERSHIP_SUBTYPES = frozenset({"channel_join", "channel_leave", "group_join", "group_leave"})
MEMBERSHIP_EVENTS = frozenset(
    {
        "app_home_opened",
        "member_joined_channel",
        "member_left_channel",
        "tokens_revoked",
        "app_uninstalled",
        "team_join",
    }
)
REACTION_EVENTS = frozenset({"reaction_added", "reaction_removed"})
# Conversations with more than one person in them, where the bot must be addressed.
GROUP_CHANNEL_TYPES = frozenset({"channel", "group", "mpim"})


# -- verify ---------------------------------------------------------------------


def verify(request: WebhookRequest, channel: ChannelConfig) -> None:
    """HMAC-SHA256 of "v0:<timestamp>:<raw body>" with the signing secret, sent as
    X-Slack-Signature: v0=<hex>; requests more than five minutes old are refused."""
    timestamp = required_header(request, "X-Slack-Request-Timestamp")
    signature = required_header(request, "X-Slack-Signature")
    fresh_timestamp(timestamp, request.received_at)
    basestring = b"v0:" + timestamp.encode() + b":" + request.body
    expected = "v0=" + hmac_sha256_hex(channel.secret, basestring)
    if not same_secret(expected, signature):
        raise Rejected(401, "X-Slack-Signature does not match")


# -- events ---------------------------------------------------------------------


def events(request: WebhookRequest, channel: ChannelConfig) -> list[WebhookEvent] | Reply:
    body = json_object(request)
    kind = body.get("type")
    if kind == "url_verification":
        # Answer with the challenge itself, as plain text (api.slack.com/events/url_verification).
        challenge = body.get("challenge")
        if not isinstance(challenge, str):
            raise Rejected(400, "url_verification without a challenge")
        return Reply(200, challenge.encode(), "text/plain; charset=utf-8")
    if kind == "app_rate_limited":
        # Slack tells us it dropped events for a minute; there is nothing to store.
        log.warning("slack channel %s: Slack rate-limited its events to us: %s", channel.name, body)
        return Reply(200)
    if kind != "event_callback":
        raise Rejected(400, f"unknown Slack request type {kind!r}")
    event_id = body.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        raise Rejected(400, "event_callback without an event_id")
    if not isinstance(body.get("event"), dict):
        raise Rejected(400, "event_callback without an event object")
    # One event per request. A retry (X-Slack-Retry-Num) repeats the same event_id, which
    # is the source key: the store keeps the first and the retry is answered 200.
    # The envelope is stored as it came: normalize() needs its team_id and authorizations.
    return [WebhookEvent(event_id, request.body)]


# -- normalize --------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    team: str
    bot_user_id: str  # "" when neither the option nor the payload names our bot
    app_id: str
    channel: ChannelConfig


def normalize(payload: bytes, channel: ChannelConfig) -> InboundMessage:
    envelope = stored_object(payload)
    event = envelope.get("event")
    if not isinstance(event, dict):
        raise UnreadableEvent("Slack envelope without an event object")
    context = _Context(
        team=string(envelope.get("team_id")) or string(event.get("team")),
        bot_user_id=channel.options.get("bot_user_id") or _bot_user_id(envelope),
        app_id=string(envelope.get("api_app_id")),
        channel=channel,
    )
    kind = string(event.get("type"))
    if kind in ("message", "app_mention"):
        return _message(event, context)
    if kind in REACTION_EVENTS:
        item = mapping(event.get("item"))
        message = _base(event, context, EVENT_REACTION, string(event.get("user")))
        message.text = f":{string(event.get('reaction'))}:"
        item_channel, item_ts = string(item.get("channel")), string(item.get("ts"))
        if item_channel and item_ts:
            message.target_message_id = f"{item_channel}:{item_ts}"
            message.conversation_key = _conversation_key(context, item_channel, item_ts)
        return message
    if kind in MEMBERSHIP_EVENTS:
        return _base(event, context, EVENT_MEMBERSHIP, string(event.get("user")))
    message = _base(event, context, EVENT_STATUS, string(event.get("user")))
    message.parse_warnings.append(f"Slack event type {kind!r} is not one mailbot maps")
    return message


def _message(event: dict[str, Any], context: _Context) -> InboundMessage:
    subtype = event.get("subtype")
    if subtype is not None and not isinstance(subtype, str):
        subtype = f"<{type(subtype).__name__}>"  # no subtype we know: not a person writing
    channel_id = string(event.get("channel"))
    if subtype == "message_changed":
        edited = event.get("message")
        if not isinstance(edited, dict):
            raise UnreadableEvent("message_changed without the changed message")
        message = _written(edited, context, channel_id, EVENT_EDIT, event)
        message.target_message_id = f"{channel_id}:{string(edited.get('ts'))}"
        return message
    if subtype == "message_deleted":
        message = _written(mapping(event.get("previous_message")), context, channel_id, EVENT_DELETE, event)
        message.text = ""
        message.attachments = []
        message.target_message_id = f"{channel_id}:{string(event.get('deleted_ts'))}"
        return message
    if subtype in MEMBERSHIP_SUBTYPES:
        return _written(event, context, channel_id, EVENT_MEMBERSHIP, event)
    if subtype not in PERSON_SUBTYPES and subtype != "bot_message":
        return _written(event, context, channel_id, EVENT_STATUS, event)
    return _written(event, context, channel_id, EVENT_MESSAGE, event)


def _written(
    written: dict[str, Any], context: _Context, channel_id: str, kind: str, event: dict[str, Any]
) -> InboundMessage:
    """A message someone wrote (or changed, or deleted): `written` is the message itself,
    `event` the event that reported it (its own ts for an edit or a deletion)."""
    ts = string(written.get("ts")) or string(event.get("ts"))
    thread_ts = string(written.get("thread_ts"))
    user = string(written.get("user"))
    message = _base(written, context, kind, user)
    message.message_id = f"{channel_id}:{string(event.get('ts')) or ts}"
    # A direct message channel is one conversation with one person, threads or not: three
    # top-level DMs in a row are one matter, not three tickets. In shared channels each
    # top-level message starts its own thread (the replies in it carry its ts).
    direct = string(event.get("channel_type")) == "im" or string(written.get("channel_type")) == "im"
    message.conversation_key = _conversation_key(context, channel_id, "dm" if direct else (thread_ts or ts))
    message.date = unix_time(string(event.get("ts")) or ts)
    message.attachments, placeholders = _files(written.get("files"))
    message.text = _unescape(string(written.get("text"))) or placeholder_text(placeholders)
    message.from_bot = bool(written.get("bot_id")) or written.get("subtype") == "bot_message"
    message.from_us = bool(
        (context.bot_user_id and user == context.bot_user_id)
        or (context.app_id and string(written.get("app_id")) == context.app_id)
    )
    if not user and written.get("username"):
        message.sender_name = string(written.get("username"))  # a bot_message's display name
    message.reply_fields = {"channel": channel_id}
    if thread_ts:
        # Only when the customer wrote in a thread: an answer to a top-level message
        # goes where they wrote it.
        message.reply_fields["thread_ts"] = thread_ts
    if kind == EVENT_MESSAGE:
        group = _is_group(event, channel_id)
        addressed = event.get("type") == "app_mention" or _mentions(message.text, context.bot_user_id)
        message.unaddressed_group = unaddressed_group(
            context.channel.options, group=group, addressed=addressed
        )
    return message


def _base(event: dict[str, Any], context: _Context, kind: str, user: str) -> InboundMessage:
    profile = mapping(event.get("user_profile"))
    name = string(profile.get("display_name")) or string(profile.get("real_name"))
    return InboundMessage(
        channel="slack",
        sender_type="slack",
        sender_address=user,
        sender_name=name,
        subject="",
        text="",
        event=kind,
        date=unix_time(string(event.get("event_ts")) or string(event.get("ts"))),
        headers={},
    )


def _files(files: Any) -> tuple[list[Attachment], list[str]]:
    if not isinstance(files, list):
        return [], []
    attachments, placeholders = [], []
    for file in files:
        if not isinstance(file, dict):
            continue
        name = string(file.get("name")) or string(file.get("title")) or string(file.get("id"))
        content_type = string(file.get("mimetype")) or "application/octet-stream"
        size = file.get("size")
        attachments.append(
            Attachment(
                filename=name,
                content_type=content_type,
                size=size if isinstance(size, int) else 0,
                data=None,
                # url_private needs the bot token to fetch; the id works with files.info.
                reference=string(file.get("url_private")) or string(file.get("id")) or None,
            )
        )
        major = content_type.split("/", 1)[0]
        placeholders.append(placeholder(major if major in ("image", "audio", "video") else "file", name))
    return attachments, placeholders


def _bot_user_id(envelope: dict[str, Any]) -> str:
    """Our bot's user id as the event says it: the installation it was delivered for
    (api.slack.com/apis/events-api#authorizations)."""
    authorizations = envelope.get("authorizations")
    if isinstance(authorizations, list) and authorizations and isinstance(authorizations[0], dict):
        first = authorizations[0]
        if first.get("is_bot"):
            return string(first.get("user_id"))
    return ""


def _is_group(event: dict[str, Any], channel_id: str) -> bool:
    channel_type = event.get("channel_type")
    if isinstance(channel_type, str) and channel_type:
        return channel_type in GROUP_CHANNEL_TYPES
    # app_mention events carry no channel_type; DM channel ids start with D.
    return not channel_id.startswith("D")


def _mentions(text: str, bot_user_id: str) -> bool:
    # <@U123> or the older <@U123|name> (api.slack.com/reference/surfaces/formatting).
    return bool(bot_user_id) and re.search(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", text) is not None


def _conversation_key(context: _Context, channel_id: str, thread_ts: str) -> str:
    return f"slack:{context.team}:{channel_id}:{thread_ts}"


def _unescape(text: str) -> str:
    # Slack escapes exactly these three in message text
    # (api.slack.com/reference/surfaces/formatting#escaping).
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


register(ChannelType("slack", verify, events, normalize, default_api_base=DEFAULT_API_BASES["slack"]))
