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
from sqlalchemy import Connection, select
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


@dataclass(frozen=True)
class Promise:
    """An acknowledgement to time: its outbox row, its ticket and when it was promised."""

    outbox_id: int
    ticket_id: int
    promised_at: datetime


def arrivals_of(db: Session | Connection, promises: list[Promise]) -> dict[int, datetime]:
    """When the message each acknowledgement answers arrived (IMAP INTERNALDATE, or when
    the webhook came in), by outbox id: the ticket's latest message stored before the
    promise was made. That is the one that opened the ticket for `ack:<ref>`, the joining
    one for a cross-channel `join:` answer; a message that joined later is not what was
    answered. One query for a whole delivery group, read before anything is sent."""
    if not promises:
        return {}
    rows = db.execute(
        select(Message.ticket_id, Message.id, Inbound.stored_at, Inbound.arrived_at)
        .join(Inbound, Message.inbound_id == Inbound.id)
        .where(Message.ticket_id.in_({p.ticket_id for p in promises}))
    ).all()
    arrivals: dict[int, datetime] = {}
    for promise in promises:
        stored_before = [
            (message_id, arrived_at)
            for ticket_id, message_id, stored_at, arrived_at in rows
            if ticket_id == promise.ticket_id and as_utc(stored_at) <= as_utc(promise.promised_at)
        ]
        if stored_before:
            arrivals[promise.outbox_id] = as_utc(max(stored_before)[1])
    return arrivals


def record_ack_latencies(client: redis.Redis, observations: list[float]) -> None:
    """Add observations, in one transaction (a delivery group's). Never raises: a metric
    must not undo or delay a send."""
    if not observations:
        return
    # A mail server's clock ahead of ours would make one negative.
    observations = [max(seconds, 0.0) for seconds in observations]
    try:
        pipe = client.pipeline(transaction=True)
        # One field per bucket, each counting observations at or below its bound, so the
        # reader needs no arithmetic and a half-read hash is still consistent per field.
        for bound in BUCKETS:
            within = sum(1 for seconds in observations if seconds <= bound)
            if within:
                pipe.hincrby(KEY, bucket_field(bound), within)
        pipe.hincrbyfloat(KEY, "sum", sum(observations))
        pipe.execute()
    except redis.RedisError as error:
        log.debug("acknowledgement latency not recorded: %s", error)


def read_ack_latency(client: redis.Redis) -> LatencyCounts:
    raw = {_text(key): _text(value) for key, value in client.hgetall(KEY).items()}
    buckets = tuple(int(raw.get(bucket_field(bound), 0)) for bound in BUCKETS)
    return LatencyCounts(buckets=buckets, total_seconds=float(raw.get("sum", 0.0)))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
