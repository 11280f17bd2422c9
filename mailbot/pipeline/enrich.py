"""Enrich: the priority a new ticket starts from, by urgency cues in the message.

Pure: everything it needs is in the message. The first-response due time follows from
the ticket's SLA policy once triage has settled its priority (sla/due.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mailbot.message import InboundMessage
from mailbot.pipeline.triage import PRIORITIES
from mailbot.pipeline.urgency import detect_urgency

DEFAULT_PRIORITY = "normal"


@dataclass(frozen=True)
class Enrichment:
    priority: str
    urgency_cues: tuple[str, ...]


def enrich(msg: InboundMessage, now: datetime) -> Enrichment:
    urgency = detect_urgency(msg.subject, msg.text)
    # A level urgency may gain that is not a priority files at the default.
    priority = urgency.level if urgency.level in PRIORITIES else DEFAULT_PRIORITY
    return Enrichment(priority=priority, urgency_cues=tuple(urgency.cues))
