"""The HTTP customer-data lookup, owed to tickets and paid later by a job.

Filing a message never calls the source: it reads the cache (records.py) and, when the
cache has nothing fresh, leaves a `customer_lookups` row (`owe_lookup`). A job fetches
with a timeout, caches the answer for the TTL and fills the ticket's context in
(`fill_in` in pipeline/triage_ticket.py). A failing or slow source only delays the
context: the row is retried with a growing delay and given up after MAX_ATTEMPTS, the
ticket keeping what the CSV import knew.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import redis
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mailbot.customers.records import HTTP_SOURCE
from mailbot.runtime import Runtime
from mailbot.statuses import LookupStatus
from mailbot.store.models import CustomerLookup, CustomerRecord, Ticket
from mailbot.timeutil import utcnow

log = logging.getLogger("mailbot.customers")

MAX_ATTEMPTS = 6
# A job that took a row and died: after this the row is due again.
CLAIM_SECONDS = 120


class LookupFailed(Exception):
    """The source did not answer usefully; the lookup is tried again later."""


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min ... at most an hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def lookup_url(template: str, email: str | None, phone: str | None) -> str | None:
    """The URL for this customer, or None when the template needs a key we lack."""
    if ("{email}" in template and not email) or ("{phone}" in template and not phone):
        return None
    return template.replace("{email}", quote(email or "", safe="@")).replace("{phone}", quote(phone or ""))


def fetch_attributes(url: str, timeout: float) -> dict[str, Any]:
    """The source's attributes; {} for a customer it does not know (404)."""
    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as error:
        raise LookupFailed(f"{type(error).__name__}: {error}") from error
    if response.status_code == 404:
        return {}
    if response.status_code != 200:
        raise LookupFailed(f"HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError as error:
        raise LookupFailed("the answer is not JSON") from error
    if not isinstance(data, dict):
        raise LookupFailed("the answer is not a JSON object")
    return data


def owe_lookup(session: Session, ticket: Ticket, email: str | None, phone: str | None) -> None:
    session.add(CustomerLookup(ticket=ticket, email=email, phone=phone))


def enqueue_due_lookups(runtime: Runtime) -> int:
    """Owed lookups that are due, as one job on the lookups queue; returns how many.
    A Redis error is logged, not raised: the next tick of the due-work timer tries again."""
    from mailbot.queue import enqueue_lookups

    with runtime.sessions() as session:
        ids = due_lookup_ids(session, utcnow())
    try:
        enqueue_lookups(runtime, ids)
    except redis.RedisError as error:
        log.warning("lookups queue unavailable (%s): %s lookups wait", error, len(ids))
        return 0
    return len(ids)


def due_lookup_ids(session: Session, now: datetime) -> list[int]:
    return list(
        session.scalars(
            select(CustomerLookup.id)
            .where(CustomerLookup.status == LookupStatus.PENDING, CustomerLookup.next_attempt_at <= now)
            .order_by(CustomerLookup.id)
            .limit(500)
        )
    )


@dataclass(frozen=True)
class _Claimed:
    id: int
    ticket_id: int
    email: str | None
    phone: str | None
    attempts: int


def _claim(session: Session, lookup_id: int, now: datetime) -> _Claimed | None:
    row = session.execute(
        update(CustomerLookup)
        .where(
            CustomerLookup.id == lookup_id,
            CustomerLookup.status == LookupStatus.PENDING,
            CustomerLookup.next_attempt_at <= now,
        )
        .values(attempts=CustomerLookup.attempts + 1, next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
        .returning(
            CustomerLookup.ticket_id, CustomerLookup.email, CustomerLookup.phone, CustomerLookup.attempts
        )
        .execution_options(synchronize_session=False)
    ).first()
    return _Claimed(lookup_id, *row) if row else None


def cache_answer(
    session: Session, email: str | None, phone: str | None, attributes: dict[str, Any], now: datetime
) -> None:
    """Keep the answer under each key it was asked by, replacing an older answer."""
    for column, value in ((CustomerRecord.email, email), (CustomerRecord.phone, phone)):
        if value is None:
            continue
        record = session.scalar(
            select(CustomerRecord).where(CustomerRecord.source == HTTP_SOURCE, column == value)
        )
        if record is None:
            record = CustomerRecord(source=HTTP_SOURCE, email=email, phone=phone)
            session.add(record)
        record.attributes = attributes
        record.name = str(attributes.get("name") or "")
        record.fetched_at = now
        session.flush()
        return  # one record carries both keys


def run_lookups(runtime: Runtime, lookup_ids: list[int]) -> dict[str, int]:
    """Pay the owed lookups; each row is claimed first, so a second job skips it."""
    from mailbot.pipeline.triage_ticket import fill_in  # the pipeline imports this module

    settings = runtime.settings
    counts: dict[str, int] = {}
    for lookup_id in lookup_ids:
        with runtime.sessions.begin() as session:
            claimed = _claim(session, lookup_id, utcnow())
        if claimed is None:
            counts["skipped"] = counts.get("skipped", 0) + 1
            continue
        url = lookup_url(settings.customer_lookup_url or "", claimed.email, claimed.phone)
        error: str | None = None
        attributes: dict[str, Any] = {}
        if url is None:
            error = "no lookup URL for this customer's keys"
        else:
            try:
                attributes = fetch_attributes(url, settings.customer_lookup_timeout_seconds)
            except LookupFailed as failure:
                error = str(failure)
        now = utcnow()
        with runtime.sessions.begin() as session:
            lookup = session.get(CustomerLookup, claimed.id)
            assert lookup is not None
            if error is None:
                cache_answer(session, claimed.email, claimed.phone, attributes, now)
                lookup.status, lookup.last_error, status = LookupStatus.DONE, None, "done"
                fill_in(session, claimed.ticket_id, settings, now)
            elif url is None or claimed.attempts >= MAX_ATTEMPTS:
                lookup.status, lookup.last_error, status = LookupStatus.FAILED, error, "failed"
                fill_in(session, claimed.ticket_id, settings, now)  # no longer pending
            else:
                lookup.last_error, status = error, "retry"
                lookup.next_attempt_at = now + retry_delay(claimed.attempts)
        if error:
            log.warning("customer lookup %s for ticket %s: %s", claimed.id, claimed.ticket_id, error)
        counts[status] = counts.get(status, 0) + 1
    return counts
