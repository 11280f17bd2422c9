"""The SLA configuration in the store, and the due time written on tickets.

One row holds the document as imported; no row means the built-in default. Parsing is
cached per stored version, since every new ticket reads the configuration.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.sla.config import SLOW_CHANNELS, SlaConfig, default_config, parse_config
from mailbot.sla.due import due_at
from mailbot.store.models import SlaSettings, Ticket
from mailbot.store.read_once import read_once
from mailbot.timeutil import as_utc

SETTINGS_ID = 1


def channel_types() -> frozenset[str]:
    """The channel names a policy may list: mail, forms and every platform's."""
    from webhooks import load_channel_types

    return frozenset({*SLOW_CHANNELS, *load_channel_types()})


def check_config(data: Any) -> SlaConfig:
    """Parse a decoded SLA file against the channels this installation knows (SlaError)."""
    return parse_config(data, channel_types())


@read_once
def load_config(session: Session) -> SlaConfig:
    row = session.execute(
        select(SlaSettings.updated_at, SlaSettings.document).where(SlaSettings.id == SETTINGS_ID)
    ).first()
    if row is None:
        return default_config()
    return _parsed(row.updated_at, json.dumps(row.document, sort_keys=True))


@lru_cache(maxsize=16)
def _parsed(updated_at: datetime, document: str) -> SlaConfig:
    # Checked when it was saved; parsing again here only builds the typed policies.
    return parse_config(json.loads(document))


def save_config(session: Session, data: Any, now: datetime) -> SlaConfig:
    """Replace the configuration with `data`, or SlaError and nothing changed. Open
    tickets keep the due time they were promised; new ones follow the new policies."""
    config = check_config(data)
    row = session.get(SlaSettings, SETTINGS_ID)
    if row is None:
        session.add(SlaSettings(id=SETTINGS_ID, document=data, updated_at=now))
    else:
        row.document, row.updated_at = data, now
    session.flush()
    return config


def export_config(session: Session) -> dict[str, Any]:
    return dict(load_config(session).document)


def set_due_time(ticket: Ticket, config: SlaConfig) -> None:
    """The first-response due time by the ticket's policy, from its creation; a ticket an
    agent has answered keeps the one it had (the clock stopped)."""
    if ticket.first_response_at is not None:
        return
    ticket.first_response_due_at = due_at(config, ticket.channel, ticket.priority, as_utc(ticket.created_at))
