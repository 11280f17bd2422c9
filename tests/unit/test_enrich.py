from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mailbot.message import InboundMessage
from mailbot.pipeline.enrich import FIRST_RESPONSE_HOURS, Enrichment, enrich

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


def test_an_ordinary_message_is_normal_and_due_in_a_day() -> None:
    assert enrich(message(), NOW) == Enrichment(
        priority="normal",
        urgency_cues=(),
        first_response_hours=24,
        first_response_due_at=NOW + timedelta(hours=24),
    )


@pytest.mark.parametrize(
    ("subject", "text", "priority", "hours"),
    [
        ("URGENTE: pedido", "Hola", "urgent", 2),
        ("Pedido", "Lo necesito lo antes posible.", "urgent", 2),
        ("Rimborso", "Ho bisogno del rimborso subito.", "urgent", 2),
        ("Order", "I will contact my lawyer.", "high", 8),
        ("WHERE IS MY ORDER NOW", "Hello", "high", 8),
        ("Pedido", "No es urgente, cuando podáis.", "normal", 24),
        ("Danno", "Ho subito un danno alla consegna.", "normal", 24),
    ],
)
def test_priority_and_due_time_follow_the_urgency(subject: str, text: str, priority: str, hours: int) -> None:
    result = enrich(message(subject=subject, text=text), NOW)
    assert (result.priority, result.first_response_hours) == (priority, hours)
    assert result.first_response_due_at == NOW + timedelta(hours=hours)


def test_the_cues_say_why_the_priority_rose() -> None:
    result = enrich(message(subject="Urgent!!", text="Please answer immediately."), NOW)
    assert result.priority == "urgent"
    assert result.urgency_cues == ("urgent: urgent", "immediately: immediately", "repeated exclamation marks")


def test_quoted_history_is_not_read_for_urgency() -> None:
    # Only what the customer newly wrote counts: our own acknowledgement quoted below
    # ("we answer as soon as possible") must not make every reply urgent.
    result = enrich(message(text="Gracias.", quoted_text="> Contestaremos lo antes posible."), NOW)
    assert result.priority == "normal"


def test_every_priority_has_a_first_response_target_and_higher_is_sooner() -> None:
    hours = [FIRST_RESPONSE_HOURS[p] for p in ("urgent", "high", "normal", "low")]
    assert hours == sorted(hours) and len(set(hours)) == 4


def test_the_due_time_is_from_the_moment_given() -> None:
    later = NOW + timedelta(days=3, minutes=7)
    assert enrich(message(), later).first_response_due_at == later + timedelta(hours=24)
