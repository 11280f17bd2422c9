"""Enrich: priority from urgency cues, and the first-response due time that follows from it.

Pure: everything it needs is in the message and the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from mailbot.message import InboundMessage
from mailbot.pipeline.urgency import detect_urgency

# First-response targets in hours by priority, until SLA policies are edited in the panel.
FIRST_RESPONSE_HOURS = {"urgent": 2, "high": 8, "normal": 24, "low": 48}
DEFAULT_PRIORITY = "normal"


@dataclass(frozen=True)
class Enrichment:
    priority: str
    urgency_cues: tuple[str, ...]
    first_response_hours: int
    first_response_due_at: datetime


def enrich(msg: InboundMessage, now: datetime) -> Enrichment:
    urgency = detect_urgency(msg.subject, msg.text)
    # A level urgency may gain before it has a target here files at the default.
    priority = urgency.level if urgency.level in FIRST_RESPONSE_HOURS else DEFAULT_PRIORITY
    hours = FIRST_RESPONSE_HOURS[priority]
    return Enrichment(
        priority=priority,
        urgency_cues=tuple(urgency.cues),
        first_response_hours=hours,
        first_response_due_at=now + timedelta(hours=hours),
    )
