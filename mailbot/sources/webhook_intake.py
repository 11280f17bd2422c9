"""Webhook events in: stored durably under their platform id, then enqueued.

The source key is `<type>:<channel name>:<event id>`. A platform retry (Slack's
X-Slack-Retry-Num, Meta's redeliveries) or a duplicate delivery carries the same id,
meets the unique key and is answered 200 without being stored or processed again.
"""

from __future__ import annotations

import hashlib
import logging

import redis
from sqlalchemy.dialects import postgresql, sqlite

from mailbot.queue import enqueue_processing
from mailbot.runtime import Runtime
from mailbot.statuses import InboundStatus
from mailbot.store.models import Inbound
from mailbot.timeutil import utcnow
from webhooks import WebhookEvent

log = logging.getLogger("mailbot.ingest")


def source_key(channel_type: str, channel_name: str, event_id: str) -> str:
    return f"{channel_type}:{channel_name}:{event_id}"[:600]


def store_events(
    runtime: Runtime,
    channel_id: int,
    channel_type: str,
    channel_name: str,
    events: list[WebhookEvent],
    *,
    mailbox_id: int | None = None,
) -> list[int]:
    """Ids of the rows newly stored; events already held are skipped. Commits before
    it enqueues: durable before acknowledged (shared/design.md)."""
    now = utcnow()
    new_ids: list[int] = []
    with runtime.sessions.begin() as session:
        dialect = session.get_bind().dialect.name
        make_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        for event in events:
            statement = (
                make_insert(Inbound)
                .values(
                    source_key=source_key(channel_type, channel_name, event.event_id),
                    channel=channel_type,
                    channel_id=channel_id,
                    mailbox_id=mailbox_id,
                    raw=event.payload,
                    raw_sha256=hashlib.sha256(event.payload).hexdigest(),
                    arrived_at=now,
                    stored_at=now,
                    may_acknowledge=True,
                    status=InboundStatus.RECEIVED,
                    attempts=0,
                    server_done=True,
                )
                .on_conflict_do_nothing(index_elements=["source_key"])
                .returning(Inbound.id)
            )
            row_id = session.execute(statement).scalar()
            if row_id is not None:
                new_ids.append(row_id)
    if new_ids:
        try:
            enqueue_processing(runtime, new_ids)
        except redis.RedisError as error:
            # Stored is what we promised the platform; recovery enqueues them later.
            log.warning(
                "%s/%s: stored %s events, enqueue failed: %s", channel_type, channel_name, new_ids, error
            )
    return new_ids
