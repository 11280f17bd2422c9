"""The watchdog's place on rq's scheduler: a chain of jobs, each scheduled with
`enqueue_in` by the one before it and moved to the `sla` queue on time by the scheduler
that workers run (`work(with_scheduler=True)`, worker.py).

One chain at a time: a Redis key names the job that is the chain's next link. A job that
finds another link named there is a stale copy (its chain was replaced after a Redis
flush or a long wait) and ends its chain after doing its run, which is harmless because
the watchdog's levels are idempotent. The key expires when the chain breaks (a job lost
with Redis); the workers' due-work timer then starts a new one (`ensure_scheduled`).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from rq import get_current_job

from mailbot.queue import SLA_QUEUE, queue
from mailbot.runtime import Runtime

CHAIN_KEY = "mailbot:sla-watchdog:next"
WATCHDOG_JOB = "mailbot.jobs.watch_sla"


def _chain_ttl(interval: int) -> int:
    # Long enough for a link to wait behind a backlog in its queue before it counts as lost.
    return max(interval * 10, 120)


def schedule_next(runtime: Runtime, *, take_over: bool) -> str | None:
    """Schedule the next link; without `take_over`, only if no chain is running."""
    interval = runtime.settings.sla_watch_seconds
    job_id = f"mailbot-sla-watchdog-{secrets.token_hex(6)}"
    if not runtime.redis.set(CHAIN_KEY, job_id, ex=_chain_ttl(interval), nx=not take_over):
        return None
    queue(runtime, SLA_QUEUE).enqueue_in(
        timedelta(seconds=interval),
        WATCHDOG_JOB,
        job_id=job_id,
        job_timeout=600,
        result_ttl=60,
        failure_ttl=86400,
    )
    return job_id


def ensure_scheduled(runtime: Runtime) -> str | None:
    """Start the chain if none runs (worker start, and every recovery tick)."""
    if runtime.redis.exists(CHAIN_KEY):
        return None
    return schedule_next(runtime, take_over=False)


def continue_chain(runtime: Runtime) -> bool:
    """Called first thing by a link: schedule the next one if this link is the chain's
    (so a crash in this run does not end the chain). False: a stale copy."""
    job = get_current_job()
    current = runtime.redis.get(CHAIN_KEY)
    named = current.decode() if isinstance(current, bytes) else current
    if named is not None and (job is None or named != job.id):
        return False
    schedule_next(runtime, take_over=True)
    return True
