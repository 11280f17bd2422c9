"""What each worker's job is about right now, so recovery can tell lost work from work
in progress.

A row that is neither waiting in a queue nor carried by a running job has lost its job
(a worker killed with `kill -9`, a Redis that lost its data). rq's own registry of
running jobs keeps a dead worker's job for minutes, so recovery used to wait until a
row was a minute old, and a claim on an outbox row ran for ten minutes: a killed
worker's customers were answered one to ten minutes late (issue 7). Here each worker
writes its job's row ids under a key that lives six seconds and is written again
every two seconds by the worker's timer (due_work.py): a killed worker's key is gone
six seconds later, and its rows come back at the next recovery.
"""

from __future__ import annotations

import logging
import threading

import redis

from mailbot.runtime import Runtime

log = logging.getLogger("mailbot.recovery")

KEY_PREFIX = "mailbot:working"
# Written again every DUE_SECONDS (2 s): two refreshes may fail before it lapses.
TTL_MS = 6_000


class WorkingSet:
    """The row ids of the job this worker runs, if any, kept alive in Redis."""

    def __init__(self, runtime: Runtime, worker_name: str) -> None:
        self.runtime = runtime
        self.worker_name = worker_name
        self._lock = threading.Lock()
        self._current: tuple[str, list[int]] | None = None

    def begin(self, queue_name: str, row_ids: list[int]) -> None:
        with self._lock:
            self._current = (queue_name, row_ids)
        self.refresh()

    def end(self) -> None:
        with self._lock:
            current, self._current = self._current, None
        if current is not None:
            try:
                self.runtime.redis.delete(self._key(current[0]))
            except redis.RedisError:
                pass  # it lapses by itself

    def refresh(self) -> None:
        """Write the key again (not only extend it: a restarted Redis gets it back)."""
        with self._lock:
            current = self._current
        if current is None:
            return
        queue_name, row_ids = current
        try:
            self.runtime.redis.set(self._key(queue_name), ",".join(map(str, row_ids)), px=TTL_MS)
        except redis.RedisError as error:
            # Without the key, recovery may enqueue these rows again: harmless, since
            # jobs are idempotent and delivery claims a row before it sends.
            log.debug("could not record the rows in progress: %s", error)

    def _key(self, queue_name: str) -> str:
        return f"{KEY_PREFIX}:{queue_name}:{self.worker_name}"


def ids_in_progress(runtime: Runtime, queue_name: str) -> set[int]:
    """Row ids carried by the jobs of `queue_name` that live workers are running."""
    keys = list(runtime.redis.scan_iter(match=f"{KEY_PREFIX}:{queue_name}:*", count=500))
    ids: set[int] = set()
    for value in runtime.redis.mget(keys) if keys else []:
        text = value.decode() if isinstance(value, bytes) else str(value or "")
        ids.update(int(part) for part in text.split(",") if part.isdigit())
    return ids
