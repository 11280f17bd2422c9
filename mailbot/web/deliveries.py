"""Delivery to agents: each queue's targets, and the log of what was delivered to them.

The log is the outbox's notification rows (pipeline/notify.py), newest first: each
target and message once, with its status, attempts and the last error; a row that
failed for good is also on the failures page, where it can be retried."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from mailbot.delivery_targets import all_targets
from mailbot.pipeline.notify import NOTIFICATION
from mailbot.store.models import OutboxEntry, Ticket
from mailbot.web.store import db

bp = Blueprint("deliveries", __name__)

LOG_SIZE = 200


@bp.route("/deliveries")
def index() -> str:
    log = (
        db()
        .execute(
            select(OutboxEntry, Ticket.ref)
            .outerjoin(Ticket, Ticket.id == OutboxEntry.ticket_id)
            .where(OutboxEntry.kind == NOTIFICATION)
            .order_by(OutboxEntry.id.desc())
            .limit(LOG_SIZE)
        )
        .all()
    )
    return render_template("panel/deliveries.html", targets=all_targets(db()), log=log)
