"""One escalation level of one ticket: recorded, and its actions promised (unsaved rows
until the caller's transaction commits them all together).

- notify `mailto:ADDRESS`: a mail through the outbox, by the SMTP server of the ticket's
  mailbox (the first mailbox for a chat ticket), from the support address, marked
  automatic (Auto-Submitted: auto-generated) and with the X-Mailbot-Notification marker
  agent notifications carry (senders/smtp.py), so a copy landing in a support mailbox is
  our own echo, never a ticket.
- notify `slack:CHANNEL_ID`: a post in that Slack channel through the first configured
  Slack channel's bot token (senders/slack.py).
- raise_priority: one step up (normal -> high -> urgent).

The outbox key `escalation:<ticket id>:<level>` and the escalations table's unique
(ticket, level) are what make each level happen once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.pipeline.agent_context import context_lines, load_context
from mailbot.pipeline.agent_reply import reply_message_id
from mailbot.pipeline.chat_ack import chat_message_id
from mailbot.pipeline.subjects import normalize_subject
from mailbot.pipeline.triage import PRIORITIES
from mailbot.sla.config import EscalationStep, Policy
from mailbot.store.models import Alert, Channel, Escalation, Mailbox, OutboxEntry, Ticket
from mailbot.timeutil import as_utc

ESCALATION = "escalation"  # the outbox kind
FROM_NAME = "mailbot"


def escalation_key(ticket_id: int, level: int) -> str:
    return f"escalation:{ticket_id}:{level}"


def raised(priority: str) -> str:
    """One step up; urgent stays urgent."""
    rank = PRIORITIES.index(priority) if priority in PRIORITIES else 1
    return PRIORITIES[min(rank + 1, len(PRIORITIES) - 1)]


def escalation_subject(ticket: Ticket, level: int) -> str:
    return (
        f"[#{ticket.ref}] SLA escalation level {level}: {ticket.subject or 'no first response yet'}".rstrip()
    )


def escalation_text(ticket: Ticket, policy: Policy, level: int, now: datetime, context: list[str]) -> str:
    due = ticket.first_response_due_at
    if due is None:
        when = "no due time"
    else:
        minutes = int((as_utc(due) - now).total_seconds() // 60)
        late = f"overdue by {-minutes} min" if minutes < 0 else f"due in {minutes} min"
        when = f"{as_utc(due).strftime('%Y-%m-%d %H:%M UTC')} ({late})"
    lines = [
        f"Ticket {ticket.ref} has had no first response: "
        f"escalation level {level} of SLA policy {policy.name!r}.",
        f"First response due: {when}",
        "",
        "-- ",
        *context,
        "",
        "Answer the customer in the panel; this mail is not relayed to them.",
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Escalated:
    escalation_id: int
    outbox_id: int | None
    actions: str


def escalate(
    session: Session, ticket: Ticket, policy: Policy, step: EscalationStep, now: datetime, secret_key: str
) -> Escalated:
    """Record level `step.level` on `ticket` and promise what it does. The caller's
    transaction fails on the unique (ticket, level) if another watchdog got there first."""
    record = Escalation(ticket_id=ticket.id, level=step.level, policy=policy.name, at=now, actions="")
    session.add(record)
    session.flush()  # the unique pair is checked here, before anything else is written
    actions: list[str] = []
    entry: OutboxEntry | None = None
    if step.raise_priority:
        before, ticket.priority = ticket.priority, raised(ticket.priority)
        if ticket.priority != before:
            ticket.priority_cues = ", ".join(
                [c for c in (ticket.priority_cues or "").split(", ") if c]
                + [f"SLA escalation level {step.level}"]
            )
            ticket.updated_at = now
        actions.append(f"priority {before} -> {ticket.priority}")
    if step.notify:
        context = context_lines(load_context(session, ticket))
        text = escalation_text(ticket, policy, step.level, now, context)
        key = escalation_key(ticket.id, step.level)
        build = _mail_entry if step.notify_kind == "mailto" else _slack_entry
        entry, problem = build(session, ticket, step, key, text, secret_key)
        if entry is not None:
            session.add(entry)
            session.flush()
            actions.append(f"notified {step.notify}")
        else:
            actions.append(f"could not notify {step.notify}: {problem}")
            session.add(Alert(kind="escalation_undeliverable", detail=f"{ticket.ref}: {problem}"))
    record.actions = "; ".join(actions)
    record.outbox_id = entry.id if entry is not None else None
    return Escalated(record.id, record.outbox_id, record.actions)


def _mail_entry(
    session: Session, ticket: Ticket, step: EscalationStep, key: str, text: str, secret_key: str
) -> tuple[OutboxEntry | None, str]:
    mailbox = session.get(Mailbox, ticket.mailbox_id) if ticket.mailbox_id else None
    mailbox = mailbox or session.scalar(select(Mailbox).order_by(Mailbox.id).limit(1))
    if mailbox is None:
        return None, "no mailbox is configured to send mail through"
    support = ticket.support_address or mailbox.address
    entry = OutboxEntry(
        key=key,
        kind=ESCALATION,
        channel="email",
        ticket_id=ticket.id,
        mailbox_id=mailbox.id,
        to_address=step.notify_target,
        from_address=support,
        from_name=FROM_NAME,
        subject=escalation_subject(ticket, step.level),
        body=text,
        internet_message_id=reply_message_id(secret_key, key, support),
        normalized_subject=normalize_subject(ticket.subject),
    )
    return entry, ""


def _slack_entry(
    session: Session, ticket: Ticket, step: EscalationStep, key: str, text: str, secret_key: str
) -> tuple[OutboxEntry | None, str]:
    channel = session.scalar(
        select(Channel)
        .where(Channel.type == "slack", Channel.enabled.is_(True))
        .order_by(Channel.id)
        .limit(1)
    )
    if channel is None:
        return None, "no Slack channel is configured to post through (mailbot channel add slack ...)"
    entry = OutboxEntry(
        key=key,
        kind=ESCALATION,
        channel="slack",
        channel_id=channel.id,
        channel_fields=json.dumps({"channel": step.notify_target, "ticket_ref": ticket.ref}, sort_keys=True),
        ticket_id=ticket.id,
        to_address=step.notify_target,
        from_address="slack channel",
        subject="",
        body=f"*{escalation_subject(ticket, step.level)}*\n{text}",
        internet_message_id=chat_message_id(secret_key, key, "slack"),
    )
    return entry, ""
