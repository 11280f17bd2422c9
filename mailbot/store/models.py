"""The database tables. SQLite is the embedded default, PostgreSQL the production store;
Alembic migrations under mailbot/migrations create them (never `create_all` outside tests
of the migrations themselves)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from mailbot.statuses import InboundStatus, LookupStatus, OutboxStatus, TicketStatus
from mailbot.timeutil import utcnow


class Base(DeclarativeBase):
    pass


Timestamp = DateTime(timezone=True)
# RFC 3501 section 9: UIDs and UIDVALIDITY are 32-bit unsigned, beyond a signed INTEGER.
UID = BigInteger


class Mailbox(Base):
    __tablename__ = "mailboxes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    address: Mapped[str] = mapped_column(String(320))
    imap_host: Mapped[str] = mapped_column(String(255))
    imap_port: Mapped[int] = mapped_column(Integer)
    imap_security: Mapped[str] = mapped_column(String(10))  # tls | starttls | none
    imap_user: Mapped[str] = mapped_column(String(320))
    imap_secret: Mapped[str] = mapped_column(Text, default="")  # encrypted
    imap_folder: Mapped[str] = mapped_column(String(255), default="INBOX")
    auth_method: Mapped[str] = mapped_column(String(20), default="password")  # password | xoauth2
    oauth_provider: Mapped[str | None] = mapped_column(String(50))
    smtp_host: Mapped[str] = mapped_column(String(255))
    smtp_port: Mapped[int] = mapped_column(Integer)
    smtp_security: Mapped[str] = mapped_column(String(10))  # tls | starttls | none
    smtp_user: Mapped[str | None] = mapped_column(String(320))
    smtp_secret: Mapped[str] = mapped_column(Text, default="")  # encrypted
    after_process: Mapped[str] = mapped_column(String(10), default="keep")  # keep | seen | move
    move_to_folder: Mapped[str | None] = mapped_column(String(255))
    default_language: Mapped[str | None] = mapped_column(String(8))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Mail that arrived before this instant is history: imported, never acknowledged.
    ack_cutoff: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    last_sync_at: Mapped[datetime | None] = mapped_column(Timestamp)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(Timestamp)


class Channel(Base):
    """A chat or social channel, or a web form: where its webhooks come in and how we answer.

    `secret` verifies what comes in (Slack signing secret, Meta app secret, Twilio auth
    token ...); `token` is what we answer with. Both are encrypted (store/secrets.py)."""

    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("type", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(20))  # slack | telegram | whatsapp | ... | form
    name: Mapped[str] = mapped_column(String(100))
    secret: Mapped[str] = mapped_column(Text, default="")  # encrypted
    token: Mapped[str] = mapped_column(Text, default="")  # encrypted
    api_base: Mapped[str | None] = mapped_column(String(500))  # None: the platform's public API
    options: Mapped[str] = mapped_column(Text, default="{}")  # JSON object of strings
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(Timestamp)


class SyncState(Base):
    """Where the incremental sync of one folder stands (RFC 3501 section 2.3.1.1)."""

    __tablename__ = "sync_states"
    __table_args__ = (UniqueConstraint("mailbox_id", "folder"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    folder: Mapped[str] = mapped_column(String(255))
    uidvalidity: Mapped[int] = mapped_column(UID)
    last_uid: Mapped[int] = mapped_column(UID, default=0)


class Inbound(Base):
    """A raw message exactly as a source delivered it, stored before anything else happens."""

    __tablename__ = "inbound"
    # /metrics counts by these without reading the rows (and their raw bytes).
    __table_args__ = (Index("ix_inbound_channel_status_verdict", "channel", "status", "verdict"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # mailbox + folder + UIDVALIDITY + UID for IMAP; channel + event id for webhooks.
    source_key: Mapped[str] = mapped_column(String(600), unique=True)
    channel: Mapped[str] = mapped_column(String(30))
    mailbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="SET NULL"), index=True
    )
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id", ondelete="SET NULL"))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    raw_sha256: Mapped[str] = mapped_column(String(64), index=True)
    arrived_at: Mapped[datetime] = mapped_column(Timestamp)  # IMAP INTERNALDATE
    stored_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    may_acknowledge: Mapped[bool] = mapped_column(Boolean, default=True)
    # received -> processed | duplicate | ignored | quarantined
    status: Mapped[str] = mapped_column(String(20), default=InboundStatus.RECEIVED, index=True)
    error: Mapped[str | None] = mapped_column(Text)
    # What classification made of it (customer, auto_reply, bounce, own_echo), and why.
    verdict: Mapped[str | None] = mapped_column(String(20))
    verdict_reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When the latest attempt began: a recovered duplicate job leaves it alone meanwhile.
    processing_started_at: Mapped[datetime | None] = mapped_column(Timestamp)
    processed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    # Never set: it makes a flush write a new ticket before the rows naming it (id_pool.py).
    ticket: Mapped[Ticket | None] = relationship()
    imap_folder: Mapped[str | None] = mapped_column(String(255))
    imap_uidvalidity: Mapped[int | None] = mapped_column(UID)
    imap_uid: Mapped[int | None] = mapped_column(UID)
    # The mailbox's after-process policy (seen / move) has been applied on the server.
    server_done: Mapped[bool] = mapped_column(Boolean, default=False)


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(320), default="")
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    identities: Mapped[list[ContactIdentity]] = relationship(back_populates="contact")


class ContactIdentity(Base):
    """One handle of a contact on one channel (an address, a Telegram user id...)."""

    __tablename__ = "contact_identities"
    __table_args__ = (UniqueConstraint("channel", "handle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    # Where the handle is unique: a channel type, or "email" / "phone" for an address or an
    # E.164 number, whichever channel gave it, so two channels' same number meet.
    channel: Mapped[str] = mapped_column(String(30))
    handle: Mapped[str] = mapped_column(String(320))
    # The ticket JSON's identity type (message.SENDER_TYPES). None on rows filed before it
    # existed: `identity_type` derives it.
    kind: Mapped[str | None] = mapped_column(String(20))

    contact: Mapped[Contact] = relationship(back_populates="identities")

    @property
    def identity_type(self) -> str:
        if self.kind:
            return self.kind
        if self.channel in ("twilio", "form"):
            return "email" if "@" in self.handle else "phone"
        return self.channel


class IdentitySuggestion(Base):
    """Two contacts that may be one person, for an agent to merge or dismiss: the pipeline
    links identities itself only when the evidence is unambiguous."""

    __tablename__ = "identity_suggestions"
    __table_args__ = (UniqueConstraint("contact_id", "other_contact_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    other_contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    # Never set: a flush writes new contacts first (id_pool.py).
    contact: Mapped[Contact] = relationship(foreign_keys=[contact_id])
    other_contact: Mapped[Contact] = relationship(foreign_keys=[other_contact_id])
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    dismissed_at: Mapped[datetime | None] = mapped_column(Timestamp)


class ContactMerge(Base):
    """One merge of two contacts, with what it moved, so it can be undone.

    The merged contact is deleted (its tickets and identities live on the kept one); its
    fields, identities and tickets are recorded here, so unmerging recreates it with them.
    `merged_id` is the deleted contact's old id, kept as a plain number."""

    __tablename__ = "contact_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    kept_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    merged_id: Mapped[int] = mapped_column(Integer)
    # {"name", "email", "language": the merged contact's; "identity_ids", "ticket_ids": what
    #  moved; "filled": the kept contact's fields it filled}. Unmerging sets
    #  "restored_id", the recreated contact.
    moved: Mapped[dict] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(320), default="system")
    merged_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    unmerged_at: Mapped[datetime | None] = mapped_column(Timestamp)


