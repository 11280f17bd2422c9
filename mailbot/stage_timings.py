"""Where a worker's time goes, stage by stage, when asked (`MAILBOT_STAGE_TIMINGS=1`).

The ingest benchmark's `--profile` turns it on for the workers it starts and reads the
sums back from Redis, so one figure per stage covers every worker process. Off, a stage
costs one perf_counter() pair and a dict update: nothing is sent anywhere.
"""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from mailbot.runtime import Runtime

log = logging.getLogger("mailbot.timings")

STAGE_TIMINGS_ENV = "MAILBOT_STAGE_TIMINGS"
SECONDS_KEY = "mailbot:stage-timings:seconds"
CALLS_KEY = "mailbot:stage-timings:calls"


class StageClock:
    """Seconds and calls per stage name, summed until published."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.calls: defaultdict[str, int] = defaultdict(int)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started
            self.calls[name] += 1

    def publish(self, runtime: Runtime) -> None:
        """Add the sums to Redis (when timings are on) and start again from zero."""
        seconds, calls = dict(self.seconds), dict(self.calls)
        self.seconds.clear()
        self.calls.clear()
        if not seconds or os.environ.get(STAGE_TIMINGS_ENV) != "1":
            return
        try:
            with runtime.redis.pipeline(transaction=False) as pipe:
                for name, value in seconds.items():
                    pipe.hincrbyfloat(SECONDS_KEY, name, value)
                    pipe.hincrby(CALLS_KEY, name, calls[name])
                pipe.execute()
        except redis.RedisError as error:  # a figure lost, nothing else
            log.debug("stage timings not published: %s", error)


def read_stage_timings(runtime: Runtime) -> dict[str, tuple[float, int]]:
    """Stage name -> (seconds, calls) summed over every worker since the key was made."""
    seconds = runtime.redis.hgetall(SECONDS_KEY)
    calls = runtime.redis.hgetall(CALLS_KEY)
    ordered = sorted(seconds.items(), key=lambda item: -float(item[1]))
    return {_text(name): (float(value), int(calls.get(name, 0))) for name, value in ordered}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
