"""The one shape every inbound message takes once normalised, whatever its channel.

Sources store raw bytes; the normalise stage turns them into an InboundMessage;
every later stage (classify, identify, thread, enrich, acknowledge) reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# Sender identity types, as the ticket JSON's `sender.type` names them. `api`: an agent's
# reply or note written through the REST API, its value the token's name; `panel`: one
# written in the admin panel, its value the user's e-mail address; `cli`: a hand-off made
# with `mailbot tickets handoff`, its value `cli:<login>`.
SENDER_TYPES = (
    "email",
    "slack",
    "telegram",
    "whatsapp",
    "messenger",
    "instagram",
    "phone",
    "x",
    "generic",
    "api",
    "panel",
    "cli",
)


@dataclass(frozen=True)
class SenderIdentity:
    type: str  # one of SENDER_TYPES
    value: str  # address, user id, chat id, E.164 phone or X user id
    name: str = ""  # display name or @handle


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    # None when the part was larger than the configured limit: the raw
    # message still holds it, so nothing is lost, but it is not copied.
    data: bytes | None
    # Chat media stays on the platform: the id or URL to fetch it by.
    reference: str | None = None


@dataclass(frozen=True)
class ForwardedOrigin:
    """The original sender found inside a forwarded message's body."""

    address: str
    name: str
    subject: str
    date: str
    text: str
    # An address the forwarded sender's display name spells that is not theirs.
    claimed_address: str | None = None


# What a platform event is. Only a `message` can be a customer's; the others are
# recognised and never answered (classify.py has the rules).
EVENT_MESSAGE = "message"
EVENT_EDIT = "edit"  # the sender changed a message we hold: annotate it, nothing new
EVENT_DELETE = "delete"
EVENT_STATUS = "status"  # delivery or read receipt, a status update of ours
EVENT_REACTION = "reaction"
EVENT_MEMBERSHIP = "membership"  # joins, leaves, app-home opens, token revocations
EVENT_KINDS = (EVENT_MESSAGE, EVENT_EDIT, EVENT_DELETE, EVENT_STATUS, EVENT_REACTION, EVENT_MEMBERSHIP)


# The marker senders/smtp.py writes on every notification to agents, and classify reads:
# a copy that lands in a support mailbox is our own echo, never a ticket.
NOTIFICATION_HEADER = "X-Mailbot-Notification"


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
    channel: str  # the channel TYPE: "email", "slack", "telegram", ...
    sender_address: str  # lower-cased e-mail address, or the channel's user id / E.164 phone
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
    # Technical notes on what parsing had to repair; logged, not shown to agents.
    parse_warnings: list[str] = field(default_factory=list)

    # -- chat and social channels (empty for mail) --------------------------------
    sender_type: str = "email"  # one of SENDER_TYPES
    # Messages with the same key belong to one conversation: Slack channel + thread_ts,
    # Telegram chat id, WhatsApp/SMS phone pair, Messenger/Instagram PSID, X DM
    # conversation or tweet thread, a form submission.
    conversation_key: str = ""
    event: str = EVENT_MESSAGE  # one of EVENT_KINDS
    # For edits and deletions: the platform id of the message concerned.
    target_message_id: str | None = None
    # Written by a bot or by ourselves (Slack bot_id, Meta is_echo, our own X account).
    from_bot: bool = False
    from_us: bool = False
    # A group chat message the channel's `groups` option says we must not answer.
    unaddressed_group: bool = False
    public: bool = False  # a public post (an X mention): the reply is public too
    request_kind: str = "message"  # "callback": a call-me-back request agents must act on
    # What an answer in the same conversation needs (Slack channel and thread_ts,
    # Telegram chat_id, a phone number, a PSID, a tweet id ...): copied to the outbox.
    reply_fields: dict[str, str] = field(default_factory=dict)
    # A web form shows the visitor the reference before the ticket exists: it is kept.
    reserved_ref: str | None = None
    # What an agent must be told when reading this message (a display name posing as
    # another address); stored with the message and shown on the ticket.
    warnings: list[str] = field(default_factory=list)
    # Addresses and numbers the sender's system vouches for (a generic channel's
    # sender.email / sender.phone, as typed): identify links the contact by them.
    claimed_identities: list[SenderIdentity] = field(default_factory=list)
    # A staff member forwarded this customer's mail: who, and what they wrote above it.
    forwarded_by: str | None = None
    forward_note: str = ""

    @property
    def sender(self) -> SenderIdentity:
        return SenderIdentity(self.sender_type, self.sender_address, self.sender_name)

    @property
    def sender_handle(self) -> str:
        """The sender as stored and compared: e-mail addresses are case-blind in practice,
        platform ids are not (Slack's U2147483697 is not u2147483697)."""
        return self.sender_address.lower() if self.sender_type == "email" else self.sender_address
