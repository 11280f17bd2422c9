"""rq job entry points. They take row ids and build their runtime from the environment."""

from __future__ import annotations

from datetime import datetime

from mailbot.customers.lookup import due_lookup_ids, run_lookups
from mailbot.deliver import deliver_many
from mailbot.pipeline.process import Addresses, process_inbound
from mailbot.queue import OUTBOX_QUEUE, enqueue_delivery, enqueue_lookups, queue
from mailbot.runtime import Runtime, current_runtime
from mailbot.timeutil import utcnow

DELIVERY_GROUP = 20


def process_inbound_batch(inbound_ids: list[int]) -> dict[str, int]:
    """One job per batch: rq's per-job overhead is paid once per batch, not per message."""
    runtime = current_runtime()
    counts: dict[str, int] = {}
    promised: list[int] = []
    with runtime.sessions() as session:
        addresses = Addresses.load(session)  # once per batch: mailboxes rarely change
    for inbound_id in inbound_ids:
        outcome = process_inbound(runtime, inbound_id, addresses)
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        promised += outcome.outbox_ids
        # Handed to the outbox queue every few messages: one SMTP connection serves
        # the group, and the first customers of a large batch need not wait for the last.
        if len(promised) >= DELIVERY_GROUP:
            enqueue_delivery(runtime, promised)
            promised = []
    enqueue_delivery(runtime, promised)
    enqueue_due_lookups(runtime)
    return counts


def enqueue_due_lookups(runtime: Runtime) -> int:
    """Customer-data lookups owed by filed tickets (customers/lookup.py), as one job."""
    with runtime.sessions() as session:
        ids = due_lookup_ids(session, utcnow())
    enqueue_lookups(runtime, ids)
    return len(ids)


def lookup_customers_batch(lookup_ids: list[int]) -> dict[str, int]:
    return run_lookups(current_runtime(), lookup_ids)


def deliver_outbox_batch(outbox_ids: list[int]) -> dict[str, int]:
    runtime = current_runtime()
    counts: dict[str, int] = {}
    retries: dict[datetime, list[int]] = {}
    for result in deliver_many(runtime, outbox_ids):
        counts[result.status] = counts.get(result.status, 0) + 1
        if result.retry_at is not None:
            retries.setdefault(result.retry_at, []).append(result.outbox_id)
    for retry_at, ids in retries.items():
        # Needs a worker running with the scheduler; if none is, recovery finds the
        # due rows anyway.
        queue(runtime, OUTBOX_QUEUE).enqueue_at(
            retry_at, "mailbot.jobs.deliver_outbox_batch", ids, job_timeout=600
        )
    return counts
