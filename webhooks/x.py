"""X (Twitter) Account Activity API webhooks: direct messages and public mentions.

Security (docs.x.com/x-api/webhooks/introduction, "Securing webhooks"): X checks the URL
with a CRC, a GET carrying `crc_token`, answered with `{"response_token": "sha256=<base64
HMAC-SHA256(consumer secret, crc_token)>"}`, at registration and about hourly after; and
it signs every POST with `X-Twitter-Webhooks-Signature: sha256=<base64 HMAC-SHA256
(consumer secret, raw body)>`. No timestamp is signed; a replayed body repeats event ids
the store already holds.

A POST (docs.x.com/x-api/account-activity) names the subscribed account in `for_user_id`
and carries one or more lists: `direct_message_events[]` (type `message_create`, with
`message_create.sender_id`, `target.recipient_id`, `message_data.text` and an optional
media `attachment`) with `users{}` for their names; `tweet_create_events[]` (v1.1 Tweet
objects: mentions and replies, also our own posts and retweets); `favorite_events`,
`follow_events`, `block_events`, `mute_events`, `direct_message_indicate_typing_events`,
`direct_message_mark_read_events`, `tweet_delete_events` and `user_event` (a revoked
authorisation). Events authored by our own account (option `account_id`) are ours.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from mailbot.channels import DEFAULT_API_BASES
from mailbot.message import (
    EVENT_DELETE,
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
from webhooks.attachments import media_attachment
from webhooks.checks import compact_json, json_object, required_header, same_secret, stored_object
from webhooks.media import placeholder
from webhooks.payload import derived_id, object_list, section, sections, text, unix_millis

TYPE = "x"
SIGNATURE_HEADER = "x-twitter-webhooks-signature"
MEMBERSHIP_KINDS = ("follow_events", "block_events", "mute_events", "user_event")
RECEIPT_KINDS = ("direct_message_indicate_typing_events", "direct_message_mark_read_events")
MEDIA_KINDS = {
    "photo": ("photo", "image/*"),
    "video": ("video", "video/*"),
    "animated_gif": ("animation", "video/*"),
}
# Keys of a body that are context for the events, not events.
CONTEXT_KEYS = ("for_user_id", "users", "apps", "user_has_blocked")


def signature(secret: str, data: bytes) -> str:
    return "sha256=" + base64.b64encode(hmac.new(secret.encode(), data, hashlib.sha256).digest()).decode()


def verify(request: WebhookRequest, channel: ChannelConfig) -> None:
    given = required_header(request, SIGNATURE_HEADER)
    if not same_secret(signature(channel.secret, request.body), given):
        raise Rejected(401, f"{SIGNATURE_HEADER} does not match the body")


def handshake(request: WebhookRequest, channel: ChannelConfig) -> Reply:
    token = request.query.get("crc_token", "")
    if not token:
        raise Rejected(400, "a CRC request without crc_token")
    return Reply.json({"response_token": signature(channel.secret, token.encode())})


def events(request: WebhookRequest, channel: ChannelConfig) -> list[WebhookEvent]:
    body = json_object(request)
    for_user = text(body, "for_user_id")
    if not for_user:
        raise Rejected(400, "an Account Activity body without for_user_id")
    users = section(body, "users")
    found: list[WebhookEvent] = []
    for kind, value in body.items():
        if kind in CONTEXT_KEYS:
            continue
        # Event lists are named *_events; `user_event` is one object; any other scalar
        # X may add is context, not an event.
        if isinstance(value, dict) and not kind.endswith("_events"):
            found_items = [value]
        elif isinstance(value, list) or kind.endswith("_events"):
            found_items = object_list(body, kind)
        else:
            continue
        for item in found_items:
            event_id = _event_id(kind, item)
            involved = {u: users[u] for u in _user_ids(kind, item) if isinstance(users.get(u), dict)}
            stored = {
                "event_id": event_id,
                "for_user_id": for_user,
                "kind": kind,
                "item": item,
                "users": involved,
            }
            found.append(WebhookEvent(event_id, compact_json(stored)))
    return found


def _event_id(kind: str, item: dict[str, Any]) -> str:
    if kind == "direct_message_events":
        return f"dm:{_required(item, 'id', 'direct message')}"
    if kind == "tweet_create_events":
        return f"tweet:{_required(item, 'id_str', 'tweet')}"
    if kind == "favorite_events" and text(item, "id"):
        return f"favorite:{text(item, 'id')}"
    return derived_id(kind, item)


def _required(item: dict[str, Any], key: str, what: str) -> str:
    value = text(item, key)
    if not value:
        raise Rejected(400, f"a {what} event without {key}")
    return value


def _user_ids(kind: str, item: dict[str, Any]) -> list[str]:
    if kind == "direct_message_events":
        create = section(item, "message_create")
        return [text(create, "sender_id"), text(section(create, "target"), "recipient_id")]
    return [text(item, "sender_id")]


def normalize(payload: bytes, channel: ChannelConfig) -> InboundMessage:
    data = stored_object(payload)
    kind, item = text(data, "kind"), section(data, "item")
    account = channel.options.get("account_id", "") or text(data, "for_user_id")
    if text(data, "for_user_id") != account:
        return _notice(data, f"for X account {text(data, 'for_user_id')}, not this channel's {account}")
    if kind == "direct_message_events":
        return _direct_message(data, item, account)
    if kind == "tweet_create_events":
        return _tweet(item, account)
    if kind == "favorite_events":
        user = section(item, "user")
        liked = text(section(item, "favorited_status"), "id_str")
        return _about(user, account, EVENT_REACTION, f"tweet:{liked}" if liked else None, data)
    if kind == "tweet_delete_events":
        status = section(item, "status")
        author = {"id_str": text(status, "user_id")}
        return _about(author, account, EVENT_DELETE, f"tweet:{text(status, 'id')}", data)
    if kind in MEMBERSHIP_KINDS:
        return _about(section(item, "source"), account, EVENT_MEMBERSHIP, None, data)
    if kind in RECEIPT_KINDS:
        last_read = text(item, "last_read_event_id")
        sender = {"id_str": text(item, "sender_id")}
        return _about(sender, account, EVENT_STATUS, f"dm:{last_read}" if last_read else None, data)
    return _notice(data, f"X {kind or 'unknown'} event: recorded, never answered")


def _direct_message(data: dict[str, Any], item: dict[str, Any], account: str) -> InboundMessage:
    if text(item, "type") != "message_create":
        return _notice(data, f"X direct message event of type {text(item, 'type')!r}")
    create = section(item, "message_create")
    sender = text(create, "sender_id")
    recipient = text(section(create, "target"), "recipient_id")
    if not sender or not recipient:
        raise UnreadableEvent("an X direct message without sender_id or recipient_id")
    from_us = sender == account
    participant = recipient if from_us else sender
    body, attachments = _dm_content(section(create, "message_data"))
    # X's own id for a one-to-one conversation is the two user ids, smaller first.
    pair = "-".join(sorted((sender, recipient), key=lambda u: (len(u), u)))
    return InboundMessage(
        channel=TYPE,
        sender_type="x",
        sender_address=sender,
        sender_name=_name(section(section(data, "users"), sender)),
        subject="",
        text=body,
        message_id=f"dm:{text(item, 'id')}",
        date=unix_millis(text(item, "created_timestamp")),
        attachments=attachments,
        conversation_key=f"x:dm:{pair}",
        event=EVENT_MESSAGE,
        from_us=from_us,
        reply_fields={"participant_id": participant},
    )


def _dm_content(message_data: dict[str, Any]) -> tuple[str, list[Attachment]]:
    body = text(message_data, "text")
    attachment = section(message_data, "attachment")
    media = section(attachment, "media")
    if text(attachment, "type") != "media" or not media:
        return body, []
    return _with_media(body, [media])


def _with_media(body: str, media_items: list[dict[str, Any]]) -> tuple[str, list[Attachment]]:
    """X appends each media item's t.co link to the text: without it, a photo alone is empty."""
    attachments: list[Attachment] = []
    labels: list[str] = []
    for media in media_items:
        reader_kind, content_type = MEDIA_KINDS.get(text(media, "type"), ("photo", "image/*"))
        reference = text(media, "media_url_https") or text(media, "id_str")
        attachments.append(media_attachment(reference, content_type))
        labels.append(placeholder(reader_kind))
        if text(media, "url"):
            body = body.replace(text(media, "url"), "")
    body = body.strip()
    return body or " ".join(labels), attachments


