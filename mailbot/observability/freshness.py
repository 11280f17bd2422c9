"""When each mailbox was last known to be fully synced, published by its poller.

The store's `last_sync_at` is set after each sync, but a poller in IDLE syncs only when
mail comes (or every five minutes): a quiet mailbox would look minutes behind while its
poller is watching it. So the poller also says "nothing new" each time it wakes from
IDLE (every few seconds); the lag is the time since the later of the two.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

import redis

log = logging.getLogger("mailbot.metrics")

KEY = "mailbot:metrics:mailbox_current"


def mark_mailbox_current(client: redis.Redis, mailbox_id: int, at: float | None = None) -> None:
    """The mailbox holds nothing we have not stored, as of `at` (Unix seconds)."""
    try:
        client.hset(KEY, str(mailbox_id), repr(time.time() if at is None else at))
    except redis.RedisError as error:
        log.debug("mailbox %s freshness not published: %s", mailbox_id, error)


def read_mailbox_current(client: redis.Redis, mailbox_ids: Iterable[int]) -> dict[int, float]:
    ids = list(mailbox_ids)
    if not ids:
        return {}
    values = client.hmget(KEY, [str(i) for i in ids])
    return {i: float(v) for i, v in zip(ids, values, strict=True) if v is not None}
