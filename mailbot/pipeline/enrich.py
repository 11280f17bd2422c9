"""Enrich: priority from urgency cues, SLA due time, prior context for the agent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.message import InboundMessage
from mailbot.pipeline.urgency import detect_urgency
from mailbot.store.models import Ticket

# First-response targets in hours by priority, until SLA policies are edited in the panel.
FIRST_RESPONSE_HOURS = {"urgent": 2, "high": 8, "normal": 24, "low": 48}


@dataclass(frozen=True)
class Enrichment:
    priority: str
    urgency_cues: tuple[str, ...]
    first_response_hours: int
    first_response_due_at: datetime
    prior_ticket_count: int


def enrich(session: Session, msg: InboundMessage, contact_id: int, now: datetime) -> Enrichment:
    urgency = detect_urgency(msg.subject, msg.text)
    priority = urgency.level if urgency.level in FIRST_RESPONSE_HOURS else "normal"
    hours = FIRST_RESPONSE_HOURS[priority]
    prior = session.scalar(select(func.count()).where(Ticket.contact_id == contact_id)) or 0
    return Enrichment(
        priority=priority,
        urgency_cues=tuple(urgency.cues),
        first_response_hours=hours,
        first_response_due_at=now + timedelta(hours=hours),
        prior_ticket_count=int(prior),
    )
