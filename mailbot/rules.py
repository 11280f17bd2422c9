"""Routing rules in the store: import (replacing them all), load, and the dry run.

The decisions are in pipeline/routing.py; this module only reads and writes them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from mailbot.pipeline.routing import Rule, TicketFacts, parse_rule, parse_rules, route
from mailbot.store.models import Mailbox, RoutingRule, Ticket
from mailbot.store.read_once import read_once

# How many of the newest tickets a dry run looks at.
DRY_RUN_TICKETS = 200


def import_rules(session: Session, data: Any, now: datetime) -> list[Rule]:
    """Replace every rule with those in `data` (a decoded rules file), or RuleError and
    nothing changed."""
    rules = parse_rules(data)
    session.execute(delete(RoutingRule))
    session.flush()  # the old positions and names are free before the new rows take them
    session.add_all(
        RoutingRule(position=position, name=rule.name, definition=dict(rule.definition), updated_at=now)
        for position, rule in enumerate(rules, 1)
    )
    return rules


@read_once
def load_rules(session: Session) -> list[Rule]:
    rows = session.execute(
        select(RoutingRule.id, RoutingRule.updated_at, RoutingRule.definition).order_by(RoutingRule.position)
    )
    return [_parsed(row.id, row.updated_at, json.dumps(row.definition)) for row in rows]


@lru_cache(maxsize=1024)
def _parsed(rule_id: int, updated_at: datetime, definition: str) -> Rule:
    """Checking a rule costs more than matching it (measured: about 65 us against 10 to
    35 us a rule); every new ticket loads them all, so each stored version is checked once."""
    return parse_rule(json.loads(definition), "stored rule")


def export_rules(session: Session) -> list[dict[str, Any]]:
    return [dict(rule.definition) for rule in load_rules(session)]


def facts_of(ticket: Ticket, mailbox_name: str | None) -> TicketFacts:
    """What the rules see of a stored ticket: its first customer message."""
    first = next((m for m in ticket.messages if m.kind in ("customer", "callback")), None)
    text = f"{first.subject}\n{first.text}" if first else ticket.subject
    return TicketFacts(
        channel=ticket.channel,
        mailbox=mailbox_name,
        language=ticket.language,
        text=text,
        intent=ticket.intent,
        attributes=(ticket.context or {}).get("attributes", {}),
        tags=tuple(ticket.tags or ()),  # an agent's labels count in a dry run
    )


@dataclass(frozen=True)
class DryRunMatch:
    ref: str
    matched_rule: str | None
    queue: str
    priority: str | None
    assignee: str | None
    tags: tuple[str, ...]
    reason: str
    current_queue: str


def dry_run(session: Session, rules: Sequence[Rule], limit: int = DRY_RUN_TICKETS) -> list[DryRunMatch]:
    """What these rules would do to the newest tickets, changing nothing."""
    mailboxes = {row.id: row.name for row in session.execute(select(Mailbox.id, Mailbox.name))}
    tickets = session.scalars(
        select(Ticket).options(selectinload(Ticket.messages)).order_by(Ticket.id.desc()).limit(limit)
    )
    results = []
    for ticket in tickets:
        routing = route(rules, facts_of(ticket, mailboxes.get(ticket.mailbox_id or 0)))
        results.append(
            DryRunMatch(
                ref=ticket.ref,
                matched_rule=routing.matched_rule,
                queue=routing.queue,
                priority=routing.priority,
                assignee=routing.assignee,
                tags=routing.tags,
                reason=routing.reason,
                current_queue=ticket.queue,
            )
        )
    return results


def dry_run_json(results: Sequence[DryRunMatch]) -> dict[str, Any]:
    by_rule: dict[str, int] = {}
    for result in results:
        if result.matched_rule:
            by_rule[result.matched_rule] = by_rule.get(result.matched_rule, 0) + 1
    return {
        "tickets_checked": len(results),
        "matches_by_rule": by_rule,
        "tickets": [
            {
                "ref": r.ref,
                "matched_rule": r.matched_rule,
                "queue": r.queue,
                "current_queue": r.current_queue,
                "priority": r.priority,
                "assignee": r.assignee,
                "tags": list(r.tags),
                "reason": r.reason,
            }
            for r in results
            if r.matched_rule or r.tags
        ],
    }
