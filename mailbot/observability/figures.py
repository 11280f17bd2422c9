"""Everything /metrics shows, read at scrape time from the store and from Redis.

Reading is apart from rendering (metrics.py): a scrape loads one `Figures`, and a source
that does not answer leaves its figures out (None) instead of failing the whole scrape,
so a Redis outage still shows what the store knows, and says which source is down.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import redis
from rq import Queue
from rq.registry import FailedJobRegistry
from sqlalchemy import func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from mailbot.observability.ack_latency import LatencyCounts, read_ack_latency
from mailbot.observability.freshness import read_mailbox_current
from mailbot.queue import QUEUE_NAMES
from mailbot.runtime import Runtime
from mailbot.statuses import InboundStatus
from mailbot.store.models import Inbound, Mailbox, OutboxEntry, Ticket
from mailbot.timeutil import as_utc, utcnow

log = logging.getLogger("mailbot.metrics")

# For these the status says more than the classification: a duplicate of a customer's
# mail is not another customer message, and what is waiting or quarantined has none yet.
STATUS_KINDS = frozenset({InboundStatus.RECEIVED, InboundStatus.DUPLICATE, InboundStatus.QUARANTINED})


@dataclass(frozen=True)
class StoreFigures:
    inbound: dict[tuple[str, str], int]  # (channel, kind) -> messages
    acknowledgements: dict[tuple[str, str], int]  # (channel, status) -> outbox rows
    sla_breaches: int
    # mailbox name -> (enabled mailbox id, Unix time it was last known synced)
    mailbox_synced: dict[str, tuple[int, float]]


@dataclass(frozen=True)
class RedisFigures:
    queue_depth: dict[str, int]
    failed_jobs: int
    ack_latency: LatencyCounts
    mailbox_current: dict[int, float]  # mailbox id -> Unix time its poller said "current"


@dataclass(frozen=True)
class Figures:
    store: StoreFigures | None
    redis: RedisFigures | None
    now: float  # Unix time of the scrape


def inbound_kind(status: str, verdict: str | None) -> str:
    """What one stored inbound counts as: what classification made of it (customer,
    auto_reply, bounce, own_echo ...), or its status while it has no such answer."""
    if status in STATUS_KINDS or not verdict:
        return status
    return verdict


def load_figures(runtime: Runtime, client: redis.Redis) -> Figures:
    now = utcnow()
    store = _store_figures(runtime, now)
    mailbox_ids = [mailbox_id for mailbox_id, _ in store.mailbox_synced.values()] if store else []
    return Figures(store=store, redis=_redis_figures(client, mailbox_ids), now=now.timestamp())


def _store_figures(runtime: Runtime, now: datetime) -> StoreFigures | None:
    try:
        with runtime.sessions() as session:
            return StoreFigures(
                inbound=_inbound_counts(session),
                acknowledgements=_ack_counts(session),
                sla_breaches=_sla_breaches(session, now),
                mailbox_synced=_mailbox_synced(session),
            )
    except SQLAlchemyError as error:
        log.warning("metrics: the store does not answer: %s", error)
        return None


def _inbound_counts(session: Session) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    rows = session.execute(
        select(Inbound.channel, Inbound.status, Inbound.verdict, func.count()).group_by(
            Inbound.channel, Inbound.status, Inbound.verdict
        )
    )
    for channel, status, verdict, count in rows:
        key = (channel, inbound_kind(status, verdict))
        counts[key] = counts.get(key, 0) + count
    return counts


def _ack_counts(session: Session) -> dict[tuple[str, str], int]:
    rows = session.execute(
        select(OutboxEntry.channel, OutboxEntry.status, func.count())
        .where(OutboxEntry.kind == "ack")
        .group_by(OutboxEntry.channel, OutboxEntry.status)
    )
    return {(channel, status): count for channel, status, count in rows}


def _sla_breaches(session: Session, now: datetime) -> int:
    """Tickets whose first-response deadline passed before the first agent reply, or
    before now while nobody has replied."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(
                Ticket.first_response_due_at.is_not(None),
                or_(
                    Ticket.first_response_at > Ticket.first_response_due_at,
                    Ticket.first_response_at.is_(None) & (Ticket.first_response_due_at < now),
                ),
            )
        )
        or 0
    )


def _mailbox_synced(session: Session) -> dict[str, tuple[int, float]]:
    rows = session.execute(
        select(Mailbox.id, Mailbox.name, Mailbox.last_sync_at, Mailbox.created_at).where(
            Mailbox.enabled.is_(True)
        )
    )
    # Never synced: behind since it was added.
    return {
        name: (mailbox_id, as_utc(synced or created).timestamp())
        for mailbox_id, name, synced, created in rows
    }


def _redis_figures(client: redis.Redis, mailbox_ids: list[int]) -> RedisFigures | None:
    try:
        queues = {name: Queue(name, connection=client) for name in QUEUE_NAMES}
        return RedisFigures(
            queue_depth={name: q.count for name, q in queues.items()},
            failed_jobs=sum(FailedJobRegistry(queue=q).count for q in queues.values()),
            ack_latency=read_ack_latency(client),
            mailbox_current=read_mailbox_current(client, mailbox_ids),
        )
    except redis.RedisError as error:
        log.warning("metrics: Redis does not answer: %s", error)
        return None


def poller_lag(figures: Figures) -> dict[str, float]:
    """Seconds since each enabled mailbox was last known to hold nothing unstored."""
    if figures.store is None:
        return {}
    current = figures.redis.mailbox_current if figures.redis else {}
    return {
        name: max(figures.now - max(synced, current.get(mailbox_id, 0.0)), 0.0)
        for name, (mailbox_id, synced) in figures.store.mailbox_synced.items()
    }