# Every ticket starts in this queue until routing rules exist.
DEFAULT_QUEUE = "support"


class Ticket(Base):
    __tablename__ = "tickets"
    # The API lists tickets by last change (updated since, then a cursor on this order);
    # cross-channel dedupe reads one contact's recently active tickets; the prior context
    # one contact's newest tickets (migration 0016: a customer may have thousands).
    __table_args__ = (
        # /metrics counts SLA breaches by the deadline and the first reply.
        Index("ix_tickets_first_response_due_at", "first_response_due_at", "first_response_at"),
        Index("ix_tickets_updated_at_id", "updated_at", "id"),
        Index("ix_tickets_contact_id_updated_at", "contact_id", "updated_at"),
        Index("ix_tickets_contact_id_created_at_id", "contact_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=TicketStatus.OPEN, index=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    normalized_subject: Mapped[str] = mapped_column(String(500), default="", index=True)
    channel: Mapped[str] = mapped_column(String(30))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailboxes.id", ondelete="SET NULL"))
    # The support address the customer wrote to (an alias forwarding into the mailbox).
    support_address: Mapped[str | None] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(8), default="en")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    urgency_cues: Mapped[str] = mapped_column(Text, default="")
    held_for_review: Mapped[bool] = mapped_column(Boolean, default=False)
    hold_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(Timestamp)
    first_response_due_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # The first agent reply: it stops the first-response clock.
    first_response_at: Mapped[datetime | None] = mapped_column(Timestamp)
    queue: Mapped[str] = mapped_column(String(100), default=DEFAULT_QUEUE, index=True)
    assignee: Mapped[str | None] = mapped_column(String(320), index=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Triage (issue 9): what the customer wants and how soon, each with the cues that
    # decided it, and the routing rule that placed the ticket (null: none matched).
    intent: Mapped[str | None] = mapped_column(String(20))
    intent_cues: Mapped[str] = mapped_column(Text, default="")
    urgency: Mapped[str | None] = mapped_column(String(10))
    priority_cues: Mapped[str] = mapped_column(Text, default="")
    matched_rule: Mapped[str | None] = mapped_column(String(100))
    routing_reason: Mapped[str] = mapped_column(Text, default="")
    # Prior interaction context as at the ticket's opening (pipeline/context.py); its
    # attributes are filled in later when the customer-data lookup answers late.
    context: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Self-service (faq/): the FAQ entry ids the acknowledgement suggested, best first,
    # and the customer's answer (1 to 5) to the satisfaction question sent when solved.
    suggested_faq: Mapped[list[str] | None] = mapped_column(JSON)
    satisfaction_score: Mapped[int | None] = mapped_column(Integer)
    satisfaction_at: Mapped[datetime | None] = mapped_column(Timestamp)

    contact: Mapped[Contact] = relationship()
    messages: Mapped[list[Message]] = relationship(back_populates="ticket", order_by="Message.id")
    escalations: Mapped[list[Escalation]] = relationship(order_by="Escalation.level")


class Message(Base):
    """A message attached to a ticket: the customer's, an automatic one, or ours."""

    __tablename__ = "messages"
    # The burst check and the duplicate window look up one sender's recent messages; a
    # conversation's newest ticket is found from its key (migration 0016).
    __table_args__ = (
        Index("ix_messages_from_address_received_at", "from_address", "received_at"),
        Index("ix_messages_conversation_key_ticket_id", "conversation_key", "ticket_id"),
        UniqueConstraint("channel", "internet_message_id", name="uq_messages_channel_message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound.id", ondelete="SET NULL"))
    # The channel TYPE ("email", "slack" ...): message ids are unique per channel.
    channel: Mapped[str] = mapped_column(String(30), default="email")
    # RFC 5322 Message-ID without brackets, or the platform's message id; unique per
    # channel, so one mail delivered to two mailboxes is stored once.
    internet_message_id: Mapped[str | None] = mapped_column(String(998))
    # customer | auto_reply | bounce | callback; agent (a reply to the customer) | note (internal);
    # held (sent to an agent-reply address and not relayed, or an agent's WhatsApp reply after
    # the 24-hour window with no template to send: `reason` says why)
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    sender_type: Mapped[str] = mapped_column(String(20), default="email")  # message.SENDER_TYPES
    from_address: Mapped[str] = mapped_column(String(320))  # the sender identity's value
    from_name: Mapped[str] = mapped_column(String(320), default="")
    conversation_key: Mapped[str | None] = mapped_column(String(500))
    # Edits and deletions reported by the platform annotate the message they concern.
    edited_at: Mapped[datetime | None] = mapped_column(Timestamp)
    deleted_at: Mapped[datetime | None] = mapped_column(Timestamp)
    subject: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    quoted_text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    received_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    # A staff forward: the colleague who forwarded the customer's mail, and what they
    # wrote above it (the message itself is the customer's).
    forwarded_by: Mapped[str | None] = mapped_column(String(320))
    forward_note: Mapped[str | None] = mapped_column(Text)
    # A customer's forward: the sender of the message they forwarded to us.
    forwarded_from: Mapped[str | None] = mapped_column(String(320))
    # What an agent must be told when reading it (a display name posing as an address).
    warnings: Mapped[list[str] | None] = mapped_column(JSON)
    # Why the message is on this ticket (the deciding signal and its evidence) and how sure
    # that decision was, 0..1: shown to agents, who may split it out (mailbot/split.py).
    thread_reason: Mapped[str | None] = mapped_column(Text)
    thread_confidence: Mapped[float | None] = mapped_column(Float)

    ticket: Mapped[Ticket] = relationship(back_populates="messages")
    attachments: Mapped[list[Attachment]] = relationship(back_populates="message")


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(500))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes | None] = mapped_column(LargeBinary)  # None: over the size limit
    reference: Mapped[str | None] = mapped_column(String(1000))  # chat media: platform id or URL

    message: Mapped[Message] = relationship(back_populates="attachments")


