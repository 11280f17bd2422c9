"""Redis leases with an owner token, so only the holder renews or frees them.

A lease says who should do a job (sync a mailbox), not whether it may be done: it is a
hint that keeps two pollers from doing the same work twice. So a holder keeps its token
for as long as it lives, and a key that holds our token is ours. When Redis restarts
with its data (the embedded Redis keeps an append-only file), the key comes back with
our token and we simply go on; without its data, the key is gone and we take it again.
Before, every (re)try drew a new token, and a poller that lost Redis for 10 s waited
out its own old lease for the full 90 s (issue 7).
"""

from __future__ import annotations

import secrets

import redis

# Compare-and-act in one round trip: a lease that expired and was taken by another
# process must not be renewed or deleted by its former holder.
_HOLD = """
local holder = redis.call('get', KEYS[1])
if holder == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
if not holder then
  redis.call('set', KEYS[1], ARGV[1], 'px', ARGV[2])
  return 1
end
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
        """Take the lease if it is free, or keep it if it is already ours (same token)."""
        return bool(self.client.eval(_HOLD, 1, self.key, self.token, self.ttl_ms))

    def renew(self) -> bool:
        """Extend the lease; False when another holder has it. A key that expired or was
        lost with Redis's data is free, and taken again rather than given up."""
        return self.acquire()

    def release(self) -> None:
        self.client.eval(_RELEASE, 1, self.key, self.token)

    def release_quietly(self) -> None:
        """Release on the way out; with Redis unreachable the lease just expires."""
        try:
            self.release()
        except redis.RedisError:
            pass
