"""Canned responses: one answer per name and language, so two customers asking the same
question get the same words, with {placeholders} filled from the ticket and customer.

Placeholders are checked when a response is saved (an unknown name is refused then, not
discovered by a customer reading "{custmer_name}"), and filled by a pure function from
a `FillValues` the caller loads. `{{` and `}}` write literal braces, as str.format does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.store.models import CannedResponse, Ticket
from mailbot.timeutil import utcnow

# Each placeholder, and what it is filled with.
PLACEHOLDERS = {
    "ref": "the ticket's reference (MB-7K3Q9P)",
    "subject": "the ticket's subject",
    "customer_name": "the customer's name, or 'there' when it is unknown",
    "customer_first_name": "the first word of the customer's name",
    "customer_email": "the customer's e-mail address",
    "agent_name": "the name of the agent who sends it",
    "queue": "the ticket's queue",
    "attributes.KEY": "a customer-data attribute (CSV import or HTTP lookup), e.g. {attributes.plan}",
}
# What stands in for an unknown name, per language: a greeting never reads "Hello ,".
UNKNOWN_NAME = {"es": "", "it": "", "en": "there", "pt": "", "fr": "", "de": ""}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
# {{ and }} are literal braces; {name} or {attributes.key} a placeholder; any other brace is a mistake.
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_ATTRIBUTE = re.compile(r"^attributes\.([A-Za-z0-9_-]{1,100})$")
MAX_BODY = 50_000
# Marks where an unknown name was left out, until the gap before it is closed (NUL is
# never in a saved text: validate_spec refuses it).
_GAP = "\x00"


class CannedError(ValueError):
    """A canned response that cannot be saved or used as given; the message says why."""


@dataclass(frozen=True)
class CannedSpec:
    name: str
    language: str
    text: str


@dataclass(frozen=True)
class FillValues:
    """What the placeholders are filled with, loaded from the ticket and customer."""

    ref: str
    subject: str = ""
    customer_name: str = ""
    customer_email: str = ""
    agent_name: str = ""
    queue: str = ""
    language: str = "en"
    attributes: Mapping[str, Any] = field(default_factory=dict)


def placeholders_of(text: str) -> list[str]:
    """The placeholder names in `text`, in order; raises CannedError on a stray brace."""
    names = []
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None:
            raise CannedError(
                f"a lone {token!r} at character {match.start() + 1}: write {token * 2} for a brace"
            )
        names.append(name.strip())
    return names


def validate_spec(spec: CannedSpec) -> None:
    if not _NAME.match(spec.name):
        raise CannedError(f"name {spec.name!r}: lower-case letters, digits, '.', '-' and '_' (up to 100)")
    if not _LANGUAGE.match(spec.language):
        raise CannedError(f"language {spec.language!r} is not a language code (es, it, en, pt, fr, de ...)")
    if not spec.text.strip() or len(spec.text) > MAX_BODY or "\x00" in spec.text:
        raise CannedError(f"{spec.name} ({spec.language}): the text is empty or over {MAX_BODY:,} characters")
    for name in placeholders_of(spec.text):
        if name not in PLACEHOLDERS and not _ATTRIBUTE.match(name):
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise CannedError(
                f"{spec.name} ({spec.language}): unknown placeholder {{{name}}}; known: {known}"
            )


def fill(text: str, values: FillValues) -> str:
    """`text` with each placeholder replaced (validate_spec has accepted it). A missing
    attribute becomes empty: the agent sees the filled text before it is sent."""
    first_name = values.customer_name.split()[0] if values.customer_name.split() else ""
    simple = {
        "ref": values.ref,
        "subject": values.subject,
        "customer_name": values.customer_name or UNKNOWN_NAME.get(values.language, "") or _GAP,
        "customer_first_name": first_name or UNKNOWN_NAME.get(values.language, "") or _GAP,
        "customer_email": values.customer_email,
        "agent_name": values.agent_name,
        "queue": values.queue,
    }

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = (match.group(1) or "").strip()
        if name in simple:
            return simple[name]
        attribute = _ATTRIBUTE.match(name)
        if attribute:
            value = values.attributes.get(attribute.group(1))
            return "" if value is None else str(value)
        raise CannedError(f"unknown placeholder {token}")

    text = _TOKEN.sub(replace, text)
    # An empty name would leave "Hola ," behind: close that gap, and only that one (French
    # puts a space before ! and ? on purpose).
    return re.sub(r"[ \t]*" + _GAP + r"(?=[,.!?;:])", "", text).replace(_GAP, "")


def fill_values_of(ticket: Ticket, agent_name: str) -> FillValues:
    contact = ticket.contact
    context = ticket.context or {}
    attributes = context.get("attributes") if isinstance(context.get("attributes"), dict) else {}
    name = (contact.name if contact else "") or str((attributes or {}).get("name") or "")
    return FillValues(
        ref=ticket.ref,
        subject=ticket.subject,
        customer_name=name.strip(),
        customer_email=(contact.email if contact else None) or "",
        agent_name=agent_name,
        queue=ticket.queue,
        language=ticket.language,
        attributes=attributes or {},
    )


def choose(
    responses: Iterable[CannedResponse], language: str, default_language: str
) -> CannedResponse | None:
    """The version for the ticket's language, else the default language's, else English."""
    by_language = {r.language: r for r in responses}
    for wanted in (language, default_language, "en"):
        if wanted in by_language:
            return by_language[wanted]
    return None


def save(session: Session, spec: CannedSpec) -> tuple[CannedResponse, bool]:
    """Create or replace the response `spec.name` in `spec.language`; returns (row, created)."""
    validate_spec(spec)
    row = session.scalar(
        select(CannedResponse).where(
            CannedResponse.name == spec.name, CannedResponse.language == spec.language
        )
    )
    created = row is None
    if row is None:
        row = CannedResponse(name=spec.name, language=spec.language, body=spec.text)
        session.add(row)
    row.body = spec.text
    row.updated_at = utcnow()
    session.flush()
    return row, created


def all_responses(session: Session) -> list[CannedResponse]:
    return list(
        session.scalars(select(CannedResponse).order_by(CannedResponse.name, CannedResponse.language))
    )


def render_for(session: Session, name: str, ticket: Ticket, *, agent_name: str, default_language: str) -> str:
    """The canned response `name` in the ticket's language, filled; raises CannedError."""
    rows = session.scalars(select(CannedResponse).where(CannedResponse.name == name))
    chosen = choose(rows, ticket.language, default_language)
    if chosen is None:
        raise CannedError(f"there is no canned response named {name!r}")
    return fill(chosen.body, fill_values_of(ticket, agent_name))


def parse_import(lines: Iterable[str]) -> list[CannedSpec]:
    """JSON Lines `{"name", "lang", "text"}`, all checked before any is saved: a bad line
    is reported by number and nothing of the file is kept."""
    specs: list[CannedSpec] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as error:
            raise CannedError(f"line {number}: not JSON ({error})") from error
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) for k in ("name", "lang", "text")
        ):
            raise CannedError(f'line {number}: expected {{"name": ..., "lang": ..., "text": ...}} as strings')
        spec = CannedSpec(name=item["name"].strip(), language=item["lang"].strip().lower(), text=item["text"])
        try:
            validate_spec(spec)
        except CannedError as error:
            raise CannedError(f"line {number}: {error}") from error
        specs.append(spec)
    return specs
