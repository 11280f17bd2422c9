"""The embedded Redis (redis_server.py) keeps queued work over a restart: stopped cleanly,
or killed with kill -9 as a crash of the machine would, it comes back with the jobs that
were waiting (append-only file, fsync every second)."""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from mailbot.config import Settings, load_settings
from mailbot.queue import INBOUND_QUEUE, enqueue_processing, job_row_ids, queue
from mailbot.redis_server import redis_url_for, stop_private_redis
from mailbot.runtime import Runtime


@pytest.fixture
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings with no MAILBOT_REDIS_URL: mailbot starts its own Redis in the data dir."""
    data_dir = tmp_path_factory.mktemp("embedded-redis")
    settings = dataclasses.replace(load_settings({"MAILBOT_DATA_DIR": str(data_dir)}), redis_url=None)
    assert not settings.redis_url
    try:
        yield settings
    finally:
        stop_private_redis(settings)


def queued_ids(settings: Settings) -> list[int]:
    url = redis_url_for(settings)  # starts it again if it is not running
    runtime = Runtime(settings=settings, redis_url=url)
    return [i for job in queue(runtime, INBOUND_QUEUE).get_jobs() for i in job_row_ids(job)]


def kill_private_redis(settings: Settings) -> None:
    pid = int((Path(settings.data_dir) / "redis" / "redis.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError("redis-server did not die")


@pytest.mark.parametrize("how", ["stopped", "killed"])
def test_queued_jobs_come_back_with_the_embedded_redis(embedded: Settings, how: str) -> None:
    url = redis_url_for(embedded)
    runtime = Runtime(settings=embedded, redis_url=url)
    enqueue_processing(runtime, [11, 12])
    enqueue_processing(runtime, [13])
    if how == "stopped":
        stop_private_redis(embedded)
    else:
        time.sleep(1.5)  # past the once-a-second fsync of the append-only file
        kill_private_redis(embedded)
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    assert sorted(queued_ids(embedded)) == [11, 12, 13]
