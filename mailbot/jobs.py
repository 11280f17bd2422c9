"""rq job entry points. They take row ids and build their runtime from the environment."""

from __future__ import annotations

import logging

import redis

from mailbot.customers.lookup import enqueue_due_lookups, run_lookups
from mailbot.deliver import deliver_many
from mailbot.pipeline.batch import process_in_chunks
from mailbot.pipeline.process import Addresses
from mailbot.queue import enqueue_delivery
from mailbot.runtime import Runtime, current_runtime
from mailbot.stage_timings import StageClock

log = logging.getLogger("mailbot.outbox")

DELIVERY_GROUP = 20
# This worker process's time per stage, published to Redis after each job when asked
# (stage_timings.py).
CLOCK = StageClock()


def process_inbound_batch(inbound_ids: list[int]) -> dict[str, int]:
    """One job per batch: rq's per-job overhead is paid once per batch, not per message,
    and the batch is filed a chunk per transaction (pipeline/batch.py)."""
    runtime = current_runtime()
    counts: dict[str, int] = {}
    notifications: list[int] = []
    with CLOCK.stage("load addresses"), runtime.sessions() as session:
        addresses = Addresses.load(session)  # once per batch: mailboxes rarely change
    for outcomes in process_in_chunks(runtime, inbound_ids, addresses, CLOCK):
        promised: list[int] = []
        for outcome in outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
            promised += outcome.outbox_ids
            notifications += outcome.notify_ids
        # Handed to the outbox queue chunk by chunk: the first customers of a large batch
        # need not wait for the last.
        with CLOCK.stage("hand to outbox"):
            for start in range(0, len(promised), DELIVERY_GROUP):
                hand_to_outbox(runtime, promised[start : start + DELIVERY_GROUP])
    # After the acknowledgements, in jobs of their own: a webhook that times out or an
    # agent's mail server that refuses never delays what the customer was promised.
    for start in range(0, len(notifications), DELIVERY_GROUP):
        hand_to_outbox(runtime, notifications[start : start + DELIVERY_GROUP])
    # Customer-data lookups the batch owes: last, nobody waits for them.
    with CLOCK.stage("enqueue lookups"):
        enqueue_due_lookups(runtime)
    CLOCK.publish(runtime)
    return counts


def lookup_customers_batch(lookup_ids: list[int]) -> dict[str, int]:
    return run_lookups(current_runtime(), lookup_ids)


def watch_sla() -> dict[str, int]:
    """One run of the SLA watchdog, a link of its chain on rq's scheduler (sla/schedule.py)."""
    from mailbot.sla.schedule import continue_chain
    from mailbot.sla.watchdog import run_watchdog

    runtime = current_runtime()
    chained = continue_chain(runtime)
    promised = run_watchdog(runtime)
    hand_to_outbox(runtime, promised)
    return {"escalations": len(promised), "chained": int(chained)}


def hand_to_outbox(runtime: Runtime, outbox_ids: list[int]) -> None:
    """Enqueue the delivery of committed outbox rows; with Redis unreachable, deliver
    them here and now instead. The rest of the batch needs only the database, and the
    customers need not wait for Redis (issue 7: a Redis restart mid-job ended the worker,
    and the batch's remaining mail waited for recovery)."""
    if not outbox_ids:
        return
    try:
        enqueue_delivery(runtime, outbox_ids)
    except redis.RedisError as error:
        log.warning("outbox queue unavailable (%s): delivering %s rows in this job", error, len(outbox_ids))
        deliver_many(runtime, outbox_ids)


def deliver_outbox_batch(outbox_ids: list[int]) -> dict[str, int]:
    """Deliver; a temporary failure leaves its row pending with its next attempt time,
    and the workers' due-work timer enqueues it then (see due_work.py)."""
    runtime = current_runtime()
    counts: dict[str, int] = {}
    with CLOCK.stage("deliver"):
        for result in deliver_many(runtime, outbox_ids):
            counts[result.status] = counts.get(result.status, 0) + 1
    CLOCK.publish(runtime)
    return counts
