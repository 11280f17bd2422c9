"""The dashboard: what needs attention now."""

from __future__ import annotations

from datetime import timedelta

import redis
from flask import Blueprint, render_template
from sqlalchemy import exists, func, select
from sqlalchemy.orm import selectinload

from mailbot.queue import QUEUE_NAMES, queue
from mailbot.statuses import InboundStatus, OutboxStatus, TicketStatus
from mailbot.store.models import Alert, Inbound, Mailbox, Message, OutboxEntry, Ticket
from mailbot.timeutil import utcnow
from mailbot.web.failures import failed_job_count
from mailbot.web.store import db, runtime

bp = Blueprint("dashboard", __name__)

# A first response due within this long is "at risk": time enough for someone to act.
SLA_RISK_WINDOW = timedelta(hours=2)


def _queue_depths() -> dict[str, int] | None:
    """Jobs waiting and failed per rq queue; None when Redis does not answer."""
    try:
        depths = {name: queue(runtime(), name).count for name in QUEUE_NAMES}
        depths["failed"] = sum(failed_job_count(name) for name in QUEUE_NAMES)
        return depths
    except (redis.ConnectionError, redis.TimeoutError):
        return None


@bp.route("/")
def index() -> str:
    session = db()
    now = utcnow()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    by_channel = session.execute(
        select(Inbound.channel, func.count(Inbound.id))
        .where(Inbound.stored_at >= today)
        .group_by(Inbound.channel)
        .order_by(Inbound.channel)
    ).all()
    unacknowledged_query = select(Ticket).where(
        Ticket.status == TicketStatus.OPEN, Ticket.acknowledged_at.is_(None)
    )
    unacknowledged_total = (
        session.scalar(select(func.count()).select_from(unacknowledged_query.subquery())) or 0
    )
    unacknowledged = list(
        session.scalars(
            unacknowledged_query.options(selectinload(Ticket.contact))
            .order_by(Ticket.created_at.desc())
            .limit(10)
        )
    )
    ack_status = {
        key: status
        for key, status in session.execute(
            select(OutboxEntry.key, OutboxEntry.status).where(
                OutboxEntry.key.in_([f"ack:{t.ref}" for t in unacknowledged])
            )
        )
    }
    answered = exists().where(Message.ticket_id == Ticket.id, Message.kind == "agent")
    at_risk = list(
        session.scalars(
            select(Ticket)
            .options(selectinload(Ticket.contact))
            .where(
                Ticket.status == TicketStatus.OPEN,
                Ticket.first_response_due_at.is_not(None),
                Ticket.first_response_due_at <= now + SLA_RISK_WINDOW,
                ~answered,
            )
            .order_by(Ticket.first_response_due_at)
            .limit(20)
        )
    )
    failures = {
        "quarantined": session.scalar(
            select(func.count(Inbound.id)).where(Inbound.status == InboundStatus.QUARANTINED)
        ),
        "outbox": session.scalar(
            select(func.count(OutboxEntry.id)).where(
                OutboxEntry.status.in_((OutboxStatus.FAILED, OutboxStatus.UNCERTAIN))
            )
        ),
    }
    waiting = {
        "inbound": session.scalar(
            select(func.count(Inbound.id)).where(Inbound.status == InboundStatus.RECEIVED)
        ),
        "outbox": session.scalar(
            select(func.count(OutboxEntry.id)).where(OutboxEntry.status == OutboxStatus.PENDING)
        ),
    }
    alerts = list(
        session.scalars(select(Alert).where(Alert.resolved_at.is_(None)).order_by(Alert.id.desc()).limit(10))
    )
    mailboxes = list(session.scalars(select(Mailbox).order_by(Mailbox.name)))
    return render_template(
        "panel/dashboard.html",
        by_channel=by_channel,
        messages_today=sum(count for _, count in by_channel),
        unacknowledged=unacknowledged,
        unacknowledged_total=unacknowledged_total,
        ack_status=ack_status,
        at_risk=at_risk,
        now=now,
        depths=_queue_depths(),
        waiting=waiting,
        failures=failures,
        alerts=alerts,
        mailboxes=mailboxes,
    )
