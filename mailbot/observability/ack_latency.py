"""Time from a customer's message arriving to its acknowledgement being sent, published
by the worker that sent it as a histogram in Redis.

The store could answer this too, but only by reading every acknowledgement ever sent at
each scrape; the worker knows the figure at the moment it commits the send, so it adds
it to the buckets then. The buckets are cumulative counters: a Redis that comes back
empty is a counter reset, which Prometheus' rate() expects.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.store.models import Inbound, Message
from mailbot.timeutil import as_utc

log = logging.getLogger("mailbot.metrics")

KEY = "mailbot:metrics:ack_latency"
# Seconds. The promise (issue 12) is p90 under 30 s and nothing over 60 s, so both are
# bounds; the long tail shows how late a broken SMTP server made the rest.
BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, math.inf)


@dataclass(frozen=True)
class LatencyCounts:
    """Cumulative bucket counts in BUCKETS order (the last is +Inf, so equals count)."""

    buckets: tuple[int, ...]
    total_seconds: float

    @property
    def count(self) -> int:
        return self.buckets[-1]


def bucket_field(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(bound)


def smallest_bucket(seconds: float) -> float:
    return next(bound for bound in BUCKETS if seconds <= bound)


def arrival_of(session: Session, ticket_id: int, promised_at: datetime) -> datetime | None:
    """When the message an acknowledgement answers arrived (IMAP INTERNALDATE, or when
    the webhook came in): the ticket's latest message stored before the promise was made.
    That is the one that opened the ticket for `ack:<ref>`, the joining one for a
    cross-channel `join:` answer; a message that joined later is not what was answered."""
    arrived = session.scalar(
        select(Inbound.arrived_at)
        .join(Message, Message.inbound_id == Inbound.id)
        .where(Message.ticket_id == ticket_id, Inbound.stored_at <= promised_at)
        .order_by(Message.id.desc())
        .limit(1)
    )
    return as_utc(arrived) if arrived is not None else None


def record_ack_latency(client: redis.Redis, seconds: float) -> None:
    """Add one observation. Never raises: a metric must not undo or delay a send."""
    # A mail server's clock ahead of ours would make it negative.
    seconds = max(seconds, 0.0)
    try:
        pipe = client.pipeline(transaction=True)
        # One field per bucket, each counting observations at or below its bound, so the
        # reader needs no arithmetic and a half-read hash is still consistent per field.
        for bound in BUCKETS:
            if seconds <= bound:
                pipe.hincrby(KEY, bucket_field(bound), 1)
        pipe.hincrbyfloat(KEY, "sum", seconds)
        pipe.execute()
    except redis.RedisError as error:
        log.debug("acknowledgement latency not recorded: %s", error)


def read_ack_latency(client: redis.Redis) -> LatencyCounts:
    raw = {_text(key): _text(value) for key, value in client.hgetall(KEY).items()}
    buckets = tuple(int(raw.get(bucket_field(bound), 0)) for bound in BUCKETS)
    return LatencyCounts(buckets=buckets, total_seconds=float(raw.get("sum", 0.0)))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