def _tweet(tweet: dict[str, Any], account: str) -> InboundMessage:
    user = section(tweet, "user")
    author = text(user, "id_str")
    tweet_id = text(tweet, "id_str")
    if not author or not tweet_id:
        raise UnreadableEvent("an X tweet without its id or author")
    replied = text(tweet, "in_reply_to_status_id_str")
    common: dict[str, Any] = {
        "channel": TYPE,
        "sender_type": "x",
        "sender_address": author,
        "sender_name": _name(user),
        "subject": "",
        "message_id": f"tweet:{tweet_id}",
        "date": unix_millis(text(tweet, "timestamp_ms")),
        "conversation_key": f"x:public:{account}:{author}",
        "from_us": author == account,
        "public": True,
    }
    retweeted = section(tweet, "retweeted_status")
    if retweeted:
        # A plain retweet repeats someone's post: a reaction to it, nothing said to us.
        return InboundMessage(
            **common, text="", event=EVENT_REACTION, target_message_id=f"tweet:{text(retweeted, 'id_str')}"
        )
    body, attachments = _with_media(_tweet_text(tweet), _tweet_media(tweet))
    return InboundMessage(
        **common,
        text=body,
        in_reply_to=[f"tweet:{replied}"] if replied else [],
        attachments=attachments,
        event=EVENT_MESSAGE,
        reply_fields={"in_reply_to_tweet_id": tweet_id},
    )


