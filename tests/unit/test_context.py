from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mailbot.pipeline.context import PRIOR_TICKETS, PriorTicket, build_context, repeated_contact

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def prior(
    ref: str, status: str, hours_ago: float, channel: str = "email", satisfaction: object = None
) -> PriorTicket:
    return PriorTicket(ref, status, channel, f"about {ref}", NOW - timedelta(hours=hours_ago), satisfaction)


def context(tickets: list[PriorTicket], **overrides: object) -> dict[str, object]:
    arguments: dict[str, object] = {
        "channel": "whatsapp",
        "language": "es",
        "contact_since": NOW - timedelta(days=400),
        "attributes": {"plan": "gold"},
        "attributes_pending": False,
        "now": NOW,
    }
    arguments.update(overrides)
    return build_context(tickets, **arguments)  # type: ignore[arg-type]


def test_a_first_contact_has_an_empty_history() -> None:
    result = context([], contact_since=NOW)
    assert result["prior_tickets"] == [] and result["open_tickets"] == [] and result["last_tickets"] == []
    assert result["channels"] == ["whatsapp"]
    assert result["first_contact_at"] == "2026-11-23T09:30:00Z"
    assert result["last_satisfaction"] is None and result["repeated_contact"] is False
    assert result["attributes"] == {"plan": "gold"} and result["language"] == "es"


def test_prior_and_open_tickets_with_status_and_outcome() -> None:
    tickets = [prior("MB-3", "pending", 100), prior("MB-2", "closed", 500, "x"), prior("MB-1", "solved", 900)]
    result = context(tickets)
    assert result["prior_tickets"] == ["MB-3", "MB-2", "MB-1"]
    # solved still takes new messages (statuses.ACTIVE_TICKET_STATUSES); closed does not
    assert result["open_tickets"] == ["MB-3", "MB-1"]
    assert [(t["ref"], t["status"], t["outcome"]) for t in result["last_tickets"]] == [  # type: ignore[attr-defined]
        ("MB-3", "pending", "waiting for the customer"),
        ("MB-2", "closed", "closed"),
        ("MB-1", "solved", "solved"),
    ]
    assert result["channels"] == ["email", "whatsapp", "x"]


def test_only_the_newest_few_are_listed_but_every_open_one() -> None:
    tickets = [prior(f"MB-{n}", "open", 100 + n) for n in range(PRIOR_TICKETS + 3)]
    result = context(tickets)
    assert len(result["prior_tickets"]) == PRIOR_TICKETS  # type: ignore[arg-type]
    assert len(result["open_tickets"]) == PRIOR_TICKETS + 3  # type: ignore[arg-type]


def test_first_contact_is_the_earliest_of_contact_and_tickets() -> None:
    result = context([prior("MB-1", "closed", 24 * 30)], contact_since=NOW - timedelta(days=1))
    assert result["first_contact_at"] == "2026-10-24T09:30:00Z"


def test_last_satisfaction_is_the_newest_rated_ticket() -> None:
    tickets = [
        prior("MB-3", "open", 10),
        prior("MB-2", "solved", 60, satisfaction=2),
        prior("MB-1", "solved", 90, satisfaction=5),
    ]
    assert context(tickets)["last_satisfaction"] == 2


def test_repeated_contact_within_48_hours() -> None:
    assert repeated_contact([prior("MB-1", "open", 47)], NOW) is True
    assert repeated_contact([prior("MB-1", "open", 49)], NOW) is False
    assert context([prior("MB-1", "open", 3)])["repeated_contact"] is True


def test_a_pending_lookup_is_said() -> None:
    assert context([], attributes={}, attributes_pending=True)["attributes_pending"] is True
