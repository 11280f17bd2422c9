"""Deliver outbox rows: claim them, hand them to their channel's sender, record each result.

Rows are delivered in batches, so a sender can reuse one connection for many messages;
each row still goes through claimed -> sending -> sent on its own (see outbox.py), and
its result is committed as soon as it is known.
"""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from mailbot import outbox
from mailbot.observability.ack_latency import arrival_of, record_ack_latency
from mailbot.observability.logs import log_fields
from mailbot.observability.redis_client import quick_client
from mailbot.runtime import Runtime
from mailbot.senders import SENDERS, PermanentFailure, TemporaryFailure
from mailbot.store.models import OutboxEntry, Ticket
from mailbot.timeutil import as_utc, utcnow

log = logging.getLogger("mailbot.outbox")


@dataclass(frozen=True)
class Delivery:
    outbox_id: int
    status: str  # sent | retry | failed | uncertain | skipped
    retry_at: datetime | None = None


class Handover:
    """What a sender reports to, message by message."""

    def __init__(self, runtime: Runtime, token: str, refs: dict[int, str] | None = None) -> None:
        self.runtime = runtime
        self.token = token
        self.refs = refs or {}  # ticket id -> ref, for the log lines
        self.begun: set[int] = set()
        self.results: dict[int, Delivery] = {}

    def begin(self, entry: OutboxEntry) -> bool:
        """Called right before the message is handed over (SMTP DATA). False: the claim
        was lost to another worker, and the sender must not hand it over."""
        with self.runtime.sessions.begin() as session:
            if not outbox.mark_sending(session, entry.id, self.token):
                return False
        self.begun.add(entry.id)
        return True

    def done(
        self, entry: OutboxEntry, failure: Exception | None = None, external_id: str | None = None
    ) -> None:
        with log_fields(outbox_id=entry.id, ticket_ref=self.refs.get(entry.ticket_id or 0)):
            self._done(entry, failure, external_id)

    def _done(self, entry: OutboxEntry, failure: Exception | None, external_id: str | None) -> None:
        if failure is None and entry.id in self.begun:
            self._sent(entry, external_id)
            return
        with self.runtime.sessions.begin() as session:
            row = session.get(OutboxEntry, entry.id, with_for_update=True)
            assert row is not None
            if not outbox.still_held(row, self.token):
                # Our claim expired and another worker took the row over: its result is
                # the one that counts, whatever happened here.
                log.warning("outbox %s (%s): claim lost, result dropped", row.id, row.key)
                self.results[entry.id] = Delivery(row.id, "skipped")
                return
            self.results[entry.id] = _record(session, row, failure, handed_over=entry.id in self.begun)

    def _sent(self, entry: OutboxEntry, external_id: str | None) -> None:
        """The common case, in one conditional statement."""
        arrived_at = None
        with self.runtime.sessions.begin() as session:
            sent = outbox.mark_sent(session, entry, self.token, external_id)
            if sent:
                log.info("outbox %s (%s) sent to %s", entry.id, entry.key, entry.to_address)
                if entry.kind == "ack" and entry.ticket_id:
                    arrived_at = arrival_of(session, entry.ticket_id, as_utc(entry.created_at))
            else:
                log.warning("outbox %s (%s): claim lost, result dropped", entry.id, entry.key)
        self.results[entry.id] = Delivery(entry.id, "sent" if sent else "skipped")
        if arrived_at is not None:
            # After the commit: only a send that is on record is counted.
            record_ack_latency(quick_client(self.runtime.redis_url), (utcnow() - arrived_at).total_seconds())


def _record(session, row: OutboxEntry, failure: Exception | None, *, handed_over: bool) -> Delivery:
    if isinstance(failure, PermanentFailure):
        outbox.mark_failed(session, row, str(failure))
        return Delivery(row.id, "failed")
    if isinstance(failure, TemporaryFailure):
        if handed_over and not failure.definite:
            # Cut off mid-handover: the server may have the message. Never resend blindly.
            outbox.mark_uncertain(row, str(failure))
            return Delivery(row.id, "uncertain")
        retry_at = outbox.mark_retry(session, row, str(failure), failure.retry_after)
        return Delivery(row.id, "retry" if retry_at else "failed", retry_at)
    return Delivery(row.id, "skipped")  # never handed over: nothing happened


def deliver_many(runtime: Runtime, outbox_ids: list[int]) -> list[Delivery]:
    load_senders()
    token = secrets.token_hex(16)
    claim_ttl = timedelta(seconds=runtime.settings.outbox_claim_ttl_seconds)
    with runtime.sessions.begin() as session:
        claimed = [e for e in (outbox.claim(session, i, token, claim_ttl) for i in outbox_ids) if e]
        ticket_ids = {e.ticket_id for e in claimed if e.ticket_id}
        refs: dict[int, str] = {}
        if ticket_ids:
            refs = {
                tid: ref
                for tid, ref in session.execute(
                    select(Ticket.id, Ticket.ref).where(Ticket.id.in_(ticket_ids))
                )
            }
    results = {i: Delivery(i, "skipped") for i in outbox_ids}
    groups: dict[tuple[str, int | None], list[OutboxEntry]] = defaultdict(list)
    for entry in claimed:
        groups[(entry.channel, entry.mailbox_id)].append(entry)
    for (channel, _), entries in groups.items():
        handover = Handover(runtime, token, refs)
        send = SENDERS.get(channel)
        try:
            if send is None:
                raise PermanentFailure(f"no sender for channel {channel!r}")
            # No transaction is open while talking to the far end: SQLite would hold
            # its write lock for the whole conversation.
            with log_fields(channel=channel):
                send(runtime, entries, handover)
        except (PermanentFailure, TemporaryFailure) as failure:
            for entry in entries:
                if entry.id not in handover.results:
                    handover.done(entry, failure)
        results.update(handover.results)
    return [results[i] for i in outbox_ids]


def deliver(runtime: Runtime, outbox_id: int) -> Delivery:
    return deliver_many(runtime, [outbox_id])[0]


def load_senders() -> None:
    """Import the sender modules so their @sender registrations exist."""
    import mailbot.senders.generic  # noqa: F401
    import mailbot.senders.messenger  # noqa: F401
    import mailbot.senders.slack  # noqa: F401
    import mailbot.senders.smtp  # noqa: F401
    import mailbot.senders.telegram  # noqa: F401
    import mailbot.senders.twilio  # noqa: F401
    import mailbot.senders.webhook  # noqa: F401
    import mailbot.senders.whatsapp  # noqa: F401
    import mailbot.senders.x  # noqa: F401
