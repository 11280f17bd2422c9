"""Recreate lost work from the database, the source of truth.

A killed worker loses the rq job it was running, a flushed Redis loses every queued
job; the rows they were about stay `received`, `pending` or `claimed`. Workers run this
at start and then every few seconds (see due_work.py), so such rows are picked up again.
Jobs are idempotent, so a row enqueued twice is harmless.

Harmless but not free: under a backlog (thousands of messages at once) most waiting
rows are merely queued, not lost, and re-enqueueing all of them from every worker
every 30 s filled the queues with jobs that only skipped rows, ahead of new mail.
So rows that a job still waiting in a queue carries are left alone, and so are those
that a live worker's running job carries (working.py).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from rq.job import Job
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot import outbox
from mailbot.queue import (
    OUTBOX_QUEUE,
    PROCESSING_QUEUES,
    enqueue_delivery,
    enqueue_processing,
    job_row_ids,
    queue,
)
from mailbot.runtime import Runtime
from mailbot.statuses import InboundStatus, OutboxStatus
from mailbot.store.models import Inbound, OutboxEntry
from mailbot.timeutil import utcnow
from mailbot.working import ids_in_progress

log = logging.getLogger("mailbot.recovery")

BATCH = 200
# A job says what it carries right after it is dequeued; a claim younger than this may
# belong to a job that has not said so yet (or to a worker whose Redis just came back
# empty and that writes its working set again within a few seconds).
ORPHAN_GRACE = timedelta(seconds=6)


def recover_pending_work(
    runtime: Runtime, *, min_age: timedelta = timedelta(0), leave_running: bool = True
) -> tuple[int, int]:
    """Enqueue inbound rows still waiting and outbox rows due, and give back claims of
    dead workers; returns the counts enqueued. Rows younger than `min_age` are left to
    the job that is about to carry them; with `leave_running`, so are rows that live
    workers' running jobs carry. A worker starting passes False: when it is a killed
    worker restarted by its process manager, its own rows come back at once, before its
    old working set lapses (another worker's running job then just skips them)."""
    # Read before the database, queues first: a job dequeued in between has either
    # finished (its rows are no longer selected) or is running, and says so in its
    # worker's working set, read next.
    inbound_queued = set().union(*(_ids_queued(runtime, name) for name in PROCESSING_QUEUES))
    outbox_queued = _ids_queued(runtime, OUTBOX_QUEUE)
    outbox_running = ids_in_progress(runtime, OUTBOX_QUEUE)
    if leave_running:
        inbound_queued |= set().union(*(ids_in_progress(runtime, name) for name in PROCESSING_QUEUES))
        outbox_queued |= outbox_running
    now = utcnow()
    with runtime.sessions.begin() as session:
        outbox.settle_abandoned(
            session,
            claim_ttl=timedelta(seconds=runtime.settings.outbox_claim_ttl_seconds),
            sending_ttl=timedelta(seconds=runtime.settings.outbox_sending_ttl_seconds),
            now=now,
        )
        outbox.release_orphaned_claims(session, outbox_running, now - max(min_age, ORPHAN_GRACE), now)
        waiting = [
            (row_id, may_acknowledge)
            for row_id, may_acknowledge in session.execute(
                select(Inbound.id, Inbound.may_acknowledge)
                .where(Inbound.status == InboundStatus.RECEIVED, Inbound.stored_at <= now - min_age)
                .order_by(Inbound.id)
            )
            if row_id not in inbound_queued
        ]
        inbound_ids = [row_id for row_id, live in waiting if live]
        history_ids = [row_id for row_id, live in waiting if not live]
        outbox_ids = [
            row_id
            for row_id in session.scalars(
                select(OutboxEntry.id)
                .where(OutboxEntry.status == OutboxStatus.PENDING, OutboxEntry.next_attempt_at <= now)
                .order_by(OutboxEntry.id)
            )
            if row_id not in outbox_queued
        ]
    for start in range(0, len(inbound_ids), BATCH):
        enqueue_processing(runtime, inbound_ids[start : start + BATCH])
    for start in range(0, len(history_ids), BATCH):
        enqueue_processing(runtime, history_ids[start : start + BATCH], history=True)
    for start in range(0, len(outbox_ids), BATCH):
        enqueue_delivery(runtime, outbox_ids[start : start + BATCH])
    if waiting or outbox_ids:
        log.info("recovered %s inbound and %s outbox rows", len(waiting), len(outbox_ids))
    return len(waiting), len(outbox_ids)


def enqueue_due_retries(runtime: Runtime) -> int:
    """Enqueue outbox rows whose next attempt is due (a temporary failure's retry, a claim
    given back); returns how many. New rows are not looked at: their job carries them.

    Called every few seconds, so cheap when nothing is due: one query on the few
    pending rows; the queue is read only when there is something to compare with it.
    """
    now = utcnow()
    with runtime.sessions() as session:
        due = _due_retries(session, now)
    if not due:
        return 0
    queued = _ids_queued(runtime, OUTBOX_QUEUE) | ids_in_progress(runtime, OUTBOX_QUEUE)
    # Read again after the queue, the order used above: a row whose job left the queue
    # meanwhile has most likely been claimed by now (if not, it is delivered once anyway).
    with runtime.sessions() as session:
        outbox_ids = [row_id for row_id in _due_retries(session, now) if row_id not in queued]
    for start in range(0, len(outbox_ids), BATCH):
        enqueue_delivery(runtime, outbox_ids[start : start + BATCH])
    if outbox_ids:
        log.info("enqueued %s due outbox retries", len(outbox_ids))
    return len(outbox_ids)


def _due_retries(session: Session, now: datetime) -> list[int]:
    return list(
        session.scalars(
            select(OutboxEntry.id)
            .where(
                OutboxEntry.status == "pending",
                OutboxEntry.attempts > 0,
                OutboxEntry.next_attempt_at <= now,
            )
            .order_by(OutboxEntry.id)
        )
    )


def _ids_queued(runtime: Runtime, name: str) -> set[int]:
    """Row ids carried by jobs still waiting in queue `name`: a worker will run them.

    Running jobs are not counted: one whose worker was killed stays in rq's started
    registry until it expires, and its rows must come back at once, as before.
    Scheduled retries are not counted either: their rows are not due yet, so the
    query above does not select them.
    """
    rq_queue = queue(runtime, name)
    ids: set[int] = set()
    for job in Job.fetch_many(rq_queue.get_job_ids(), connection=runtime.redis):
        if job is not None:  # None: its data expired or was deleted, its rows are lost
            ids.update(job_row_ids(job))  # unreadable job data: its rows are lost too
    return ids
