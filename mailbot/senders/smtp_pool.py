"""SMTP connections kept open between delivery jobs in one worker process.

A delivery job is a group of at most 20 rows; opening a connection for each (TCP, the
greeting, EHLO, maybe TLS and AUTH) cost about as much as sending its first message. A
connection a job leaves in good order (its last reply a 2xx) waits here, keyed by
server and credentials, and the next job to that server takes it after a check:

- an idle connection older than IDLE_SECONDS is closed, not reused (RFC 5321 section
  4.5.3.2.7 lets a server drop it after 5 minutes; many do sooner);
- before reuse, RSET must answer 250: a server that closed the connection meanwhile is
  found out before anything is handed over, and the job connects afresh;
- a connection that saw any error is closed by its user, never given back.

The connections belong to an event loop, so the loop is kept too: one per thread
(`run`), reused by every job that thread runs. A forked child starts with none.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiosmtplib

IDLE_SECONDS = 60.0
CHECK_SECONDS = 5.0  # a server that answers nothing to RSET is not waited for as long as a send
MAX_IDLE_PER_SERVER = 4  # as many as one group opens at once (smtp.MAX_CONNECTIONS)

T = TypeVar("T")


@dataclass(frozen=True)
class ServerKey:
    host: str
    port: int
    security: str
    user: str
    password_digest: str  # connections logged in with other credentials are not shared


def server_key(host: str, port: int, security: str, user: str, password: str) -> ServerKey:
    digest = hashlib.sha256(password.encode("utf-8")).hexdigest()
    return ServerKey(host, port, security, user, digest)


@dataclass
class _Idle:
    client: aiosmtplib.SMTP
    since: float


@dataclass
class ConnectionPool:
    idle: dict[ServerKey, list[_Idle]] = field(default_factory=dict)

    async def take(self, key: ServerKey) -> aiosmtplib.SMTP | None:
        """An idle connection to `key` that answered RSET, or None."""
        waiting = self.idle.get(key, [])
        while waiting:
            entry = waiting.pop()
            if time.monotonic() - entry.since > IDLE_SECONDS or not entry.client.is_connected:
                close(entry.client)
                continue
            try:
                await entry.client.rset(timeout=CHECK_SECONDS)
            except (TimeoutError, aiosmtplib.SMTPException, OSError):
                close(entry.client)  # closed by the server while idle: connect afresh
                continue
            return entry.client
        return None

    def give_back(self, key: ServerKey, client: aiosmtplib.SMTP) -> None:
        """Keep a connection whose last exchange went well, for the next job."""
        self._close_expired()
        waiting = self.idle.setdefault(key, [])
        if not client.is_connected or len(waiting) >= MAX_IDLE_PER_SERVER:
            close(client)
            return
        waiting.append(_Idle(client, time.monotonic()))

    def _close_expired(self) -> None:
        now = time.monotonic()
        for key, waiting in list(self.idle.items()):
            for entry in [e for e in waiting if now - e.since > IDLE_SECONDS]:
                waiting.remove(entry)
                close(entry.client)
            if not waiting:
                del self.idle[key]


def close(client: aiosmtplib.SMTP) -> None:
    """Drop the connection without a word: after an error QUIT may hang or fail."""
    try:
        client.close()
    except Exception:  # noqa: BLE001 (already broken: nothing more to learn from it)
        pass


@dataclass
class _ThreadState:
    pid: int
    runner: asyncio.Runner
    pool: ConnectionPool


_local = threading.local()


def _state() -> _ThreadState:
    state: _ThreadState | None = getattr(_local, "state", None)
    if state is None or state.pid != os.getpid():
        # A forked child must not talk over its parent's sockets: it starts empty.
        state = _ThreadState(os.getpid(), asyncio.Runner(), ConnectionPool())
        _local.state = state
    return state


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, on this thread's lasting loop, so pooled connections stay usable."""
    return _state().runner.run(coroutine)


def pool() -> ConnectionPool:
    """This thread's pool; only to be used from inside `run`."""
    return _state().pool
