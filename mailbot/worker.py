"""`mailbot worker`: an rq worker on the inbound and outbox queues, that outlives Redis.

SimpleWorker runs jobs in its own process instead of forking one per job: forking
costs more than processing a batch of mail, and crash safety does not come from the
fork (a job killed with its worker is recreated from the database by recovery).

rq quits when Redis goes away in the middle of a job ("found an unhandled exception,
quitting"), and cannot start while Redis is down: the product then depended on a
process manager to come back (issue 7). So `run_worker` waits for Redis, with backoff,
before the first start and after every such exit, and starts a fresh rq worker.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from types import FrameType
from typing import Any

import redis
from rq import Queue, SimpleWorker
from rq.exceptions import StopRequested
from rq.job import Job

from mailbot.due_work import DueWorkTimer
from mailbot.handoff import ReadyPump, pump_once
from mailbot.language import warm_up
from mailbot.queue import QUEUE_NAMES, job_row_ids, queue
from mailbot.recovery import recover_pending_work
from mailbot.runtime import Runtime
from mailbot.sla.schedule import ensure_scheduled
from mailbot.working import WorkingSet

log = logging.getLogger("mailbot.worker")

# Waiting for a lost Redis: first retry soon, then at most this far apart. A restart
# takes seconds, and every second of waiting is a second a customer waits.
REDIS_FIRST_RETRY_SECONDS = 0.25
REDIS_MAX_RETRY_SECONDS = 1.0


class MailbotWorker(SimpleWorker):
    # rq rides out a lost Redis by itself while it waits for a job, but backs off up to a
    # minute between tries; ours should pick up a restarted Redis within seconds.
    max_connection_wait_time = REDIS_MAX_RETRY_SECONDS
    stopping = False
    working: WorkingSet | None = None

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True  # rq's own flag is set only when a stop waits for a job
        super().request_stop(signum, frame)

    def execute_job(self, job: Job, queue: Queue) -> None:
        if self.working is None:
            super().execute_job(job, queue)
            return
        # Said before the job runs, so recovery leaves its rows alone while it does.
        self.working.begin(queue.name, job_row_ids(job))
        try:
            super().execute_job(job, queue)
        finally:
            self.working.end()


WARM_LOG = "worker warm: language models loaded"


def _warm_up() -> None:
    started = time.monotonic()
    warm_up()
    # benchmarks/ingest.py waits for this line before it starts its clock.
    log.info("%s in %.1f s", WARM_LOG, time.monotonic() - started)


def run_worker(runtime: Runtime, *, burst: bool) -> None:
    """Work until SIGTERM or SIGINT (with `burst`, until the queues are empty). Losing
    Redis is never a reason to exit: the worker waits for it and starts again."""
    stop = threading.Event()
    signals = _StopSignals(stop)
    working = WorkingSet(runtime, f"{socket.gethostname()}.{os.getpid()}")
    # A burst worker only keeps its working set alive; due work is for the long-lived ones.
    timer = DueWorkTimer(runtime, working, enqueue_due=not burst)
    timer.start()
    threading.Thread(target=_warm_up, name="language-warm-up", daemon=True).start()
    # Webhook events the web process handed over (handoff.py) become jobs at once.
    pump = None if burst else ReadyPump(runtime)
    if pump is not None:
        pump.start()
    previous: MailbotWorker | None = None
    try:
        while True:
            signals.install()  # rq leaves its handlers behind, bound to a worker that is gone
            if not wait_for_redis(runtime, stop):
                return
            if previous is not None:
                _bury(previous)
            worker = previous = MailbotWorker(
                [queue(runtime, name) for name in QUEUE_NAMES], connection=runtime.redis
            )
            worker.working = working
            try:
                # Handed-over events become jobs before recovery looks, so it does not
                # enqueue them a second time.
                while pump_once(runtime, wait_seconds=0):
                    pass
                recover_pending_work(runtime, leave_running=False)
                if not burst:
                    ensure_scheduled(runtime)  # the SLA watchdog's chain of scheduled runs
                if stop.is_set():
                    return
                # rq's scheduler (one worker holds its lock) moves the watchdog's
                # scheduled runs to their queue on time.
                worker.work(burst=burst, logging_level="WARNING", with_scheduler=not burst)
            except StopRequested:
                return
            except redis.RedisError as error:
                log.warning("worker lost Redis (%s); starting again once it answers", error)
            else:
                if not (worker.stopping or stop.is_set() or burst):
                    log.warning("worker stopped without being asked to; starting again")
            if worker.stopping or stop.is_set():
                return
            if burst and not _work_waiting(runtime):
                return
    finally:
        signals.restore()
        timer.stop()
        if pump is not None:
            pump.stop()


def _bury(worker: MailbotWorker) -> None:
    """What an rq worker that quit on a lost Redis could not tidy up itself: its thread
    listening for commands, its scheduler process, and its entry among the live workers."""
    if worker.pubsub_thread is not None:
        worker.pubsub_thread.stop()
    if worker.scheduler is not None:
        worker.stop_scheduler()  # its process, else orphaned beside the next worker's
    try:
        worker.register_death()
    except redis.RedisError:
        pass  # Redis went away again: the entry expires with its heartbeat


def wait_for_redis(runtime: Runtime, stop: threading.Event) -> bool:
    """Until Redis answers (True) or a stop is requested (False)."""
    delay = REDIS_FIRST_RETRY_SECONDS
    warned = False
    while not stop.is_set():
        try:
            runtime.redis.ping()
            if warned:
                log.warning("Redis answers again")
            return True
        except redis.RedisError as error:
            if not warned:
                log.warning("waiting for Redis: %s", error)
                warned = True
        stop.wait(delay)
        delay = min(delay * 2, REDIS_MAX_RETRY_SECONDS)
    return False


def _work_waiting(runtime: Runtime) -> bool:
    try:
        return any(queue(runtime, name).count for name in QUEUE_NAMES)
    except redis.RedisError:
        return True  # unknown: wait for Redis and look again


class _StopSignals:
    """SIGTERM and SIGINT set `stop` while no rq worker runs; rq installs its own while
    it works. Only the main thread may install handlers (a test may run us elsewhere)."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.previous: dict[int, Any] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            handler = signal.signal(signum, self._request_stop)
            self.previous.setdefault(signum, handler)

    def restore(self) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)

    def _request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop.set()
