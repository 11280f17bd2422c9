"""Senders hand an outbox row to a channel. A sender is registered per channel name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from mailbot.runtime import Runtime
from mailbot.store.models import OutboxEntry


class TemporaryFailure(Exception):
    """Trying again later may work.

    `definite` says the far end answered (a 4xx): nothing was accepted. Without an
    answer (a dropped connection) a handover already begun may have succeeded.
    `retry_after`: seconds the far end asked us to wait (HTTP 429 Retry-After)."""

    def __init__(self, message: str, *, definite: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.definite = definite
        self.retry_after = retry_after


class PermanentFailure(Exception):
    """The channel refused the message for good (unknown recipient, rejected content)."""


class Handover(Protocol):
    def begin(self, entry: OutboxEntry) -> bool: ...

    def done(
        self, entry: OutboxEntry, failure: Exception | None = None, external_id: str | None = None
    ) -> None: ...


class Sender(Protocol):
    """Delivers entries of one channel and one mailbox, reporting each to `handover`:
    `begin(entry)` right before the point of no return, `done(entry, failure)` after.
    Raising a failure reports it for every entry not yet done."""

    def __call__(self, runtime: Runtime, entries: list[OutboxEntry], handover: Handover) -> None: ...


SENDERS: dict[str, Sender] = {}


def sender(channel: str) -> Callable[[Sender], Sender]:
    def register(function: Sender) -> Sender:
        SENDERS[channel] = function
        return function

    return register
