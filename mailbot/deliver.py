"""Deliver outbox rows: claim, hand to the channel's sender, record what happened."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from mailbot import outbox
from mailbot.runtime import Runtime
from mailbot.senders import SENDERS, PermanentFailure, TemporaryFailure
from mailbot.store.models import OutboxEntry

log = logging.getLogger("mailbot.outbox")


@dataclass(frozen=True)
class Delivery:
    outbox_id: int
    status: str  # sent | retry | failed | uncertain | skipped
    retry_at: datetime | None = None


def deliver(runtime: Runtime, outbox_id: int) -> Delivery:
    load_senders()
    sessions = runtime.sessions
    settings = runtime.settings
    token = secrets.token_hex(16)
    with sessions.begin() as session:
        claimed = outbox.claim(
            session, outbox_id, token, timedelta(seconds=settings.outbox_claim_ttl_seconds)
        )
        if claimed is None:
            return Delivery(outbox_id, "skipped")
        channel = claimed.channel
        entry = claimed

    handed_over = False

    def before_handover() -> bool:
        nonlocal handed_over
        with sessions.begin() as marking:
            handed_over = outbox.mark_sending(marking, outbox_id, token)
        return handed_over

    send = SENDERS.get(channel)
    error: Exception | None = None
    try:
        if send is None:
            raise PermanentFailure(f"no sender for channel {channel!r}")
        # No transaction is open while talking to the far end: SQLite would hold its
        # write lock for the whole conversation.
        send(runtime, entry, before_handover)
    except (PermanentFailure, TemporaryFailure) as failure:
        error = failure

    with sessions.begin() as session:
        entry = session.get(OutboxEntry, outbox_id)
        assert entry is not None
        if isinstance(error, PermanentFailure):
            outbox.mark_failed(session, entry, str(error))
            return Delivery(outbox_id, "failed")
        if isinstance(error, TemporaryFailure):
            if handed_over and not error.definite:
                # Cut off mid-handover: the server may have the message. Never resend blindly.
                entry.status = "uncertain"
                entry.last_error = str(error)
                return Delivery(outbox_id, "uncertain")
            retry_at = outbox.mark_retry(session, entry, str(error))
            return Delivery(outbox_id, "retry" if retry_at else "failed", retry_at)
        if not handed_over:
            return Delivery(outbox_id, "skipped")
        outbox.mark_sent(session, entry)
        log.info("outbox %s (%s) sent to %s", entry.id, entry.key, entry.to_address)
        return Delivery(outbox_id, "sent")


def load_senders() -> None:
    """Import the sender modules so their @sender registrations exist."""
    import mailbot.senders.smtp  # noqa: F401
