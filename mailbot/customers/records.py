"""Customer records: the CSV import, and the attributes known for a sender.

A CSV row has `email` and/or `phone`, `name`, then any attribute columns (plan, vip,
payment_status...); every non-empty attribute cell becomes a string attribute. An import
replaces what the previous import said; HTTP answers are cached beside it (lookup.py).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, or_, select
from sqlalchemy.orm import Session

from mailbot.pipeline.chunk_reads import reads_of
from mailbot.store.models import CustomerRecord
from mailbot.timeutil import as_utc

CSV_SOURCE = "csv"
HTTP_SOURCE = "http"
_KEY_COLUMNS = ("email", "phone", "name")


class CustomerFileError(ValueError):
    """A customers file that cannot be imported: nothing of it is stored."""


@dataclass(frozen=True)
class CustomerRow:
    email: str | None
    phone: str | None
    name: str
    attributes: dict[str, str] = field(default_factory=dict)


def normalize_phone(value: str) -> str | None:
    """Digits with a leading +, as E.164 writes them (ITU-T E.164; WhatsApp and Twilio
    give international numbers). A number without its country code cannot be told apart
    from another country's and is kept as written, digits only."""
    digits = re.sub(r"\D", "", value)
    if value.strip().startswith("00"):
        digits = digits[2:]
    return f"+{digits}" if digits else None


def normalize_email(value: str) -> str | None:
    value = value.strip().lower()
    return value if "@" in value else None


def parse_customers_csv(text: str) -> list[CustomerRow]:
    """The rows of a customers CSV, or CustomerFileError naming the first bad line."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))  # Excel writes a BOM
    header = [(h or "").strip().lower() for h in reader.fieldnames or []]
    if "email" not in header and "phone" not in header:
        raise CustomerFileError("the header row needs an email or a phone column")
    reader.fieldnames = header
    rows: list[CustomerRow] = []
    for line, raw in enumerate(reader, start=2):
        if None in raw:
            raise CustomerFileError(f"line {line}: more cells than the header has columns")
        email = normalize_email(raw.get("email") or "") if raw.get("email") else None
        phone = normalize_phone(raw.get("phone") or "") if raw.get("phone") else None
        if raw.get("email") and email is None:
            raise CustomerFileError(f"line {line}: {raw['email']!r} is not an e-mail address")
        if email is None and phone is None:
            raise CustomerFileError(f"line {line}: neither an email nor a phone")
        attributes = {
            key: value.strip()
            for key, value in raw.items()
            if key and key not in _KEY_COLUMNS and value is not None and value.strip()
        }
        rows.append(CustomerRow(email, phone, (raw.get("name") or "").strip(), attributes))
    return rows


def import_customers(session: Session, rows: Iterable[CustomerRow], now: datetime) -> int:
    """Replace the imported records with these rows. One record per address and per
    phone: a later row naming either replaces the earlier one."""
    kept: list[CustomerRow | None] = []
    row_of: dict[str, int] = {}
    for row in rows:
        keys = [k for k in (f"email:{row.email or ''}", f"phone:{row.phone or ''}") if not k.endswith(":")]
        for key in keys:
            if key in row_of:
                kept[row_of[key]] = None
            row_of[key] = len(kept)
        kept.append(row)
    session.execute(delete(CustomerRecord).where(CustomerRecord.source == CSV_SOURCE))
    records = [
        CustomerRecord(
            source=CSV_SOURCE,
            email=row.email,
            phone=row.phone,
            name=row.name,
            attributes=row.attributes,
            fetched_at=now,
        )
        for row in kept
        if row is not None
    ]
    session.add_all(records)
    return len(records)


@dataclass(frozen=True)
class KnownAttributes:
    attributes: dict[str, Any]
    http_fresh: bool  # the HTTP source's answer is cached and within its TTL


def known_attributes(
    session: Session, email: str | None, phone: str | None, ttl_seconds: int, now: datetime
) -> KnownAttributes:
    """What the imported records and the cached HTTP answers say, the HTTP answer last
    (it is the fresher of the two)."""
    if not email and not phone:
        return KnownAttributes({}, True)
    chunk = reads_of(session)
    if chunk is not None and chunk.holds_records_of(email, phone):
        records = [r for r in chunk.records if (email and r.email == email) or (phone and r.phone == phone)]
    else:
        records = list(session.scalars(records_query([email] if email else [], [phone] if phone else [])))
    attributes: dict[str, Any] = {}
    fresh = False
    for record in sorted(records, key=lambda r: (r.source == HTTP_SOURCE, r.id)):
        attributes.update(record.attributes or {})
        if record.source == HTTP_SOURCE and as_utc(record.fetched_at) > now - timedelta(seconds=ttl_seconds):
            fresh = True
    return KnownAttributes(attributes, fresh)


def records_query(emails: Sequence[str], phones: Sequence[str]) -> Select:
    """The records of any of these (normalised) addresses and numbers."""
    keys = [CustomerRecord.email.in_(emails)] if emails else []
    keys += [CustomerRecord.phone.in_(phones)] if phones else []
    return select(CustomerRecord).where(or_(*keys))
