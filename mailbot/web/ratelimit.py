"""Login throttling in Redis: failures counted per IP and e-mail, and per IP alone.

Per IP+e-mail stops guessing one account's password; the looser per-IP limit stops one
client from trying a common password against many accounts."""

from __future__ import annotations

import redis

WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_IP = 50
PREFIX = "mailbot:panel:login-failures"


def _keys(ip: str, email: str) -> tuple[str, str]:
    return f"{PREFIX}:{ip}:{email.strip().lower()}", f"{PREFIX}:{ip}"


def seconds_locked(client: redis.Redis, ip: str, email: str) -> int:
    """0 if a login attempt may go ahead, else how long until it may."""
    account_key, ip_key = _keys(ip, email)
    for key, limit in ((account_key, MAX_FAILURES_PER_ACCOUNT), (ip_key, MAX_FAILURES_PER_IP)):
        count = client.get(key)
        if count is not None and int(count) >= limit:
            return max(int(client.ttl(key)), 1)
    return 0


def record_failure(client: redis.Redis, ip: str, email: str) -> None:
    pipe = client.pipeline()
    for key in _keys(ip, email):
        pipe.incr(key)
        # The window starts at the first failure: a steady trickle cannot extend it forever.
        pipe.expire(key, WINDOW_SECONDS, nx=True)
    pipe.execute()


def clear_failures(client: redis.Redis, ip: str, email: str) -> None:
    client.delete(_keys(ip, email)[0])
