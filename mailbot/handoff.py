"""From the web process to the workers: ids of stored webhook events, in one Redis push.

A webhook answer waits for what happens before it. An rq job per request cost more than
storing the event (two Redis transactions and a pickled job, measured: about half of
the request), so the web process only RPUSHes the new row ids onto READY_LIST. Each
worker runs a ReadyPump thread that blocks on that list and turns whatever has gathered
into one processing job: no added delay, and a burst of events becomes one batch.

Nothing is lost in between: the rows are committed before the push, and a push lost
with a dead Redis, or ids popped by a worker killed before it enqueued them, leave rows
`received` that recovery enqueues again (recovery.py).
"""

from __future__ import annotations

import logging
import threading

import redis

from mailbot.queue import enqueue_processing
from mailbot.runtime import Runtime

log = logging.getLogger("mailbot.ingest")

READY_LIST = "mailbot:inbound:ready"
BATCH = 200
WAIT_SECONDS = 1


def hand_over(runtime: Runtime, inbound_ids: list[int]) -> None:
    """Called after the commit; a Redis error is logged, not raised (recovery covers it)."""
    if not inbound_ids:
        return
    try:
        runtime.redis.rpush(READY_LIST, *inbound_ids)
    except redis.RedisError as error:
        log.warning("stored inbound %s; hand-over to the workers failed: %s", inbound_ids, error)


def pump_once(runtime: Runtime, wait_seconds: float = WAIT_SECONDS) -> list[int]:
    """Wait for ready ids (not at all with wait_seconds=0), take what has gathered (up to
    BATCH), enqueue them as one job."""
    ids: list[int] = []
    if wait_seconds > 0:  # BLPOP's timeout 0 would mean "forever"
        first = runtime.redis.blpop([READY_LIST], timeout=wait_seconds)
        if first is None:
            return []
        ids.append(int(first[1]))
    more = runtime.redis.lpop(READY_LIST, BATCH - len(ids)) or []
    ids += [int(value) for value in more]
    enqueue_processing(runtime, ids)
    return ids


class ReadyPump(threading.Thread):
    def __init__(self, runtime: Runtime) -> None:
        super().__init__(name="ready-pump", daemon=True)
        self.runtime = runtime
        self.stopped = threading.Event()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=WAIT_SECONDS + 5)

    def run(self) -> None:
        failing = False
        while not self.stopped.is_set():
            try:
                pump_once(self.runtime)
                failing = False
            except Exception as error:  # Redis away: wait, then go on; recovery holds the rows
                if not failing:
                    log.warning("ready pump: %s", error)
                failing = True
                self.stopped.wait(1)
