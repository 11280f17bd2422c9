"""What agents may change on a ticket: the status lifecycle, and changes applied to a
ticket as the store holds it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mailbot.sla.config import parse_config
from mailbot.statuses import TicketStatus
from mailbot.store.models import Ticket
from mailbot.ticket_changes import ChangeRefused, apply_changes, status_change_refused

OPEN, PENDING, SOLVED, CLOSED = (s.value for s in TicketStatus)
ALLOWED = {
    (OPEN, PENDING),
    (OPEN, SOLVED),
    (PENDING, OPEN),
    (PENDING, SOLVED),
    (SOLVED, OPEN),
    (SOLVED, PENDING),
    (SOLVED, CLOSED),
}


@pytest.mark.parametrize("current", [OPEN, PENDING, SOLVED, CLOSED])
@pytest.mark.parametrize("new", [OPEN, PENDING, SOLVED, CLOSED])
def test_the_lifecycle(current: str, new: str) -> None:
    refused = status_change_refused(current, new)
    if current == new or (current, new) in ALLOWED:
        assert refused is None
    else:
        assert refused is not None and current in refused and new in refused


CREATED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _ticket() -> Ticket:
    return Ticket(
        ref="MB-7K3Q9P",
        status=OPEN,
        priority="normal",
        queue="support",
        assignee=None,
        tags=[],
        created_at=CREATED,
        updated_at=CREATED,
        first_response_due_at=CREATED + timedelta(hours=24),
    )


def test_only_what_is_named_changes_and_the_change_time_moves_only_then() -> None:
    ticket, now = _ticket(), CREATED + timedelta(hours=1)
    assert apply_changes(ticket, {"queue": "support", "tags": []}, now) == []
    assert ticket.updated_at == CREATED
    tags = ["vip"]
    assert apply_changes(ticket, {"assignee": "jane@acme.test", "tags": tags}, now) == ["assignee", "tags"]
    tags.append("changed later")
    assert ticket.tags == ["vip"] and ticket.updated_at == now


BY_PRIORITY = parse_config(
    {
        "policies": [
            {"name": "urgent", "priorities": ["urgent"], "first_response_minutes": 120},
            {"name": "rest", "first_response_minutes": 48 * 60},
        ]
    }
)


def test_a_new_priority_resets_the_first_response_clock_until_someone_answered() -> None:
    ticket = _ticket()
    apply_changes(ticket, {"priority": "urgent"}, CREATED, BY_PRIORITY)
    assert ticket.first_response_due_at == CREATED + timedelta(hours=2)
    ticket.first_response_at = CREATED + timedelta(minutes=30)
    apply_changes(ticket, {"priority": "low"}, CREATED, BY_PRIORITY)
    assert ticket.first_response_due_at == CREATED + timedelta(hours=2)  # already answered: history


def test_without_a_configuration_the_built_in_targets_apply() -> None:
    ticket = _ticket()
    ticket.channel = "whatsapp"
    apply_changes(ticket, {"priority": "low"}, CREATED)
    assert ticket.first_response_due_at == CREATED + timedelta(hours=2)  # chat: 2 hours


def test_a_refused_status_changes_nothing() -> None:
    ticket = _ticket()
    with pytest.raises(ChangeRefused, match="open ticket can become"):
        apply_changes(ticket, {"status": CLOSED, "queue": "billing"}, CREATED + timedelta(hours=1))
    assert (ticket.status, ticket.queue, ticket.updated_at) == (OPEN, "support", CREATED)
