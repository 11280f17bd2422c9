from __future__ import annotations

import pytest

from mailbot.pipeline.triage import Priority, decide_priority, is_yes


def test_nothing_special_is_normal() -> None:
    assert decide_priority("normal", "question", {}, False) == Priority("normal", ())


@pytest.mark.parametrize(("urgency", "priority"), [("urgent", "urgent"), ("high", "high")])
def test_urgency_raises_priority(urgency: str, priority: str) -> None:
    assert decide_priority(urgency, "question", {}, False) == Priority(priority, (f"urgency: {urgency}",))


@pytest.mark.parametrize("vip", ["yes", "Yes", "true", "1", "sí", "oui", "ja", True])
def test_a_vip_is_high(vip: object) -> None:
    assert decide_priority("normal", "question", {"vip": vip}, False) == Priority("high", ("customer: vip",))


@pytest.mark.parametrize("vip", ["no", "false", "0", "", False])
def test_not_a_vip(vip: object) -> None:
    assert decide_priority("normal", "question", {"vip": vip}, False).priority == "normal"


def test_a_vip_never_lowers_urgent() -> None:
    assert decide_priority("urgent", "complaint", {"vip": "yes"}, False).priority == "urgent"


@pytest.mark.parametrize("status", ["failed", "Overdue", "past_due", "declined"])
def test_a_payment_problem_is_high(status: str) -> None:
    result = decide_priority("normal", "question", {"payment_status": status}, False)
    assert result.priority == "high" and result.cues == (f"customer: payment {status.lower()}",)


def test_a_paid_customer_is_normal() -> None:
    assert decide_priority("normal", "question", {"payment_status": "paid"}, False).priority == "normal"


@pytest.mark.parametrize(
    ("urgency", "priority"), [("normal", "high"), ("high", "high"), ("urgent", "urgent")]
)
def test_repeated_contact_raises_to_high(urgency: str, priority: str) -> None:
    result = decide_priority(urgency, "question", {}, True)
    assert result.priority == priority
    assert result.cues[-1] == "repeated contact within 48 hours"


def test_plain_praise_is_low() -> None:
    assert decide_priority("normal", "praise", {}, False) == Priority("low", ("intent: praise",))


def test_praise_from_a_vip_is_not_low() -> None:
    assert decide_priority("normal", "praise", {"vip": "yes"}, False).priority == "high"


def test_every_step_leaves_a_cue() -> None:
    result = decide_priority("high", "complaint", {"vip": "yes", "payment_status": "failed"}, True)
    assert result.priority == "high"
    assert result.cues == (
        "urgency: high",
        "customer: vip",
        "customer: payment failed",
        "repeated contact within 48 hours",
    )


@pytest.mark.parametrize(("value", "yes"), [("YES", True), ("Sim", True), ("maybe", False), (None, False)])
def test_is_yes(value: object, yes: bool) -> None:
    assert is_yes(value) is yes
