from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mailbot.message import InboundMessage
from mailbot.pipeline.enrich import Enrichment, enrich

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def message(**overrides: Any) -> InboundMessage:
    fields: dict[str, Any] = {
        "channel": "email",
        "sender_address": "ana@customer.example",
        "sender_name": "Ana",
        "subject": "Mi pedido no ha llegado",
        "text": "Hola, hice un pedido hace dos semanas.",
    }
    fields.update(overrides)
    return InboundMessage(**fields)


def test_an_ordinary_message_is_normal() -> None:
    # Its due time follows from its SLA policy once triage settles the priority (test_sla_due.py).
    assert enrich(message(), NOW) == Enrichment(priority="normal", urgency_cues=())


@pytest.mark.parametrize(
    ("subject", "text", "priority"),
    [
        ("URGENTE: pedido", "Hola", "urgent"),
        ("Pedido", "Lo necesito lo antes posible.", "urgent"),
        ("Rimborso", "Ho bisogno del rimborso subito.", "urgent"),
        ("Order", "I will contact my lawyer.", "high"),
        ("WHERE IS MY ORDER NOW", "Hello", "high"),
        ("Pedido", "No es urgente, cuando podáis.", "normal"),
        ("Danno", "Ho subito un danno alla consegna.", "normal"),
    ],
)
def test_priority_follows_the_urgency(subject: str, text: str, priority: str) -> None:
    assert enrich(message(subject=subject, text=text), NOW).priority == priority


def test_the_cues_say_why_the_priority_rose() -> None:
    result = enrich(message(subject="Urgent!!", text="Please answer immediately."), NOW)
    assert result.priority == "urgent"
    assert result.urgency_cues == ("urgent: urgent", "immediately: immediately", "repeated exclamation marks")


def test_quoted_history_is_not_read_for_urgency() -> None:
    # Only what the customer newly wrote counts: our own acknowledgement quoted below
    # ("we answer as soon as possible") must not make every reply urgent.
    result = enrich(message(text="Gracias.", quoted_text="> Contestaremos lo antes posible."), NOW)
    assert result.priority == "normal"
