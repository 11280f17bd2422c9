"""Escalation by hand, the pure parts: who may be handed what, who has the ticket after,
and what the customer is told in each language."""

from __future__ import annotations

import pytest

from mailbot.store.models import Ticket
from mailbot.ticket_handoff import CUSTOMER_NOTICE, HandoffRequest, check_request, customer_notice, new_holder

AGENTS = frozenset({"jane@acme.test", "li@acme.test"})


def _ticket(queue: str = "support", assignee: str | None = None, status: str = "open") -> Ticket:
    return Ticket(ref="MB-7K3Q9P", queue=queue, assignee=assignee, status=status, language="es")


@pytest.mark.parametrize(
    ("ticket", "request_", "holder"),
    [
        (_ticket(), HandoffRequest("billing", None, ""), ("billing", None)),
        (_ticket(assignee="jane@acme.test"), HandoffRequest("billing", None, ""), ("billing", None)),
        (_ticket(), HandoffRequest(None, "li@acme.test", ""), ("support", "li@acme.test")),
        (_ticket(), HandoffRequest("cards", "li@acme.test", ""), ("cards", "li@acme.test")),
    ],
)
def test_who_has_the_ticket_after(
    ticket: Ticket, request_: HandoffRequest, holder: tuple[str, str | None]
) -> None:
    assert check_request(ticket, request_, AGENTS) is None
    assert new_holder(ticket, request_) == holder


@pytest.mark.parametrize(
    ("ticket", "request_", "reason"),
    [
        (_ticket(status="closed"), HandoffRequest("billing", None, ""), "closed"),
        (_ticket(), HandoffRequest(None, None, "just a note"), "name the specialist queue"),
        (_ticket(), HandoffRequest("Billing Team", None, ""), "lower-case"),
        (_ticket(), HandoffRequest(None, "stranger@evil.test", ""), "is not an agent"),
        (_ticket(queue="billing"), HandoffRequest("billing", None, ""), "already with the billing queue"),
        (
            _ticket(assignee="li@acme.test"),
            HandoffRequest(None, "li@acme.test", ""),
            "already with li@acme.test (support)",
        ),
        (_ticket(), HandoffRequest("billing", None, "x" * 10_001), "over 10,000"),
    ],
)
def test_a_handoff_that_cannot_be_made_says_why(
    ticket: Ticket, request_: HandoffRequest, reason: str
) -> None:
    refused = check_request(ticket, request_, AGENTS)
    assert refused is not None and reason in refused


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("es", "especialista"),
        ("it", "specialista"),
        ("en", "specialist"),
        ("pt", "especialista"),
        ("fr", "spécialiste"),
        ("de", "Spezialisten"),
    ],
)
def test_the_customer_is_told_in_their_language(language: str, words: str) -> None:
    text = customer_notice(language, "MB-7K3Q9P", "en")
    assert words in text and "MB-7K3Q9P" in text
    assert text == CUSTOMER_NOTICE[language].format(ref="MB-7K3Q9P")


def test_an_unknown_language_falls_back_to_the_default_then_english() -> None:
    assert customer_notice("ja", "MB-1", "it") == CUSTOMER_NOTICE["it"].format(ref="MB-1")
    assert customer_notice("ja", "MB-1", "ja") == CUSTOMER_NOTICE["en"].format(ref="MB-1")
