"""Priority from urgency, repeated contact and what the customer data says.

Pure. The routing rules may still set another priority (routing.py); this is the one a
ticket gets without a rule, with a cue for every step, so an agent sees why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mailbot.pipeline.intent import PRAISE
from mailbot.pipeline.urgency import HIGH, URGENT
from mailbot.text import fold

# Lowest first: the one list of priorities (SLA policies give each its targets, sla/).
PRIORITIES = ("low", "normal", "high", "urgent")
_RANK = {priority: rank for rank, priority in enumerate(PRIORITIES)}
# How recent a previous contact must be for a new message to count as chasing it.
REPEAT_WINDOW_HOURS = 48
# Attribute values a CSV or a CRM writes for "yes" (the HTTP source may send a JSON true).
_YES = frozenset({"yes", "y", "true", "1", "si", "sim", "oui", "ja", "vip"})
# payment_status values that mean the customer's money is in trouble.
PAYMENT_PROBLEMS = frozenset(
    {"failed", "declined", "overdue", "past_due", "past due", "unpaid", "chargeback", "blocked"}
)


@dataclass(frozen=True)
class Priority:
    priority: str
    cues: tuple[str, ...] = ()


def is_yes(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return fold(str(value)).strip() in _YES


def raise_to(current: str, floor: str) -> str:
    return floor if _RANK[floor] > _RANK[current] else current


def decide_priority(
    urgency: str, intent: str, attributes: Mapping[str, Any], repeated_contact: bool
) -> Priority:
    priority = "normal"
    cues: list[str] = []
    if urgency == URGENT:
        priority, cues = "urgent", ["urgency: urgent"]
    elif urgency == HIGH:
        priority, cues = "high", ["urgency: high"]
    if is_yes(attributes.get("vip", "")):
        priority = raise_to(priority, "high")
        cues.append("customer: vip")
    payment = fold(str(attributes.get("payment_status", ""))).strip()
    if payment in PAYMENT_PROBLEMS:
        priority = raise_to(priority, "high")
        cues.append(f"customer: payment {payment}")
    if repeated_contact:
        # Chasing within two days: at least high. Only the customer's words make it urgent.
        priority = raise_to(priority, "high")
        cues.append(f"repeated contact within {REPEAT_WINDOW_HOURS} hours")
    if not cues and intent == PRAISE:
        priority, cues = "low", ["intent: praise"]
    return Priority(priority, tuple(cues))
