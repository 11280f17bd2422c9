"""WhatsApp's 24-hour customer-care window: text inside it, the approved template or a
hold with its reason outside it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mailbot.pipeline.whatsapp_window import decide

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ago", "template", "way"),
    [
        (timedelta(minutes=5), "", "text"),
        (timedelta(hours=23, minutes=59), "case_update", "text"),
        (timedelta(hours=24), "case_update", "template"),
        (timedelta(days=3), "case_update", "template"),
        (timedelta(hours=24, seconds=1), "", "held"),
        (None, "case_update", "template"),
        (None, "", "held"),
    ],
)
def test_the_window_decides_how_a_reply_goes(ago: timedelta | None, template: str, way: str) -> None:
    last = NOW - ago if ago is not None else None
    decision = decide(last, NOW, template=template, template_language="es")
    assert decision.way == way
    if way == "template":
        assert (decision.template, decision.template_language) == ("case_update", "es")


def test_a_held_reply_says_when_the_customer_last_wrote_and_what_to_configure() -> None:
    decision = decide(datetime(2026, 11, 29, 8, 15, tzinfo=UTC), NOW, template="", template_language="en")
    assert "2026-11-29 08:15 UTC" in decision.reason and "`template`" in decision.reason
    assert "24-hour" in decision.reason


def test_a_naive_time_from_sqlite_is_read_as_utc() -> None:
    assert decide(datetime(2026, 12, 1, 11, 0), NOW, template="", template_language="en").way == "text"
