"""Rate caps: the last guard against mail loops, after header-based classification.

An auto-responder that escapes every header check still cannot make us answer more
than a few times per window (peers.md: FreeScout caps at 10 per 3 hours, 2 per subject;
Zendesk holds a sender that bursts).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from mailbot.config import Settings
from mailbot.pipeline.chunk_reads import reads_of
from mailbot.store.models import Message, OutboxEntry


def ack_cap_reason(
    session: Session, address: str, normalized_subject: str, settings: Settings, now: datetime
) -> str | None:
    since = now - timedelta(seconds=settings.ack_cap_window_seconds)
    chunk = reads_of(session)
    if chunk is not None and chunk.answers_for(address):
        acks = chunk.acks_since(address, since)
        to_address = len(acks)
        on_subject = sum(1 for ack in acks if ack.normalized_subject == normalized_subject)
    else:
        # Both counts in one statement: every new ticket asks.
        same_subject = case((OutboxEntry.normalized_subject == normalized_subject, 1), else_=0)
        to_address, on_subject = session.execute(
            select(func.count(), func.coalesce(func.sum(same_subject), 0)).where(
                OutboxEntry.kind == "ack", OutboxEntry.to_address == address, OutboxEntry.created_at >= since
            )
        ).one()
    if to_address >= settings.ack_cap_per_address:
        return f"{settings.ack_cap_per_address} acknowledgements to {address} already in the window"
    if normalized_subject and on_subject >= settings.ack_cap_per_subject:
        return f"{settings.ack_cap_per_subject} acknowledgements for this subject already"
    return None


def burst_reason(session: Session, address: str, settings: Settings, now: datetime) -> str | None:
    since = now - timedelta(seconds=settings.ack_cap_window_seconds)
    chunk = reads_of(session)
    if chunk is not None and chunk.answers_for(address):
        count = chunk.received_since(address, since)
    else:
        count = (
            session.scalar(
                select(func.count()).where(Message.from_address == address, Message.received_at >= since)
            )
            or 0
        )
    if count >= settings.burst_hold_threshold:
        return f"{count} messages from {address} within the window: held for review"
    return None