class OutboxEntry(Base):
    """One thing we promised to send. The unique key makes 'exactly once' hold."""

    __tablename__ = "outbox"
    # /metrics counts acknowledgements by channel and status.
    __table_args__ = (Index("ix_outbox_kind_channel_status", "kind", "channel", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # e.g. ack:MB-7K3Q9P
    kind: Mapped[str] = mapped_column(String(30))  # ack | agent_reply | notification | handoff
    channel: Mapped[str] = mapped_column(String(30), default="email")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    # Never set: it makes a flush write a new ticket before the rows naming it (id_pool.py).
    ticket: Mapped[Ticket | None] = relationship()
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailboxes.id", ondelete="SET NULL"))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id", ondelete="SET NULL"))
    # What the channel's sender needs besides the text (Slack channel and thread_ts,
    # Telegram chat_id, a phone number ...): a JSON object of strings.
    channel_fields: Mapped[str] = mapped_column(Text, default="{}")
    # The id the platform gave the sent message (Slack ts, Telegram message_id, wamid):
    # agent replies thread on it, and a reply in a notification's Slack thread finds it.
    external_id: Mapped[str | None] = mapped_column(String(500), index=True)
    to_address: Mapped[str] = mapped_column(String(320), index=True)
    from_address: Mapped[str] = mapped_column(String(320))
    # The display name beside from_address (an agent's name on a relayed reply).
    from_name: Mapped[str] = mapped_column(String(320), default="")
    reply_to: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    internet_message_id: Mapped[str] = mapped_column(String(998), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    references: Mapped[str] = mapped_column(Text, default="")
    normalized_subject: Mapped[str] = mapped_column(String(500), default="")
    # pending -> sending -> sent; pending -> failed after too many attempts;
    # sending left by a crashed worker -> uncertain (held, never re-sent blindly).
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # Who holds the claim: a worker whose claim expired and was taken over must not
    # go on to hand the message over as well.
    claim_token: Mapped[str | None] = mapped_column(String(40))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(Timestamp)

    @property
    def fields(self) -> dict[str, str]:
        """channel_fields decoded: what the channel's sender needs besides the text."""
        try:
            value = json.loads(self.channel_fields or "{}")
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


class DeliveryTarget(Base):
    """Where a queue's new customer messages are delivered to agents (delivery.py).

    `kind` email: `address` is the agent's or team's address. slack: `channel_id` is the
    configured Slack channel posted through, `address` the Slack channel id (C123).
    webhook: `address` is the URL, `secret` (encrypted) signs each POST."""

    __tablename__ = "delivery_targets"
    __table_args__ = (UniqueConstraint("queue", "kind", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    queue: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # email | slack | webhook
    address: Mapped[str] = mapped_column(String(1000))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    secret: Mapped[str] = mapped_column(Text, default="")  # encrypted
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class Alert(Base):
    """Something an admin must see: a sync gap, a mailbox that fails, a held sender."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    detail: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(Timestamp)


class CustomerRecord(Base):
    """What a customer-data source knows of a customer, keyed by e-mail and/or phone.

    source "csv": `mailbot customers import`, kept until the next import replaces it.
    source "http": the lookup's answer, a cache trusted for the configured TTL.
    """

    __tablename__ = "customer_records"
    __table_args__ = (
        UniqueConstraint("source", "email", name="uq_customer_records_source_email"),
        UniqueConstraint("source", "phone", name="uq_customer_records_source_phone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(10))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(320), default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    fetched_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class CustomerLookup(Base):
    """A customer-data lookup owed to a ticket: filing never waits for the HTTP source,
    it leaves this row and a job fills the ticket's context in (customers/lookup.py)."""

    __tablename__ = "customer_lookups"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), unique=True)
    # Set on a ticket not yet written: its row is inserted before this one.
    ticket: Mapped[Ticket] = relationship()
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default=LookupStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class RoutingRule(Base):
    """One routing rule, evaluated in `position` order (pipeline/routing.py)."""

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # The rule as imported: {"name", "if": {...}, "then": {...}}.
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class SlaSettings(Base):
    """The SLA configuration as imported or edited (sla/config.py has its format); one row.
    No row: the built-in default."""

    __tablename__ = "sla_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class Escalation(Base):
    """One escalation level reached by a ticket (sla/watchdog.py). The unique pair is what
    makes each level happen once, however many watchdogs run."""

    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("ticket_id", "level", name="uq_escalations_ticket_level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    policy: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    # What the level did, for the panel: "notified mailto:leads@...; priority normal -> high".
    actions: Mapped[str] = mapped_column(Text, default="")
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
class CannedResponse(Base):
    """An answer agents reuse, one text per language, with {placeholders} filled from the
    ticket and customer when it is used (mailbot/canned.py)."""

    __tablename__ = "canned_responses"
    __table_args__ = (UniqueConstraint("name", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    language: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class TicketHandoff(Base):
    """An agent handing a ticket to a specialist queue or person (mailbot/ticket_handoff.py):
    who had it, who has it now, and the internal note that went with it."""

    __tablename__ = "ticket_handoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    from_queue: Mapped[str] = mapped_column(String(100))
    to_queue: Mapped[str] = mapped_column(String(100))
    from_assignee: Mapped[str | None] = mapped_column(String(320))
    to_assignee: Mapped[str | None] = mapped_column(String(320))
    note: Mapped[str] = mapped_column(Text, default="")
    handed_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
