"""Dedupe: the same message seen twice (two mailboxes, a resync, a resend) is one message.

`load_seen` reads the stored messages that could be this one, in one statement;
`find_duplicate` decides over them without I/O.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Row, Select, and_, or_, select
from sqlalchemy.orm import Session

from mailbot.message import InboundMessage
from mailbot.pipeline.chunk_reads import reads_of
from mailbot.pipeline.subjects import normalize_subject
from mailbot.store.models import Message, Ticket
from mailbot.timeutil import as_utc

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class SeenMessage:
    """A message already on a ticket, as far as dedupe needs it."""

    id: int
    ticket_id: int
    ticket_ref: str
    channel: str
    internet_message_id: str | None
    content_hash: str
    from_address: str
    received_at: datetime  # aware UTC


def content_hash(msg: InboundMessage) -> str:
    """Same sender, subject, body and attachments: whitespace and case do not matter."""
    parts = [
        msg.channel,
        msg.sender_handle,
        normalize_subject(msg.subject),
        _SPACE.sub(" ", msg.text).strip().casefold(),
        # Chat media stays on the platform (size 0, a generic name): its reference is
        # what tells two photos of one customer apart. Mail keeps its old hash.
        *sorted(
            f"{a.filename}:{a.size}" + (f":{a.reference}" if a.reference else "") for a in msg.attachments
        ),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def window_start(now: datetime, window_seconds: int) -> datetime:
    return now - timedelta(seconds=window_seconds)


def find_duplicate(
    msg: InboundMessage, digest: str, seen: Sequence[SeenMessage], since: datetime
) -> SeenMessage | None:
    """The stored message this one repeats, or None.

    A Message-ID names one message for good (RFC 5322 §3.6.4), so the same id on the same
    channel is a duplicate however old. Without it, the same sender and content within the window
    (from `since` on, inclusive) is a resend; after the window it is a new request. A chat
    platform's message id is the whole truth: a customer who writes "ok" twice wrote twice.
    """
    if msg.message_id:
        for candidate in seen:
            if candidate.channel == msg.channel and candidate.internet_message_id == msg.message_id:
                return candidate
        if msg.channel != "email":
            return None
    sender = msg.sender_handle
    repeats = [
        c for c in seen if c.content_hash == digest and c.from_address == sender and c.received_at >= since
    ]
    return min(repeats, key=lambda c: c.id) if repeats else None


def load_seen(session: Session, msg: InboundMessage, digest: str, since: datetime) -> list[SeenMessage]:
    """Stored messages with this Message-ID, or this sender and content since `since`
    (read for the whole chunk when it is filed in one, chunk_reads.py)."""
    chunk = reads_of(session)
    if chunk is not None and chunk.answers_for(msg.sender_handle):
        return [row for row in chunk.seen if is_seen(row, msg, digest, since)]
    return [seen_message(row) for row in session.execute(seen_query(seen_condition(msg, digest, since)))]


def seen_condition(msg: InboundMessage, digest: str, since: datetime) -> ColumnElement[bool]:
    """The stored messages `msg` could repeat. Each arm of the OR has its own index (the
    channel's unique message id, the sender's recent messages): no table scan."""
    condition = and_(
        Message.content_hash == digest,
        Message.from_address == msg.sender_handle,
        Message.received_at >= since,
    )
    if msg.message_id:
        same_id = and_(Message.channel == msg.channel, Message.internet_message_id == msg.message_id)
        condition = or_(same_id, condition)
    return condition


def is_seen(row: SeenMessage, msg: InboundMessage, digest: str, since: datetime) -> bool:
    """`seen_condition`, on a row already read."""
    if msg.message_id and row.channel == msg.channel and row.internet_message_id == msg.message_id:
        return True
    return row.content_hash == digest and row.from_address == msg.sender_handle and row.received_at >= since


def seen_query(*conditions: ColumnElement[bool]) -> Select:
    return (
        select(
            Message.id,
            Message.ticket_id,
            Ticket.ref,
            Message.channel,
            Message.internet_message_id,
            Message.content_hash,
            Message.from_address,
            Message.received_at,
        )
        .join(Ticket, Ticket.id == Message.ticket_id)
        .where(or_(*conditions))
    )


def seen_message(row: Row) -> SeenMessage:
    return SeenMessage(
        id=row.id,
        ticket_id=row.ticket_id,
        ticket_ref=row.ref,
        channel=row.channel,
        internet_message_id=row.internet_message_id,
        content_hash=row.content_hash,
        from_address=row.from_address,
        received_at=as_utc(row.received_at),
    )
