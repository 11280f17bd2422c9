"""The enrich step's second half for a customer message: prior context, customer
attributes, intent, urgency, priority and routing, written on the ticket.

Decisions are pure (context.py, intent.py, urgency.py, triage.py, routing.py); this
module loads what they need and writes what they decide. It never calls the HTTP
customer-data source: it owes a lookup instead (customers/lookup.py), whose job later
calls `fill_in`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from mailbot.api.schemas import MAX_TAGS
from mailbot.config import Settings
from mailbot.customers.lookup import lookup_url, owe_lookup
from mailbot.customers.records import known_attributes, normalize_email, normalize_phone
from mailbot.message import InboundMessage
from mailbot.pipeline.context import build_context, load_prior_tickets
from mailbot.pipeline.identify import KnownContact
from mailbot.pipeline.intent import detect_intent, higher_intent
from mailbot.pipeline.routing import TicketFacts, route
from mailbot.pipeline.triage import decide_priority, raise_to
from mailbot.pipeline.urgency import NORMAL, detect_urgency
from mailbot.rules import facts_of, load_rules
from mailbot.sla.store import load_config as load_sla_config
from mailbot.sla.store import set_due_time
from mailbot.store.models import Mailbox, Ticket

# Senders whose handle is a phone number (Twilio SMS, WhatsApp).
_PHONE_SENDERS = ("phone", "whatsapp")
_URGENCY_RANK = {NORMAL: 0, "high": 1, "urgent": 2}


def customer_keys(msg: InboundMessage, contact_email: str | None) -> tuple[str | None, str | None]:
    """The e-mail address and phone a customer-data source may know the sender by."""
    email = normalize_email(msg.sender_handle) if msg.sender_type == "email" else None
    email = email or (normalize_email(contact_email) if contact_email else None)
    phone = normalize_phone(msg.sender_handle) if msg.sender_type in _PHONE_SENDERS else None
    return email, phone


def triage_ticket(
    session: Session,
    ticket: Ticket,
    msg: InboundMessage,
    settings: Settings,
    now: datetime,
    *,
    new_ticket: bool,
    mailbox: Mailbox | None,
    contact: KnownContact,
) -> None:
    """`contact`: the sender as this filing identified it (its e-mail address and first
    sighting are known without reading the contact again)."""
    intent = detect_intent(msg.subject, msg.text)
    urgency = detect_urgency(msg.subject, msg.text)
    if not new_ticket:
        # A joining message moves intent and urgency only upwards; the queue stays.
        raised_intent = higher_intent(ticket.intent, intent.intent)
        if raised_intent != ticket.intent:
            ticket.intent, ticket.intent_cues = raised_intent, ", ".join(intent.cues)
        if _URGENCY_RANK[urgency.level] > _URGENCY_RANK.get(ticket.urgency or NORMAL, 0):
            ticket.urgency, ticket.urgency_cues = urgency.level, ", ".join(urgency.cues)
            ticket.priority = raise_to(ticket.priority, urgency.level)
            set_due_time(ticket, load_sla_config(session))
        return
    email, phone = customer_keys(msg, contact.email)
    known = known_attributes(session, email, phone, settings.customer_lookup_ttl_seconds, now)
    template = settings.customer_lookup_url
    pending = bool(template) and not known.http_fresh and lookup_url(template or "", email, phone) is not None
    if pending:
        owe_lookup(session, ticket, email, phone)
    # A contact created by this filing has no other tickets.
    prior = [] if contact.created else load_prior_tickets(session, ticket.contact_id, ticket.id)
    ticket.context = build_context(
        prior,
        channel=ticket.channel,
        language=ticket.language,
        contact_since=contact.since or now,
        attributes=known.attributes,
        attributes_pending=pending,
        now=now,
    )
    ticket.intent, ticket.intent_cues = intent.intent, ", ".join(intent.cues)
    ticket.urgency = urgency.level
    facts = TicketFacts(
        channel=ticket.channel,
        mailbox=mailbox.name if mailbox else None,
        language=ticket.language,
        text=f"{msg.subject}\n{msg.text}",
        intent=intent.intent,
        attributes=known.attributes,
    )
    _decide(session, ticket, facts)


def _decide(session: Session, ticket: Ticket, facts: TicketFacts) -> None:
    context: dict[str, Any] = ticket.context or {}
    priority = decide_priority(
        ticket.urgency or NORMAL, ticket.intent or "", facts.attributes, bool(context.get("repeated_contact"))
    )
    routing = route(load_rules(session), facts)
    ticket.priority = routing.priority or priority.priority
    ticket.priority_cues = ", ".join(
        [*priority.cues, *([f"rule {routing.matched_rule}"] if routing.priority else [])]
    )
    ticket.queue, ticket.assignee = routing.queue, routing.assignee
    tags = [*(ticket.tags or []), *(t for t in routing.tags if t not in (ticket.tags or []))]
    ticket.tags = tags[:MAX_TAGS]  # the REST API's limit: the ticket stays PATCHable
    ticket.matched_rule, ticket.routing_reason = routing.matched_rule, routing.reason
    ticket.context = {**context, "routed": {"queue": ticket.queue, "assignee": ticket.assignee}}
    # Priority and channel are settled: the SLA policy they fall under sets the due time.
    set_due_time(ticket, load_sla_config(session))


def fill_in(session: Session, ticket_id: int, settings: Settings, now: datetime) -> None:
    """The lookup has answered (or given up): the context gets the attributes, and the
    ticket is routed again with them unless an agent has moved it since."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        return
    first = next((m for m in ticket.messages if m.kind in ("customer", "callback")), None)
    sender = first.from_address if first else ""
    email = normalize_email(sender) if first and first.sender_type == "email" else None
    email = email or (normalize_email(ticket.contact.email) if ticket.contact.email else None)
    phone = normalize_phone(sender) if first and first.sender_type in _PHONE_SENDERS else None
    known = known_attributes(session, email, phone, settings.customer_lookup_ttl_seconds, now)
    context = dict(ticket.context or {})
    context.update(attributes=known.attributes, attributes_pending=False)
    ticket.context = context
    routed = context.get("routed") or {}
    if (routed.get("queue"), routed.get("assignee")) != (ticket.queue, ticket.assignee):
        return  # an agent moved it: their choice stands
    mailbox = session.get(Mailbox, ticket.mailbox_id) if ticket.mailbox_id else None
    _decide(session, ticket, facts_of(ticket, mailbox.name if mailbox else None))
