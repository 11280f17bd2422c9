"""A private redis-server under the data dir, for the embedded setup.

When MAILBOT_REDIS_URL is unset every mailbot process (poller, worker, web) calls
`redis_url_for(settings)`; the first one starts redis-server, the others find it
answering on its unix socket. Jobs are persisted (append-only file, fsync every second)
so a restart of Redis or of the machine does not drop queued work; what is lost anyway
(the last second, or a Redis that comes back empty) is enqueued again from the store,
which is the source of truth (recovery.py).
"""

from __future__ import annotations

import fcntl
import logging
import shutil
import subprocess
import time
from pathlib import Path

import redis

from mailbot.config import Settings

log = logging.getLogger("mailbot.redis")


class RedisUnavailable(RuntimeError):
    pass


def redis_url_for(settings: Settings) -> str:
    if settings.redis_url:
        return settings.redis_url
    directory = settings.data_dir / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    socket = directory / "redis.sock"
    url = f"unix://{socket}"
    # One process at a time decides whether to start it.
    with open(directory / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _answers(url):
            _start(directory, socket)
            _wait_until_answering(url, directory)
    return url


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


def _start(directory: Path, socket: Path) -> None:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        raise RedisUnavailable(
            "redis-server is not installed and MAILBOT_REDIS_URL is not set; "
            "install it (apt-get install redis-server) or point MAILBOT_REDIS_URL at a server"
        )
    socket.unlink(missing_ok=True)
    log.info("starting private redis-server in %s", directory)
    subprocess.run(
        [
            binary,
            "--port",
            "0",  # no TCP listener: only our own processes talk to it
            "--unixsocket",
            str(socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(directory),
            "--appendonly",
            "yes",
            # fsync once a second: a crash of the machine loses at most the last second
            # of enqueues, and those rows are found again in the store (recovery.py).
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--daemonize",
            "yes",
            "--pidfile",
            str(directory / "redis.pid"),
            "--logfile",
            str(directory / "redis.log"),
        ],
        check=True,
    )


def _wait_until_answering(url: str, directory: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _answers(url):
            return
        time.sleep(0.05)
    tail = ""
    logfile = directory / "redis.log"
    if logfile.exists():
        tail = logfile.read_text(errors="replace")[-2000:]
    raise RedisUnavailable(f"private redis-server did not answer within {timeout}s:\n{tail}")


def stop_private_redis(settings: Settings) -> None:
    directory = settings.data_dir / "redis"
    url = f"unix://{directory / 'redis.sock'}"
    if _answers(url):
        try:
            redis.Redis.from_url(url).shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # shutdown closes the connection before answering
