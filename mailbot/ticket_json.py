"""The JSON shape of a ticket, as `mailbot tickets list --json` and the REST API give it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from mailbot.store.models import Contact, Message, Ticket
from mailbot.timeutil import as_utc, iso


def message_json(message: Message) -> dict[str, Any]:
    return {
        "message_id": message.internet_message_id,
        "from": message.from_address,
        "subject": message.subject,
        "text": message.text,
        "received_at": iso(message.received_at),
        "kind": message.kind,
        "channel": message.channel,
        "sender": {"type": message.sender_type, "value": message.from_address, "name": message.from_name},
        # Added in issue 7; older messages have none of these.
        "warnings": list(message.warnings or []),
        "forwarded_by": message.forwarded_by,
        "forward_note": message.forward_note or "",
        "forwarded_from": message.forwarded_from,
        # Added in issue 9: why the message is on this ticket, and how sure that was
        # (null on messages filed before).
        "thread_reason": message.thread_reason,
        "thread_confidence": message.thread_confidence,
    }


def _cues(joined: str | None) -> list[str]:
    return [cue for cue in (joined or "").split(", ") if cue]


def _no_context() -> dict[str, Any]:
    """The context of a ticket filed before issue 9: nothing known."""
    return {
        "prior_tickets": [],
        "open_tickets": [],
        "attributes": {},
        "last_tickets": [],
        "channels": [],
        "first_contact_at": None,
        "last_satisfaction": None,
        "language": None,
        "repeated_contact": False,
        "attributes_pending": False,
    }


def context_json(context: dict[str, Any] | None) -> dict[str, Any]:
    """A ticket's context; tickets filed before issue 9 have the empty one."""
    stored = dict(context or {})
    stored.pop("routed", None)  # bookkeeping for a late lookup, not context
    return {**_no_context(), **stored}


def identities_json(contact: Contact) -> list[dict[str, str]]:
    """The contact's identities as `messages[].sender` names them: type and value."""
    pairs = {(i.identity_type, i.handle) for i in contact.identities}
    return [{"type": kind, "value": value} for kind, value in sorted(pairs)]


def with_offset(value: datetime | None) -> str | None:
    """ISO 8601 with an explicit UTC offset (+00:00), as the SLA fields promise."""
    return None if value is None else as_utc(value).isoformat()


def escalations_json(ticket: Ticket) -> list[dict[str, Any]]:
    return [{"level": e.level, "at": with_offset(e.at)} for e in ticket.escalations]


def ticket_json(ticket: Ticket) -> dict[str, Any]:
    return {
        "ref": ticket.ref,
        "status": ticket.status,
        "subject": ticket.subject,
        "channel": ticket.channel,
        "contact": {
            "name": ticket.contact.name,
            "email": ticket.contact.email,
            "identities": identities_json(ticket.contact),
        },
        "language": ticket.language,
        "priority": ticket.priority,
        "created_at": iso(ticket.created_at),
        "acknowledged_at": iso(ticket.acknowledged_at),
        # Added in issue 10: the first agent reply, who has the ticket, where it is, its labels.
        "first_response_at": iso(ticket.first_response_at),
        "assignee": ticket.assignee,
        "queue": ticket.queue,
        "tags": list(ticket.tags or []),
        # Added in issue 9: prior context and triage, each decision with its cues.
        "context": context_json(ticket.context),
        "intent": ticket.intent,
        "urgency": ticket.urgency,
        "matched_rule": ticket.matched_rule,
        # The first-response due time by the ticket's SLA policy, and the escalation
        # levels it has reached (sla/).
        "sla_due_at": with_offset(ticket.first_response_due_at),
        "escalations": escalations_json(ticket),
        "triage": {
            "intent_cues": _cues(ticket.intent_cues),
            "urgency_cues": _cues(ticket.urgency_cues),
            "priority_cues": _cues(ticket.priority_cues),
            "routing_reason": ticket.routing_reason or None,
        },
        # Added in issue 9 (self-service): the FAQ entries suggested, and the satisfaction answer.
        "suggested_faq": list(ticket.suggested_faq or []),
        "satisfaction_score": ticket.satisfaction_score,
        "messages": [message_json(m) for m in ticket.messages],
    }


def _with_children():
    return (
        selectinload(Ticket.contact).selectinload(Contact.identities),
        selectinload(Ticket.messages),
        selectinload(Ticket.escalations),
    )


def list_tickets_json(session: Session) -> list[dict[str, Any]]:
    tickets = session.scalars(select(Ticket).options(*_with_children()).order_by(Ticket.id))
    return [ticket_json(t) for t in tickets]


def ticket_by_ref_json(session: Session, ref: str) -> dict[str, Any] | None:
    ticket = session.scalar(
        select(Ticket).options(*_with_children()).where(Ticket.ref == ref.strip().upper())
    )
    return ticket_json(ticket) if ticket else None
