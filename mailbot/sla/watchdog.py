"""The SLA watchdog: which escalation levels are due on which tickets (a pure decision),
and one run that records them and hands their messages to the outbox.

A ticket is watched while it is open, not held for review, and has no first agent reply
(`first_response_at`): an answered ticket is never escalated for its first response.
Each level is taken in a transaction of its own; the unique (ticket, level) makes a
second watchdog (another worker, a retried job) fail on it and move on, so every level
happens once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mailbot.runtime import Runtime
from mailbot.sla.config import EscalationStep, Policy, SlaConfig
from mailbot.sla.due import policy_for, step_due_at
from mailbot.sla.escalate import escalate
from mailbot.sla.store import load_config
from mailbot.statuses import TicketStatus
from mailbot.store.models import Escalation, Ticket
from mailbot.timeutil import as_utc, utcnow

log = logging.getLogger("mailbot.sla")

# Tickets looked at per run, oldest first; the next run takes the rest.
WATCH_LIMIT = 5000


@dataclass(frozen=True)
class WatchedTicket:
    id: int
    channel: str
    priority: str
    created_at: datetime
    reached: frozenset[int]  # escalation levels already recorded


@dataclass(frozen=True)
class DueStep:
    ticket_id: int
    policy: Policy
    step: EscalationStep


def due_steps(config: SlaConfig, ticket: WatchedTicket, now: datetime) -> list[DueStep]:
    """The levels of the ticket's policy chain whose time has come and that it has not reached."""
    policy, source = policy_for(config, ticket.channel, ticket.priority)
    return [
        DueStep(ticket.id, policy, step)
        for step in policy.escalate
        if step.level not in ticket.reached and step_due_at(source, policy, step, ticket.created_at) <= now
    ]


def load_watched(runtime: Runtime, older_than: datetime | None = None) -> list[WatchedTicket]:
    """The watched tickets (opened before `older_than`, when given) and their levels reached."""
    watched = (
        Ticket.status == TicketStatus.OPEN,
        Ticket.first_response_at.is_(None),
        Ticket.held_for_review.is_(False),
        *((Ticket.created_at <= older_than,) if older_than is not None else ()),
    )
    with runtime.sessions() as session:
        rows = session.execute(
            select(Ticket.id, Ticket.channel, Ticket.priority, Ticket.created_at)
            .where(*watched)
            .order_by(Ticket.id)
            .limit(WATCH_LIMIT)
        ).all()
        reached: dict[int, set[int]] = defaultdict(set)
        if rows:
            levels = select(Escalation.ticket_id, Escalation.level).join(
                Ticket, Ticket.id == Escalation.ticket_id
            )
            for ticket_id, level in session.execute(levels.where(*watched, Ticket.id <= rows[-1].id)):
                reached[ticket_id].add(level)
    return [
        WatchedTicket(row.id, row.channel, row.priority, as_utc(row.created_at), frozenset(reached[row.id]))
        for row in rows
    ]


def run_watchdog(runtime: Runtime, now: datetime | None = None) -> list[int]:
    """Escalate what is due; returns the outbox rows promised (the caller enqueues them)."""
    now = now or utcnow()
    with runtime.sessions() as session:
        config = load_config(session)
    steps = [step.after_minutes for policy in config.policies for step in policy.escalate]
    if not steps:
        return []
    # A working minute is never shorter than a wall-clock one: a ticket younger than the
    # earliest step cannot have a level due, and is not loaded at all.
    older_than = now - timedelta(minutes=min(steps))
    promised: list[int] = []
    for ticket in load_watched(runtime, older_than):
        for due in due_steps(config, ticket, now):
            outbox_id = _take_level(runtime, due, now)
            if outbox_id is not None:
                promised.append(outbox_id)
    return promised


def _take_level(runtime: Runtime, due: DueStep, now: datetime) -> int | None:
    try:
        with runtime.sessions.begin() as session:
            ticket = session.get(Ticket, due.ticket_id, with_for_update=True)
            # Answered or closed since it was loaded: nothing to escalate any more.
            if ticket is None or ticket.first_response_at is not None or ticket.status != TicketStatus.OPEN:
                return None
            done = escalate(session, ticket, due.policy, due.step, now, runtime.settings.secret_key)
            ref = ticket.ref
    except IntegrityError:
        return None  # another watchdog reached this level first
    log.warning("ticket %s: SLA escalation level %s (%s)", ref, due.step.level, done.actions)
    return done.outbox_id
