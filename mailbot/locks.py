"""Short Redis locks and leases with an owner token, so only the holder renews or frees them."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis

# Compare-and-act in one round trip: a lease that expired and was taken by another
# process must not be renewed or deleted by its former holder.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0"""


class Lease:
    def __init__(self, client: redis.Redis, key: str, ttl_seconds: float) -> None:
        self.client = client
        self.key = key
        self.ttl_ms = int(ttl_seconds * 1000)
        self.token = secrets.token_hex(16)

    def acquire(self) -> bool:
        return bool(self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))

    def renew(self) -> bool:
        return bool(self.client.eval(_RENEW, 1, self.key, self.token, self.ttl_ms))

    def release(self) -> None:
        self.client.eval(_RELEASE, 1, self.key, self.token)


class LockTimeout(Exception):
    pass


@contextmanager
def held_lock(
    client: redis.Redis, key: str, ttl_seconds: float = 60, wait_seconds: float = 60
) -> Iterator[Lease]:
    lease = Lease(client, key, ttl_seconds)
    deadline = time.monotonic() + wait_seconds
    while not lease.acquire():
        if time.monotonic() > deadline:
            raise LockTimeout(f"could not take {key} within {wait_seconds}s")
        time.sleep(0.01)
    try:
        yield lease
    finally:
        lease.release()
