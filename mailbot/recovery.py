"""Recreate lost work from the database, the source of truth.

A killed worker loses the rq job it was running, a flushed Redis loses every queued
job; the rows they were about stay `received` or `pending`. Workers run this at start
and then periodically, so such rows are picked up again. Jobs are idempotent, so a
row enqueued twice is harmless.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from mailbot import outbox
from mailbot.queue import enqueue_delivery, enqueue_processing
from mailbot.runtime import Runtime
from mailbot.store.models import Inbound, OutboxEntry
from mailbot.timeutil import utcnow

log = logging.getLogger("mailbot.recovery")

BATCH = 200


def recover_pending_work(runtime: Runtime, *, min_age: timedelta = timedelta(0)) -> tuple[int, int]:
    """Enqueue inbound rows still waiting and outbox rows due; returns their counts."""
    now = utcnow()
    with runtime.sessions.begin() as session:
        outbox.settle_abandoned(
            session,
            claim_ttl=timedelta(seconds=runtime.settings.outbox_claim_ttl_seconds),
            sending_ttl=timedelta(seconds=runtime.settings.outbox_sending_ttl_seconds),
            now=now,
        )
        inbound_ids = list(
            session.scalars(
                select(Inbound.id)
                .where(Inbound.status == "received", Inbound.stored_at <= now - min_age)
                .order_by(Inbound.id)
            )
        )
        outbox_ids = list(
            session.scalars(
                select(OutboxEntry.id)
                .where(OutboxEntry.status == "pending", OutboxEntry.next_attempt_at <= now)
                .order_by(OutboxEntry.id)
            )
        )
    for start in range(0, len(inbound_ids), BATCH):
        enqueue_processing(runtime, inbound_ids[start : start + BATCH])
    for start in range(0, len(outbox_ids), BATCH):
        enqueue_delivery(runtime, outbox_ids[start : start + BATCH])
    if inbound_ids or outbox_ids:
        log.info("recovered %s inbound and %s outbox rows", len(inbound_ids), len(outbox_ids))
    return len(inbound_ids), len(outbox_ids)
