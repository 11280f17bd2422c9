"""rq job entry points. They take row ids and build their runtime from the environment."""

from __future__ import annotations

from datetime import datetime

from mailbot.deliver import deliver_many
from mailbot.pipeline.process import Addresses, process_inbound
from mailbot.queue import OUTBOX_QUEUE, enqueue_delivery, queue
from mailbot.runtime import current_runtime

DELIVERY_GROUP = 20


def process_inbound_batch(inbound_ids: list[int]) -> dict[str, int]:
    """One job per batch: rq's per-job overhead is paid once per batch, not per message."""
    runtime = current_runtime()
    counts: dict[str, int] = {}
    promised: list[int] = []
    notifications: list[int] = []
    with runtime.sessions() as session:
        addresses = Addresses.load(session)  # once per batch: mailboxes rarely change
    for inbound_id in inbound_ids:
        outcome = process_inbound(runtime, inbound_id, addresses)
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        promised += outcome.outbox_ids
        notifications += outcome.notify_ids
        # Handed to the outbox queue every few messages: one SMTP connection serves
        # the group, and the first customers of a large batch need not wait for the last.
        if len(promised) >= DELIVERY_GROUP:
            enqueue_delivery(runtime, promised)
            promised = []
    enqueue_delivery(runtime, promised)
    # After the acknowledgements, in jobs of their own: a webhook that times out or an
    # agent's mail server that refuses never delays what the customer was promised.
    for start in range(0, len(notifications), DELIVERY_GROUP):
        enqueue_delivery(runtime, notifications[start : start + DELIVERY_GROUP])
    return counts


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
