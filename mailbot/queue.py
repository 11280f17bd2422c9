"""The rq queues all background work goes through, and the jobs' entry points.

Jobs carry only row ids: the database is the source of truth, so a job that is lost
(a killed worker, a flushed Redis) is recreated by `recover_pending_work`.
"""

from __future__ import annotations

from rq import Queue
from rq.job import Job

from mailbot.runtime import Runtime

INBOUND_QUEUE = "inbound"
OUTBOX_QUEUE = "outbox"
# Customer-data lookups owed to filed tickets: last, they fill in context, nobody waits.
LOOKUP_QUEUE = "lookups"
# The SLA watchdog's runs (sla/schedule.py), put there on time by rq's scheduler.
SLA_QUEUE = "sla"
# History a newly added mailbox imports (never acknowledged): behind live mail, so a
# large import does not delay the answer to anyone writing now (issue 11).
HISTORY_QUEUE = "history"
# Workers take outbox jobs first: during a backlog of inbound mail, acknowledgements for
# what is already filed still go out at once. The watchdog comes before the inbound
# backlog: a run is short, and an escalation late by the backlog's length is no use.
QUEUE_NAMES = (OUTBOX_QUEUE, SLA_QUEUE, INBOUND_QUEUE, HISTORY_QUEUE, LOOKUP_QUEUE)
# The queues whose jobs carry inbound row ids (recovery and working sets read both).
PROCESSING_QUEUES = (INBOUND_QUEUE, HISTORY_QUEUE)


def queue(runtime: Runtime, name: str) -> Queue:
    return Queue(name, connection=runtime.redis)


# History goes in small jobs: a worker looks at the live queue again after each one, so
# live mail waits for at most one small job, not for an IMAP batch of history.
HISTORY_JOB_SIZE = 5


def enqueue_processing(runtime: Runtime, inbound_ids: list[int], *, history: bool = False) -> None:
    if history:
        for start in range(0, len(inbound_ids), HISTORY_JOB_SIZE):
            queue(runtime, HISTORY_QUEUE).enqueue(
                "mailbot.jobs.process_inbound_batch",
                inbound_ids[start : start + HISTORY_JOB_SIZE],
                job_timeout=600,
            )
    elif inbound_ids:
        queue(runtime, INBOUND_QUEUE).enqueue(
            "mailbot.jobs.process_inbound_batch", inbound_ids, job_timeout=600
        )


def enqueue_delivery(runtime: Runtime, outbox_ids: list[int]) -> None:
    if outbox_ids:
        queue(runtime, OUTBOX_QUEUE).enqueue("mailbot.jobs.deliver_outbox_batch", outbox_ids, job_timeout=600)


def enqueue_lookups(runtime: Runtime, lookup_ids: list[int]) -> None:
    if lookup_ids:
        queue(runtime, LOOKUP_QUEUE).enqueue(
            "mailbot.jobs.lookup_customers_batch", lookup_ids, job_timeout=600
        )


def job_row_ids(job: Job) -> list[int]:
    """The row ids a job of ours carries (its first argument); [] for anything else."""
    try:
        args = job.args
    except Exception:  # unreadable job data
        return []
    if args and isinstance(args[0], list):
        return [row_id for row_id in args[0] if isinstance(row_id, int)]
    return []
