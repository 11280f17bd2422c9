"""Read, in one statement each, what every message of a filing chunk would have asked
the store on its own (chunk_reads.py says which reads, and why that is exact)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.config import Settings
from mailbot.message import InboundMessage
from mailbot.pipeline.chunk_reads import ChunkReads, SentAck
from mailbot.pipeline.dedupe import content_hash, seen_condition, seen_message, seen_query
from mailbot.pipeline.refs import new_ref
from mailbot.pipeline.returned import named_ids
from mailbot.store.models import Message, OutboxEntry, Ticket
from mailbot.timeutil import as_utc


def read_chunk(
    session: Session, messages: list[InboundMessage], settings: Settings, now: datetime
) -> ChunkReads:
    """From now on in this session (which ends with the chunk's transaction), the
    per-message reads of `messages` answer from rows read now. `now` must be no later
    than any message's own filing time: every window read opens earlier than theirs."""
    reads = _load(session, messages, settings, now)
    reads.install(session)
    return reads


def _load(session: Session, messages: list[InboundMessage], settings: Settings, now: datetime) -> ChunkReads:
    named = sorted({i for msg in messages for i in named_ids(msg)})
    own_ids: set[str] = set()
    if named:
        query = select(OutboxEntry.internet_message_id).where(OutboxEntry.internet_message_id.in_(named))
        own_ids = {found for found in session.scalars(query) if found}

    seen_since = now - timedelta(seconds=settings.duplicate_window_seconds)
    conditions = [seen_condition(msg, content_hash(msg), seen_since) for msg in messages]
    seen = [seen_message(row) for row in session.execute(seen_query(*conditions))] if conditions else []

    senders = sorted({msg.sender_handle for msg in messages} | {msg.sender_address for msg in messages})
    window_since = now - timedelta(seconds=settings.ack_cap_window_seconds)
    received: dict[str, list[datetime]] = {}
    for address, received_at in session.execute(
        select(Message.from_address, Message.received_at).where(
            Message.from_address.in_(senders), Message.received_at >= window_since
        )
    ):
        received.setdefault(address, []).append(as_utc(received_at))
    acks: dict[str, list[SentAck]] = {}
    for address, subject, created_at in session.execute(
        select(OutboxEntry.to_address, OutboxEntry.normalized_subject, OutboxEntry.created_at).where(
            OutboxEntry.kind == "ack",
            OutboxEntry.to_address.in_(senders),
            OutboxEntry.created_at >= window_since,
        )
    ):
        acks.setdefault(address, []).append(SentAck(address, subject, as_utc(created_at)))

    return ChunkReads(own_ids, seen, set(senders), received, acks, _free_refs(session, 2 * len(messages)))


def _free_refs(session: Session, count: int) -> list[str]:
    """Ticket references nobody holds, for the chunk's new tickets; `unused_ref` asks
    the store itself once they run out."""
    candidates = list(dict.fromkeys(new_ref() for _ in range(count)))
    taken = set(session.scalars(select(Ticket.ref).where(Ticket.ref.in_(candidates))))
    return [ref for ref in candidates if ref not in taken]
