"""The context block an agent reads under a customer's message: who the customer is,
what else they have open, how urgent it is and by when it must be answered.

`load_context` reads what the store has; `context_lines` is the one builder of the
block (mail and Slack show the same lines). Fields the ticket does not have yet are
left out, so a line appears as soon as the store carries it: to add one (the routing
rule that matched, a suggested FAQ entry), load it into TicketContext and render it in
`context_lines`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.statuses import ACTIVE_TICKET_STATUSES
from mailbot.store.models import ContactIdentity, Ticket
from mailbot.timeutil import as_utc

OTHER_TICKETS_SHOWN = 5


@dataclass(frozen=True)
class OtherTicket:
    ref: str
    status: str
    subject: str


@dataclass(frozen=True)
class TicketContext:
    ref: str
    status: str
    queue: str
    priority: str
    priority_why: str  # the urgency cues that set the priority; "" when none did
    customer_name: str
    customer_email: str | None
    identities: tuple[tuple[str, str], ...]  # (channel, handle)
    open_tickets: tuple[OtherTicket, ...]
    prior_tickets: tuple[OtherTicket, ...]
    first_response_due_at: datetime | None
    matched_rule: str = ""  # routing (not on this branch yet): the rule and why
    suggested_faq: tuple[str, ...] = field(default_factory=tuple)


def load_context(session: Session, ticket: Ticket) -> TicketContext:
    contact = ticket.contact
    identities = session.execute(
        select(ContactIdentity.channel, ContactIdentity.handle)
        .where(ContactIdentity.contact_id == ticket.contact_id)
        .order_by(ContactIdentity.id)
    ).all()
    others = list(
        session.execute(
            select(Ticket.ref, Ticket.status, Ticket.subject)
            .where(Ticket.contact_id == ticket.contact_id, Ticket.id != ticket.id)
            .order_by(Ticket.id.desc())
            .limit(OTHER_TICKETS_SHOWN * 2)
        ).all()
    )
    active = tuple(OtherTicket(*row) for row in others if row.status in ACTIVE_TICKET_STATUSES)
    prior = tuple(OtherTicket(*row) for row in others if row.status not in ACTIVE_TICKET_STATUSES)
    return TicketContext(
        ref=ticket.ref,
        status=ticket.status,
        queue=ticket.queue,
        priority=ticket.priority,
        priority_why=ticket.urgency_cues or "",
        customer_name=contact.name,
        customer_email=contact.email,
        identities=tuple((row.channel, row.handle) for row in identities),
        open_tickets=active[:OTHER_TICKETS_SHOWN],
        prior_tickets=prior[:OTHER_TICKETS_SHOWN],
        first_response_due_at=ticket.first_response_due_at,
    )


def _tickets(tickets: tuple[OtherTicket, ...]) -> str:
    return "; ".join(f"{t.ref} ({t.status}) {t.subject}".rstrip() for t in tickets)


def _when(value: datetime) -> str:
    return as_utc(value).strftime("%Y-%m-%d %H:%M UTC")


def context_lines(ctx: TicketContext) -> list[str]:
    """The block, one `Label: value` line each, in the order an agent reads them."""
    customer = ctx.customer_name or ctx.customer_email or "unknown"
    if ctx.customer_email and ctx.customer_name:
        customer = f"{ctx.customer_name} <{ctx.customer_email}>"
    lines = [
        f"Ticket: {ctx.ref} ({ctx.status}, queue {ctx.queue})",
        f"Customer: {customer}",
    ]
    if ctx.identities:
        lines.append("Identities: " + ", ".join(f"{channel} {handle}" for channel, handle in ctx.identities))
    lines.append(f"Open tickets: {_tickets(ctx.open_tickets) or 'none other'}")
    if ctx.prior_tickets:
        lines.append(f"Prior tickets: {_tickets(ctx.prior_tickets)}")
    why = f" (because: {ctx.priority_why})" if ctx.priority_why else ""
    lines.append(f"Priority: {ctx.priority}{why}")
    if ctx.matched_rule:
        lines.append(f"Matched rule: {ctx.matched_rule}")
    if ctx.first_response_due_at is not None:
        lines.append(f"First response due: {_when(ctx.first_response_due_at)}")
    for entry in ctx.suggested_faq:
        lines.append(f"Suggested FAQ: {entry}")
    return lines
