"""Deliver outbox rows: claim them, hand them to their channel's sender, record each result.

Rows are delivered in batches, so a sender can reuse one connection for many messages;
each row still goes through claimed -> sending -> sent on its own (see outbox.py), and
its result is committed as soon as it is known, at the latest together with the next
row's `sending`.
"""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from mailbot import outbox
from mailbot.observability.ack_latency import Promise, arrivals_of, record_ack_latencies
from mailbot.observability.logs import log_fields
from mailbot.observability.redis_client import quick_client
from mailbot.runtime import Runtime
from mailbot.senders import SENDERS, PermanentFailure, TemporaryFailure
from mailbot.store.db import engine_for
from mailbot.store.models import OutboxEntry, Ticket
from mailbot.timeutil import as_utc, utcnow

log = logging.getLogger("mailbot.outbox")


@dataclass(frozen=True)
class Delivery:
    outbox_id: int
    status: str  # sent | retry | failed | uncertain | skipped
    retry_at: datetime | None = None


class Handover:
    """What a sender reports to, message by message.

    A message the far end accepted is recorded `sent` in the same transaction that marks
    the next one `sending` (or by `finish`): one commit per message instead of two, and
    the order of the two facts is kept. When the group's connections run side by side,
    the messages accepted meanwhile on all of them wait for that next transaction too
    (committing each on arrival made it 1.5 commits per message). A crash thus leaves
    each connection with at most one message in doubt: the one on its wire, or the one
    it had handed over and not yet recorded; never one it could send again.

    Those two steps, which every message takes, are Core statements on one connection
    held for the group (no ORM flush, no connection checkout and ping per message); a
    failure, which is rare, is recorded through the ORM as before."""

    def __init__(
        self,
        runtime: Runtime,
        token: str,
        refs: dict[int, str] | None = None,
        arrivals: dict[int, datetime] | None = None,
    ) -> None:
        self.runtime = runtime
        self.token = token
        self.refs = refs or {}  # ticket id -> ref, for the log lines
        self.arrivals = arrivals or {}  # outbox id -> when the message it answers arrived
        self.begun: set[int] = set()
        self.results: dict[int, Delivery] = {}
        self._accepted: list[tuple[OutboxEntry, str | None]] = []
        self._latencies: list[float] = []  # ack latencies of committed sends, published by finish()
        self._connection: Connection | None = None

    def begin(self, entry: OutboxEntry) -> bool:
        """Called right before the message is handed over (SMTP DATA). False: the claim
        was lost to another worker, and the sender must not hand it over."""
        connection = self._connection_for_group()
        try:
            with connection.begin():
                self._record_accepted(connection)
                held = outbox.mark_sending(connection, entry.id, self.token)
        except SQLAlchemyError as error:
            # The group's connection went away (PostgreSQL restarted, the backend was
            # killed): nothing was handed over, so this and the rest are retried on a
            # fresh connection, never failed for good.
            self._drop_connection()
            raise TemporaryFailure(f"database unavailable: {error}", definite=True) from error
        self._accepted = []
        if held:
            self.begun.add(entry.id)
        return held

    def done(
        self, entry: OutboxEntry, failure: Exception | None = None, external_id: str | None = None
    ) -> None:
        with self._log_fields(entry):
            self._done(entry, failure, external_id)

    def _log_fields(self, entry: OutboxEntry) -> AbstractContextManager[None]:
        # Also around a send recorded later, by the next begin() or by finish().
        ticket_ref = self.refs.get(entry.ticket_id or 0)
        return log_fields(outbox_id=entry.id, ticket_ref=ticket_ref, channel=entry.channel)

    def _done(self, entry: OutboxEntry, failure: Exception | None, external_id: str | None) -> None:
        if failure is None and entry.id in self.begun:
            self._accepted.append((entry, external_id))  # recorded by the next begin(), or finish()
            return
        with self.runtime.sessions.begin() as session:
            self._record_accepted(session)
            self._record_failure(session, entry, failure)
        self._accepted = []

    def finish(self) -> None:
        """Record what is still only known here; the sender is done with its entries."""
        try:
            if self._accepted:
                connection = self._connection_for_group()
                with connection.begin():
                    self._record_accepted(connection)
                self._accepted = []
        finally:
            self._drop_connection()
        # After the commits: only a send that is on record is counted.
        record_ack_latencies(quick_client(self.runtime.redis_url), self._latencies)
        self._latencies = []

    def _drop_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _connection_for_group(self) -> Connection:
        if self._connection is None:
            self._connection = engine_for(self.runtime.settings.database_url).connect()
        return self._connection

    def _record_accepted(self, db: Session | Connection) -> None:
        for entry, external_id in self._accepted:
            self._mark_sent(db, entry, external_id)

    def _mark_sent(self, db: Session | Connection, entry: OutboxEntry, external_id: str | None) -> None:
        sent = outbox.mark_sent(db, entry, self.token, external_id)
        with self._log_fields(entry):
            if sent:
                log.info("outbox %s (%s) sent to %s", entry.id, entry.key, entry.to_address)
            else:
                log.warning("outbox %s (%s): claim lost, result dropped", entry.id, entry.key)
        arrived_at = self.arrivals.get(entry.id)
        if sent and arrived_at is not None:
            self._latencies.append((utcnow() - arrived_at).total_seconds())
        self.results[entry.id] = Delivery(entry.id, "sent" if sent else "skipped")

    def _record_failure(self, session: Session, entry: OutboxEntry, failure: Exception | None) -> None:
        row = session.get(OutboxEntry, entry.id, with_for_update=True)
        assert row is not None
        if not outbox.still_held(row, self.token):
            # Our claim expired and another worker took the row over: its result is
            # the one that counts, whatever happened here.
            log.warning("outbox %s (%s): claim lost, result dropped", row.id, row.key)
            self.results[entry.id] = Delivery(row.id, "skipped")
            return
        self.results[entry.id] = _record(session, row, failure, handed_over=entry.id in self.begun)


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
        claimed = outbox.claim_many(session, outbox_ids, token, claim_ttl)
        ticket_ids = {e.ticket_id for e in claimed if e.ticket_id}
        refs: dict[int, str] = {}
        if ticket_ids:
            refs = {
                tid: ref
                for tid, ref in session.execute(
                    select(Ticket.id, Ticket.ref).where(Ticket.id.in_(ticket_ids))
                )
            }
        # Read up front for the whole batch: one query instead of one per acknowledgement sent.
        acks = [
            Promise(e.id, e.ticket_id, as_utc(e.created_at))
            for e in claimed
            if e.kind == "ack" and e.ticket_id
        ]
        arrivals = arrivals_of(session, acks)
    results = {i: Delivery(i, "skipped") for i in outbox_ids}
    groups: dict[tuple[str, int | None], list[OutboxEntry]] = defaultdict(list)
    for entry in claimed:
        groups[(entry.channel, entry.mailbox_id)].append(entry)
    for (channel, _), entries in groups.items():
        handover = Handover(runtime, token, refs, arrivals)
        send = SENDERS.get(channel)
        try:
            try:
                if send is None:
                    raise PermanentFailure(f"no sender for channel {channel!r}")
                # No transaction is open while talking to the far end: SQLite would hold
                # its write lock for the whole conversation.
                with log_fields(channel=channel):
                    send(runtime, entries, handover)
            finally:
                handover.finish()  # the last accepted message, before any failure is recorded
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
