"""The outbox's states (statuses.OutboxStatus), and every transition between them.

    pending --claim--> claimed --about to hand over--> sending --accepted--> sent --bounce--> bounced
       ^                  |                               |
       +-- temporary -----+                               +-- cut off mid-handover --> uncertain
                          +-- permanent / too many attempts --> failed

A worker killed while `claimed` has sent nothing: the claim expires and the row is
retried. A worker killed while `sending` may or may not have handed the message over:
the row becomes `uncertain` and is shown to an admin instead of being sent again,
because answering a customer twice is the failure we promised never to make. Only this
module sets a row's status (the panel's "retry" of a failed row aside).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Connection, Table, bindparam, or_, select, update
from sqlalchemy.orm import Session

from mailbot.statuses import OutboxStatus
from mailbot.store.models import Alert, OutboxEntry, Ticket
from mailbot.timeutil import utcnow

log = logging.getLogger("mailbot.outbox")

MAX_ATTEMPTS = 14
# 10 s, 20 s, 40 s ... capped at 1 hour: a dead SMTP server is retried for about five hours.
# The first retry is short because a refusal here is usually our own relay restarting or
# briefly overloaded, and the customer's answer is due within seconds (p90 under 30 s even
# across a short outage); greylisting, which wants minutes, is past by the sixth attempt.
BACKOFF_BASE_SECONDS = 10
BACKOFF_CAP_SECONDS = 3600


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_CAP_SECONDS))


def claim(
    session: Session, outbox_id: int, token: str, claim_ttl: timedelta, now: datetime | None = None
) -> OutboxEntry | None:
    """Take a due row for delivery; None if it is not due or someone else has it."""
    now = now or utcnow()
    result = session.execute(
        update(OutboxEntry)
        .where(
            OutboxEntry.id == outbox_id,
            or_(
                (OutboxEntry.status == OutboxStatus.PENDING) & (OutboxEntry.next_attempt_at <= now),
                (OutboxEntry.status == OutboxStatus.CLAIMED) & (OutboxEntry.claimed_at < now - claim_ttl),
            ),
        )
        .values(
            status=OutboxStatus.CLAIMED, claimed_at=now, claim_token=token, attempts=OutboxEntry.attempts + 1
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(OutboxEntry, outbox_id, populate_existing=True)


def claim_many(
    session: Session, outbox_ids: list[int], token: str, claim_ttl: timedelta, now: datetime | None = None
) -> list[OutboxEntry]:
    """`claim` for a delivery batch in one statement: the rows taken, in the given order."""
    now = now or utcnow()
    taken = session.scalars(
        update(OutboxEntry)
        .where(
            OutboxEntry.id.in_(outbox_ids),
            or_(
                (OutboxEntry.status == OutboxStatus.PENDING) & (OutboxEntry.next_attempt_at <= now),
                (OutboxEntry.status == OutboxStatus.CLAIMED) & (OutboxEntry.claimed_at < now - claim_ttl),
            ),
        )
        .values(
            status=OutboxStatus.CLAIMED, claimed_at=now, claim_token=token, attempts=OutboxEntry.attempts + 1
        )
        .returning(OutboxEntry),
        execution_options={"synchronize_session": False, "populate_existing": True},
    ).all()
    order = {outbox_id: n for n, outbox_id in enumerate(outbox_ids)}
    return sorted(taken, key=lambda entry: order[entry.id])


# The two transitions every delivered message takes, as Core statements built once: the
# ORM statement building (coercions, cache keys) of the two UPDATEs used to cost more than
# SQLite running them. Each takes its values as parameters, so one compiled form serves
# every message.
_OUTBOX = cast(Table, OutboxEntry.__table__)
_TICKETS = cast(Table, Ticket.__table__)
_outbox = _OUTBOX.c
_MARK_SENDING = (
    update(_OUTBOX)
    .where(
        _outbox.id == bindparam("outbox_id"),
        _outbox.status == OutboxStatus.CLAIMED,
        _outbox.claim_token == bindparam("token"),
    )
    .values(status=OutboxStatus.SENDING, claimed_at=bindparam("now"))
)
_MARK_SENT = (
    update(_OUTBOX)
    .where(
        _outbox.id == bindparam("outbox_id"),
        _outbox.claim_token == bindparam("token"),
        _outbox.status == OutboxStatus.SENDING,
    )
    .values(
        status=OutboxStatus.SENT,
        sent_at=bindparam("now"),
        last_error=None,
        external_id=bindparam("external_id"),
    )
)
_tickets = _TICKETS.c
_MARK_ACKNOWLEDGED = (
    update(_TICKETS)
    .where(_tickets.id == bindparam("ticket_id"), _tickets.acknowledged_at.is_(None))
    .values(acknowledged_at=bindparam("now"))
)


def mark_sending(db: Session | Connection, outbox_id: int, token: str) -> bool:
    """Only the current holder of the claim may hand the message over."""
    result = db.execute(_MARK_SENDING, {"outbox_id": outbox_id, "token": token, "now": utcnow()})
    return result.rowcount == 1  # type: ignore[attr-defined]


def still_held(entry: OutboxEntry, token: str) -> bool:
    return entry.claim_token == token and entry.status in {OutboxStatus.CLAIMED, OutboxStatus.SENDING}


def mark_sent(
    db: Session | Connection, entry: OutboxEntry, token: str, external_id: str | None = None
) -> bool:
    """Record a hand-over the far end accepted; False if the claim was no longer ours.

    `external_id` is the id the platform gave the message (Slack ts, wamid ...)."""
    now = utcnow()
    result = db.execute(
        _MARK_SENT, {"outbox_id": entry.id, "token": token, "now": now, "external_id": external_id}
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    if entry.kind == "ack" and entry.ticket_id:
        db.execute(_MARK_ACKNOWLEDGED, {"ticket_id": entry.ticket_id, "now": now})
    return True


def mark_retry(
    session: Session, entry: OutboxEntry, error: str, retry_after: float | None = None
) -> datetime | None:
    """A temporary failure: try again later, or give up after MAX_ATTEMPTS.

    `retry_after` is the far end's own wish (HTTP 429 Retry-After, RFC 9110 §10.2.3):
    never sooner than that. Returns when the next attempt is due, or None when the row
    has failed for good."""
    entry.last_error = error[:2000]
    if entry.attempts >= MAX_ATTEMPTS:
        mark_failed(session, entry, f"gave up after {entry.attempts} attempts: {error}")
        return None
    entry.status = OutboxStatus.PENDING
    wait = backoff(entry.attempts)
    if retry_after is not None:
        wait = max(wait, timedelta(seconds=min(retry_after, BACKOFF_CAP_SECONDS)))
    entry.next_attempt_at = utcnow() + wait
    log.warning(
        "outbox %s (%s): attempt %s failed, retry at %s: %s",
        entry.id,
        entry.key,
        entry.attempts,
        entry.next_attempt_at,
        error,
    )
    return entry.next_attempt_at


def mark_uncertain(entry: OutboxEntry, error: str) -> None:
    """Cut off mid-handover: the far end may have the message. Never resend blindly."""
    entry.status = OutboxStatus.UNCERTAIN
    entry.last_error = error[:2000]
    log.error("outbox %s (%s) is uncertain: %s", entry.id, entry.key, error)


def mark_bounced(entry: OutboxEntry, report_subject: str) -> None:
    """Sent, then a delivery report came back for it."""
    entry.status = OutboxStatus.BOUNCED
    entry.last_error = f"bounced: {report_subject}"[:1000]


def mark_failed(session: Session, entry: OutboxEntry, error: str) -> None:
    entry.status = OutboxStatus.FAILED
    entry.last_error = error[:2000]
    log.error("outbox %s (%s) failed: %s", entry.id, entry.key, error)
    session.add(Alert(kind="outbox_failed", detail=f"{entry.key} to {entry.to_address}: {error}"[:4000]))


def settle_abandoned(
    session: Session, claim_ttl: timedelta, sending_ttl: timedelta, now: datetime | None = None
) -> tuple[int, int]:
    """Rows left by killed workers: claims go back to pending, sends become uncertain."""
    now = now or utcnow()
    abandoned = list(
        session.scalars(
            select(OutboxEntry).where(
                OutboxEntry.status == OutboxStatus.CLAIMED, OutboxEntry.claimed_at < now - claim_ttl
            )
        )
    )
    released = sum(_give_back(session, entry, now, "abandoned by its sender") for entry in abandoned)
    stuck = list(
        session.scalars(
            select(OutboxEntry).where(
                OutboxEntry.status == OutboxStatus.SENDING, OutboxEntry.claimed_at < now - sending_ttl
            )
        )
    )
    for entry in stuck:
        entry.status = OutboxStatus.UNCERTAIN
        entry.last_error = "the sender stopped while handing the message over; not re-sent"
        session.add(Alert(kind="outbox_uncertain", detail=f"{entry.key} to {entry.to_address}"))
        log.error("outbox %s (%s) is uncertain: held for an admin", entry.id, entry.key)
    return released, len(stuck)


def release_orphaned_claims(
    session: Session, in_progress: set[int], claimed_before: datetime, now: datetime | None = None
) -> int:
    """Claims that no live worker's job carries (see working.py): their worker died, and
    a `claimed` row was never handed over, so it is due again at once instead of after
    the claim TTL. A claim younger than `claimed_before` is left alone: its job may not
    have said yet what it carries. A worker that is in fact alive loses nothing but the
    row: `mark_sending` lets only the current holder hand it over."""
    now = now or utcnow()
    orphans = session.scalars(
        select(OutboxEntry).where(OutboxEntry.status == "claimed", OutboxEntry.claimed_at < claimed_before)
    )
    return sum(
        _give_back(session, entry, now, "its sender died") for entry in orphans if entry.id not in in_progress
    )


def _give_back(session: Session, entry: OutboxEntry, now: datetime, why: str) -> bool:
    # A row whose sender dies every time (a crash, not a refusal) must not loop forever.
    if entry.attempts >= MAX_ATTEMPTS:
        mark_failed(session, entry, f"{why} {entry.attempts} times")
        return False
    entry.status, entry.next_attempt_at, entry.claim_token = OutboxStatus.PENDING, now, None
    log.warning("outbox %s (%s): claim given back, %s", entry.id, entry.key, why)
    return True
