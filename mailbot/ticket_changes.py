"""What agents do to a ticket: change its fields, answer the customer, add an internal note.

The REST API calls these (and the panel may); they work in the caller's transaction, so
the message, its outbox row and the ticket's new state commit together or not at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from mailbot.config import Settings
from mailbot.pipeline.agent_reply import ReplyRefused, build_agent_reply, find_reply_target
from mailbot.pipeline.triage import PRIORITIES as LOWEST_FIRST
from mailbot.pipeline.whatsapp_window import as_template, decide_for
from mailbot.sla.config import SlaConfig, default_config
from mailbot.sla.store import set_due_time
from mailbot.statuses import TicketStatus
from mailbot.store.models import Message, OutboxEntry, Ticket

# Where an agent may move a ticket from each status (open -> pending -> solved -> closed).
# Closed is final for agents: only the customer writing again opens it (pipeline/process.py).
TICKET_TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.OPEN: frozenset({TicketStatus.PENDING, TicketStatus.SOLVED}),
    TicketStatus.PENDING: frozenset({TicketStatus.OPEN, TicketStatus.SOLVED}),
    TicketStatus.SOLVED: frozenset({TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
}
# The ticket fields an agent may change, in the order they are applied.
CHANGEABLE = ("status", "priority", "queue", "assignee", "tags")
PRIORITIES = tuple(reversed(LOWEST_FIRST))  # most urgent first, as the API lists them


class ChangeRefused(Exception):
    """The change is well formed but the ticket's state does not allow it."""


def status_change_refused(current: str, new: str) -> str | None:
    """Why an agent may not move a ticket from `current` to `new`, or None if they may."""
    allowed = TICKET_TRANSITIONS[TicketStatus(current)]
    if current == new or new in allowed:
        return None
    return f"a {current} ticket can become {' or '.join(sorted(allowed)) or 'nothing else'}, not {new}"


@dataclass(frozen=True)
class Author:
    """Who wrote an agent's message, as the message's sender identity shows it."""

    type: str  # message.SENDER_TYPES: "api" for a token
    value: str  # the token's name
    name: str = ""


def apply_changes(
    ticket: Ticket, changes: Mapping[str, Any], now: datetime, sla: SlaConfig | None = None
) -> list[str]:
    """Apply `changes` (field -> new value; absent fields stay); returns the fields changed.
    `sla`: the configuration a new priority's due time follows (None: the built-in one)."""
    if "status" in changes:
        refused = status_change_refused(ticket.status, changes["status"])
        if refused:
            raise ChangeRefused(refused)
    changed = [name for name in CHANGEABLE if name in changes and getattr(ticket, name) != changes[name]]
    for name in changed:
        setattr(ticket, name, list(changes[name]) if name == "tags" else changes[name])
    if "priority" in changed:
        # The first-response clock runs from the ticket's creation at the new priority's pace.
        set_due_time(ticket, sla or default_config())
    if changed:
        ticket.updated_at = now
    return changed


def add_agent_message(
    session: Session,
    ticket: Ticket,
    text: str,
    *,
    internal: bool,
    author: Author,
    settings: Settings,
    now: datetime,
    outbox_key: str | None = None,
) -> tuple[Message, OutboxEntry | None]:
    """Store an agent's message: an internal note, or a reply promised to the customer
    through the outbox (the caller enqueues its delivery once committed), or, for a
    WhatsApp customer outside the 24-hour window with no template to send, a `held`
    message whose reason says so. `outbox_key`: the reply's unique key when it is relayed
    from an agent's own message."""
    target = window = None
    if not internal:
        if ticket.status == TicketStatus.CLOSED:
            raise ReplyRefused("the ticket is closed: it opens again when the customer writes")
        target = find_reply_target(session, ticket, settings)
        if target.channel == "whatsapp":
            window = decide_for(session, target.channel_id, target.to_address, now, settings.secret_key)
    kind, reason = ("note", "internal note") if internal else ("agent", "reply to the customer")
    if window is not None and window.way == "held":
        # Stored, visible with its reason, and promised to nobody (no outbox row).
        kind, reason, target = "held", window.reason, None
    message = Message(
        ticket_id=ticket.id,
        channel=target.channel if target else ticket.channel,
        kind=kind,
        reason=reason,
        sender_type=author.type,
        from_address=author.value,
        from_name=author.name or author.value,
        text=text,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        received_at=now,
    )
    session.add(message)
    session.flush()
    entry = None
    if target is not None:
        entry = build_agent_reply(
            ticket, message.id, text, target, secret_key=settings.secret_key, key=outbox_key
        )
        if window is not None and window.way == "template":
            as_template(entry, window)
        if author.type != "api":
            # A person's reply shows their name beside the support address (a token has none).
            entry.from_name = author.name
        session.add(entry)
        message.subject = entry.subject
        # The reply's own id: the customer's answer threads by it, and an echo of it
        # (a copy in a support mailbox) is recognised as ours.
        message.internet_message_id = entry.internet_message_id
        if ticket.first_response_at is None:
            ticket.first_response_at = now
    ticket.updated_at = now
    session.flush()
    return message, entry