def _tweet_text(tweet: dict[str, Any]) -> str:
    """The words of a post, without the @names a reply starts with (`display_text_range`)."""
    extended = section(tweet, "extended_tweet")
    source = extended if text(extended, "full_text") else tweet
    full = text(source, "full_text") or text(source, "text")
    span = source.get("display_text_range")
    if isinstance(span, list) and len(span) == 2 and all(isinstance(n, int) for n in span):
        # Offsets count code points, as Python strings do.
        return full[span[0] : span[1]].strip()
    return full.strip()


def _tweet_media(tweet: dict[str, Any]) -> list[dict[str, Any]]:
    extended = section(tweet, "extended_tweet")
    for source in (extended, tweet):
        media = sections(section(source, "extended_entities"), "media")
        if media:
            return media
    return []


def _about(
    user: dict[str, Any], account: str, event: str, target: str | None, data: dict[str, Any]
) -> InboundMessage:
    """An event about a person and us that says nothing: a like, a follow, a receipt."""
    person = text(user, "id_str") or text(user, "id")
    return InboundMessage(
        channel=TYPE,
        sender_type="x",
        sender_address=person,
        sender_name=_name(user),
        subject="",
        text="",
        message_id=text(data, "event_id"),
        conversation_key=f"x:public:{account}:{person}" if person else "",
        event=event,
        target_message_id=target,
        from_us=bool(person) and person == account,
    )


def _notice(data: dict[str, Any], warning: str) -> InboundMessage:
    return InboundMessage(
        channel=TYPE,
        sender_type="x",
        sender_address="",
        sender_name="",
        subject="",
        text="",
        message_id=f"notice:{text(data, 'event_id')}",
        parse_warnings=[warning],
        event=EVENT_STATUS,
    )


def _name(user: dict[str, Any]) -> str:
    if text(user, "name"):
        return text(user, "name")
    return f"@{text(user, 'screen_name')}" if text(user, "screen_name") else ""


register(
    ChannelType(
        name=TYPE,
        verify=verify,
        events=events,
        normalize=normalize,
        handshake=handshake,
        default_api_base=DEFAULT_API_BASES[TYPE],
    )
)
