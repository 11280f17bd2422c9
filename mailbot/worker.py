"""`mailbot worker`: an rq worker on the inbound and outbox queues.

SimpleWorker runs jobs in its own process instead of forking one per job: forking
costs more than processing a batch of mail, and crash safety does not come from the
fork (a job killed with its worker is recreated from the database by recovery).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from rq import SimpleWorker

from mailbot.handoff import ReadyPump, pump_once
from mailbot.jobs import enqueue_due_lookups
from mailbot.queue import QUEUE_NAMES, queue
from mailbot.recovery import recover_pending_work
from mailbot.runtime import Runtime

log = logging.getLogger("mailbot.worker")

MAINTENANCE_SECONDS = 30


class MailbotWorker(SimpleWorker):
    runtime: Runtime

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        # Rows untouched for a minute have lost their job (a killed worker, a lost
        # Redis); younger ones are most likely still queued.
        recover_pending_work(self.runtime, min_age=timedelta(minutes=1))
        # Lookups that failed are due again after their delay; a lost job's too.
        enqueue_due_lookups(self.runtime)


def run_worker(runtime: Runtime, *, burst: bool, with_scheduler: bool = True) -> None:
    # Webhook events handed over while no worker ran become jobs before recovery looks,
    # so recovery does not enqueue them a second time.
    while pump_once(runtime, wait_seconds=0):
        pass
    recover_pending_work(runtime)
    worker = MailbotWorker(
        [queue(runtime, name) for name in QUEUE_NAMES],
        connection=runtime.redis,
        maintenance_interval=MAINTENANCE_SECONDS,
    )
    worker.runtime = runtime
    pump = None if burst else ReadyPump(runtime)
    if pump is not None:
        pump.start()
    try:
        worker.work(burst=burst, with_scheduler=with_scheduler and not burst, logging_level="WARNING")
    finally:
        if pump is not None:
            pump.stop()
