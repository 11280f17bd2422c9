"""A timer in each worker that enqueues due work on time, whatever the worker is doing.

rq runs a worker's maintenance between dequeues, and an idle worker waits for a job up
to 405 s: the "every 30 s" recovery did not run while it idled, and SMTP retries due at
a given second went out over a minute later, when some other job happened to arrive
(issue 7). Retries and recovery are not left to rq's scheduler, whose lock a killed worker
holds for minutes: this thread asks the database (the source of truth) every DUE_SECONDS
for due retries, and every RECOVERY_SECONDS for lost jobs and claims of dead workers. It
keeps its worker's working set alive (working.py), and restarts the SLA watchdog's chain
on rq's scheduler if Redis lost it (sla/schedule.py): a late watchdog run costs a few
seconds of an escalation, a late retry a customer's answer.

Cheap and idempotent: with nothing due a tick costs one indexed query; one worker per
tick does it (a Redis key that expires with the tick), and a row enqueued twice is
delivered once, since delivery claims it first.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from datetime import timedelta

from mailbot.customers.lookup import enqueue_due_lookups
from mailbot.recovery import enqueue_due_retries, recover_pending_work
from mailbot.runtime import Runtime
from mailbot.sla.schedule import ensure_scheduled
from mailbot.working import WorkingSet

log = logging.getLogger("mailbot.recovery")

DUE_SECONDS = 2.0
RECOVERY_SECONDS = 5.0
# Rows neither queued nor carried by a live worker's job (working.py) have lost their
# job once they are this old; younger ones may be on their way into a queue.
LOST_AFTER = timedelta(seconds=6)


class DueWorkTimer(threading.Thread):
    """Every DUE_SECONDS: keep the worker's working set alive, and (`enqueue_due`) take
    this tick's turn at due retries or at recovery."""

    def __init__(self, runtime: Runtime, working: WorkingSet, *, enqueue_due: bool = True) -> None:
        super().__init__(name="due-work", daemon=True)
        self.runtime = runtime
        self.working = working
        self.enqueue_due = enqueue_due
        self.token = secrets.token_hex(8)
        self.stopped = threading.Event()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)

    def run(self) -> None:
        next_recovery = time.monotonic() + RECOVERY_SECONDS
        failing = False
        while not self.stopped.wait(DUE_SECONDS):
            self.working.refresh()
            if not self.enqueue_due:
                continue
            try:
                if time.monotonic() >= next_recovery and self._turn("recovery", RECOVERY_SECONDS):
                    next_recovery = time.monotonic() + RECOVERY_SECONDS
                    recover_pending_work(self.runtime, min_age=LOST_AFTER)
                    enqueue_due_lookups(self.runtime)  # failed lookups due again, lost jobs
                    ensure_scheduled(self.runtime)  # the SLA watchdog's chain, lost with Redis
                elif self._turn("retries", DUE_SECONDS):
                    enqueue_due_retries(self.runtime)
                failing = False
            except Exception as error:  # Redis or the database away: the next tick tries again
                if not failing:
                    log.warning("could not look for due work: %s", error)
                failing = True

    def _turn(self, name: str, seconds: float) -> bool:
        """Whether this worker does `name` now: the first to ask in each period does."""
        key = f"mailbot:due-work:{name}"
        # A little shorter than the period, so the next tick finds it expired.
        return bool(self.runtime.redis.set(key, self.token, nx=True, px=int(seconds * 900)))
