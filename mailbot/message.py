"""The one shape every inbound message takes once normalised, whatever its channel.

Sources store raw bytes; the normalise stage turns them into an InboundMessage;
every later stage (classify, identify, thread, enrich, acknowledge) reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    # None when the part was larger than the configured limit: the raw
    # message still holds it, so nothing is lost, but it is not copied.
    data: bytes | None


@dataclass(frozen=True)
class ForwardedOrigin:
    """The original sender found inside a forwarded message's body."""

    address: str
    name: str
    subject: str
    date: str
    text: str


@dataclass(frozen=True)
class EnclosedMessage:
    """The headers of a message that a bounce or a complaint report carries back:
    attached (message/rfc822, text/rfc822-headers) or pasted into the text."""

    message_id: str | None  # without angle brackets
    sender_address: str  # "" when the copy names no sender
    subject: str
    reply_to: tuple[str, ...] = ()
    # Our X-Mailbot-Outbox header (senders/smtp.py writes it): the copy is of mail we sent.
    outbox_key: str | None = None


@dataclass
class InboundMessage:
    channel: str  # "email", "telegram", ...
    sender_address: str  # lower-cased e-mail address or channel handle
    sender_name: str
    subject: str
    text: str  # what the sender newly wrote: no quoted reply, no signature
    quoted_text: str = ""
    signature: str = ""
    html: str | None = None
    # Message-IDs are kept without angle brackets.
    message_id: str | None = None
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)  # To, Cc, Delivered-To, X-Original-To
    date: datetime | None = None
    # Lower-cased header name -> first value, as text; what classification reads.
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/plain"
    return_path: str | None = None  # None: header absent; "": the null path "<>"
    attachments: list[Attachment] = field(default_factory=list)
    forwarded: ForwardedOrigin | None = None
    # For delivery reports: the Message-ID of the message that bounced.
    bounced_message_id: str | None = None
    # The original a bounce, a complaint or an attached forward carries, if any.
    enclosed: EnclosedMessage | None = None
    language: str | None = None
    parse_warnings: list[str] = field(default_factory=list)
