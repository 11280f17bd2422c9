"""Prior interaction context: what an agent should know of the customer at one look.

`load_prior_tickets` reads the contact's earlier tickets in one statement;
`build_context` turns them into the ticket's `context` without I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.pipeline.chunk_reads import reads_of
from mailbot.pipeline.triage import REPEAT_WINDOW_HOURS
from mailbot.statuses import ACTIVE_TICKET_STATUSES, TicketStatus
from mailbot.store.models import Ticket
from mailbot.timeutil import as_utc, iso

# How many earlier tickets the context lists (newest first).
PRIOR_TICKETS = 5
# How many are read to find the open ones: a contact with more is an outlier (a loop, a
# bulk sender), and the contact's own creation time still gives the first contact.
LOADED_TICKETS = 50
# The satisfaction answer is stored by the self-service work (issue 9, FAQ and SLA); read
# when that column exists, null until then.
SATISFACTION_COLUMN = "satisfaction_score"
_OUTCOMES = {
    TicketStatus.OPEN: "open",
    TicketStatus.PENDING: "waiting for the customer",
    TicketStatus.SOLVED: "solved",
    TicketStatus.CLOSED: "closed",
}


@dataclass(frozen=True)
class PriorTicket:
    ref: str
    status: str
    channel: str
    subject: str
    created_at: datetime
    satisfaction: Any = None


def load_prior_tickets(session: Session, contact_id: int, ticket_id: int | None) -> list[PriorTicket]:
    """The contact's other tickets, newest first (read for the whole chunk when it is
    filed in one, chunk_reads.py; `ticket_id` None: a ticket not written yet)."""
    chunk = reads_of(session)
    tickets = chunk.tickets_for(contact_id) if chunk is not None and ticket_id is None else None
    if tickets is not None:
        return list(tickets.prior[contact_id])
    satisfaction = getattr(Ticket, SATISFACTION_COLUMN, None)
    columns = [Ticket.ref, Ticket.status, Ticket.channel, Ticket.subject, Ticket.created_at]
    rows = session.execute(
        select(*columns, *([satisfaction] if satisfaction is not None else []))
        .where(Ticket.contact_id == contact_id, Ticket.id != ticket_id)
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(LOADED_TICKETS)
    )
    return [PriorTicket(*cast(tuple[Any, ...], tuple(row))) for row in rows]


def prior_tickets_of(session: Session, contacts: Iterable[int]) -> list[tuple[int, PriorTicket]]:
    """`load_prior_tickets` for many contacts in one statement: (contact, ticket)."""
    satisfaction = getattr(Ticket, SATISFACTION_COLUMN, None)
    newest = (
        func.row_number()
        .over(partition_by=Ticket.contact_id, order_by=(Ticket.created_at.desc(), Ticket.id.desc()))
        .label("newest")
    )
    columns = [Ticket.ref, Ticket.status, Ticket.channel, Ticket.subject, Ticket.created_at]
    ranked = (
        select(Ticket.contact_id, *columns, *([satisfaction] if satisfaction is not None else []), newest)
        .where(Ticket.contact_id.in_(sorted(contacts)))
        .subquery()
    )
    rows = session.execute(
        select(ranked).where(ranked.c.newest <= LOADED_TICKETS).order_by(ranked.c.contact_id, ranked.c.newest)
    )
    return [(row[0], PriorTicket(*cast(tuple[Any, ...], tuple(row[1:-1])))) for row in rows]


def repeated_contact(prior: Sequence[PriorTicket], now: datetime) -> bool:
    since = now - timedelta(hours=REPEAT_WINDOW_HOURS)
    return any(as_utc(p.created_at) >= since for p in prior)


def build_context(
    prior: Sequence[PriorTicket],
    *,
    channel: str,
    language: str,
    contact_since: datetime,
    attributes: Mapping[str, Any],
    attributes_pending: bool,
    now: datetime,
) -> dict[str, Any]:
    """The ticket's `context`, as `mailbot tickets list --json` shows it."""
    shown = prior[:PRIOR_TICKETS]
    first = min([as_utc(contact_since), *(as_utc(p.created_at) for p in prior)])
    rated = [p.satisfaction for p in prior if p.satisfaction is not None]
    return {
        "prior_tickets": [p.ref for p in shown],
        "open_tickets": [p.ref for p in prior if p.status in ACTIVE_TICKET_STATUSES],
        "last_tickets": [
            {
                "ref": p.ref,
                "status": p.status,
                "outcome": _OUTCOMES.get(TicketStatus(p.status), p.status),
                "channel": p.channel,
                "subject": p.subject,
                "created_at": iso(p.created_at),
            }
            for p in shown
        ],
        "channels": sorted({channel, *(p.channel for p in prior)}),
        "first_contact_at": iso(first),
        "last_satisfaction": rated[0] if rated else None,
        "language": language,
        "repeated_contact": repeated_contact(prior, now),
        "attributes": dict(attributes),
        "attributes_pending": attributes_pending,
    }
