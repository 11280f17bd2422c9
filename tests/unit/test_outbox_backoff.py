"""Retry timing of the outbox: 10 s doubling to 1 h, and giving up after 14 attempts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from mailbot.outbox import BACKOFF_CAP_SECONDS, MAX_ATTEMPTS, backoff, mark_retry
from mailbot.runtime import Runtime
from mailbot.store.models import Alert, OutboxEntry
from mailbot.timeutil import as_utc, utcnow


@pytest.mark.parametrize(
    "attempts, seconds",
    [
        (0, 10),
        (1, 10),
        (2, 20),
        (3, 40),
        (4, 80),
        (5, 160),
        (6, 320),
        (7, 640),
        (8, 1280),
        (9, 2560),
        (10, 3600),
        (14, 3600),
        (500, 3600),
    ],
)
def test_backoff_doubles_from_ten_seconds_up_to_an_hour(attempts: int, seconds: int) -> None:
    assert backoff(attempts) == timedelta(seconds=seconds)


def test_backoff_never_shrinks_and_never_exceeds_the_cap() -> None:
    waits = [backoff(n) for n in range(1, 100)]
    assert waits == sorted(waits)
    assert max(waits) == timedelta(seconds=BACKOFF_CAP_SECONDS) == timedelta(hours=1)


def test_all_retries_together_span_about_five_hours() -> None:
    total = sum((backoff(n) for n in range(1, MAX_ATTEMPTS)), timedelta())
    assert MAX_ATTEMPTS == 14
    assert timedelta(hours=5) < total < timedelta(hours=6)


def test_greylisting_minutes_are_covered_before_the_waits_grow_long() -> None:
    # A greylisting server refuses for about five minutes: by then we have asked again.
    elapsed = timedelta()
    for attempts in range(1, MAX_ATTEMPTS):
        elapsed += backoff(attempts)
        if elapsed > timedelta(minutes=5):
            break
    assert attempts <= 6 and backoff(attempts + 1) <= timedelta(minutes=11)


def _pending_entry(runtime: Runtime, attempts: int) -> int:
    with runtime.sessions.begin() as session:
        entry = OutboxEntry(
            key="ack:MB-7K3Q9P",
            kind="ack",
            to_address="a@b.test",
            from_address="support@acme.test",
            subject="s",
            body="b",
            internet_message_id="x@acme.test",
            status="claimed",
            attempts=attempts,
        )
        session.add(entry)
        session.flush()
        return entry.id


def test_mark_retry_schedules_the_next_attempt_by_backoff(runtime: Runtime) -> None:
    entry_id = _pending_entry(runtime, attempts=3)
    before = utcnow()
    with runtime.sessions.begin() as session:
        due = mark_retry(session, session.get_one(OutboxEntry, entry_id), "451 4.3.0 try later")
    assert due is not None and before + backoff(3) <= due <= utcnow() + backoff(3)
    with runtime.sessions() as session:
        entry = session.get_one(OutboxEntry, entry_id)
        assert (entry.status, entry.last_error) == ("pending", "451 4.3.0 try later")
        assert as_utc(entry.next_attempt_at) == due
        assert session.scalars(select(Alert)).all() == []


def test_mark_retry_gives_up_at_the_last_attempt_with_an_alert(runtime: Runtime) -> None:
    entry_id = _pending_entry(runtime, attempts=MAX_ATTEMPTS)
    with runtime.sessions.begin() as session:
        assert mark_retry(session, session.get_one(OutboxEntry, entry_id), "451 still down") is None
    with runtime.sessions() as session:
        entry = session.get_one(OutboxEntry, entry_id)
        assert entry.status == "failed"
        assert f"gave up after {MAX_ATTEMPTS} attempts" in (entry.last_error or "")
        [alert] = session.scalars(select(Alert)).all()
        assert alert.kind == "outbox_failed" and "ack:MB-7K3Q9P" in alert.detail
