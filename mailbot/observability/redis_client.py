"""The Redis client figures are published and read with: one that gives up at once.

redis-py retries a failed command ten times with backoff by default, about 3 s with Redis
down. A worker delivering acknowledgements while Redis is away, or a poller watching its
mailbox, must not wait that long for a figure, per message; and a probe has to answer
within its caller's timeout (a hung Redis is down, not a reason to hang with it).
"""

from __future__ import annotations

from functools import lru_cache

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

TIMEOUT_SECONDS = 2.0


@lru_cache(maxsize=8)
def quick_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        retry=Retry(NoBackoff(), 0),
        socket_timeout=TIMEOUT_SECONDS,
        socket_connect_timeout=TIMEOUT_SECONDS,
    )
