"""The generic signed JSON channel: any system of the customer's can post messages to us.

The contract (issue 8; keep it stable, checks outside the repository use it):

    POST /webhooks/generic/<name>
    X-Mailbot-Timestamp: <Unix seconds>            (refused outside a 5-minute window)
    X-Mailbot-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the secret>
    {"event_id": "...", "sender": {"id": "...", "name": "...", "email"?: "...", "phone"?: "..."},
     "conversation_id": "...", "text": "...", "sent_at": "..."}

Acknowledgements go back signed the same way (mailbot/senders/generic.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mailbot.channels import DEFAULT_API_BASES
from mailbot.message import EVENT_MESSAGE, InboundMessage, SenderIdentity
from webhooks import (
    ChannelConfig,
    ChannelType,
    Rejected,
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
from webhooks.fields import unix_time

TIMESTAMP_HEADER = "X-Mailbot-Timestamp"
SIGNATURE_HEADER = "X-Mailbot-Signature"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Mailbot-Signature value for a body sent at `timestamp`, either way."""
    return "sha256=" + hmac_sha256_hex(secret, timestamp.encode() + b"." + body)


# -- verify ---------------------------------------------------------------------


def verify(request: WebhookRequest, channel: ChannelConfig) -> None:
    timestamp = required_header(request, TIMESTAMP_HEADER)
    given = required_header(request, SIGNATURE_HEADER)
    fresh_timestamp(timestamp, request.received_at)
    # Hex is hex in either case (some platforms' HMAC helpers print upper case).
    if not same_secret(signature(channel.secret, timestamp, request.body), given.lower()):
        raise Rejected(401, f"{SIGNATURE_HEADER} does not match")


# -- events ---------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    event_id: str
    sender_id: str
    sender_name: str
    email: str
    phone: str
    conversation_id: str
    text: str
    sent_at: datetime | None


class MalformedSubmission(ValueError):
    pass


def read_submission(body: dict[str, Any]) -> Submission:
    """The contract's fields, each checked: the sender's system learns at once (HTTP 400)
    what it got wrong, instead of a message that vanishes later."""
    sender = body.get("sender")
    if not isinstance(sender, dict):
        raise MalformedSubmission("sender must be an object with id and name")
    fields = {
        "event_id": body.get("event_id"),
        "sender.id": sender.get("id"),
        "conversation_id": body.get("conversation_id"),
        "text": body.get("text"),
    }
    for name, value in fields.items():
        if not isinstance(value, str) or not value.strip():
            raise MalformedSubmission(f"{name} must be a non-empty string")
    for name in ("name", "email", "phone"):
        if sender.get(name) is not None and not isinstance(sender.get(name), str):
            raise MalformedSubmission(f"sender.{name} must be a string")
    return Submission(
        event_id=body["event_id"],
        sender_id=sender["id"],
        sender_name=sender.get("name") or "",
        email=(sender.get("email") or "").strip(),
        phone=(sender.get("phone") or "").strip(),
        conversation_id=body["conversation_id"],
        text=body["text"],
        sent_at=_sent_at(body.get("sent_at")),
    )


def _sent_at(value: Any) -> datetime | None:
    """ISO 8601 (the contract's JSON timestamps) or Unix seconds; None when unreadable:
    the time it arrived stands in."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return unix_time(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return unix_time(value)


def events(request: WebhookRequest, channel: ChannelConfig) -> list[WebhookEvent]:
    body = json_object(request)
    try:
        submission = read_submission(body)
    except MalformedSubmission as error:
        raise Rejected(400, str(error)) from error
    return [WebhookEvent(submission.event_id, request.body)]


# -- normalize --------------------------------------------------------------------


def normalize(payload: bytes, channel: ChannelConfig) -> InboundMessage:
    try:
        submission = read_submission(stored_object(payload))
    except MalformedSubmission as error:
        raise UnreadableEvent(str(error)) from error
    reply_fields = {"conversation_id": submission.conversation_id, "recipient": submission.sender_id}
    if submission.phone:
        reply_fields["phone"] = submission.phone
    return InboundMessage(
        channel="generic",
        sender_type="generic",
        sender_address=submission.sender_id,
        sender_name=submission.sender_name,
        subject="",
        text=submission.text,
        # Event ids are the sending system's own, so two generic channels may both send
        # "1": the channel's name keeps them apart within the type.
        message_id=f"{channel.name}:{submission.event_id}",
        conversation_key=f"generic:{channel.name}:{submission.conversation_id}",
        event=EVENT_MESSAGE,
        date=submission.sent_at,
        # The address the sender gave: cross-channel identity will match it to a contact.
        recipients=[submission.email] if submission.email else [],
        reply_fields=reply_fields,
        claimed_identities=[
            SenderIdentity(kind, value)
            for kind, value in (("email", submission.email), ("phone", submission.phone))
            if value
        ],
        headers={},
    )


register(ChannelType("generic", verify, events, normalize, default_api_base=DEFAULT_API_BASES["generic"]))
