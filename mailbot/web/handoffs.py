"""Escalation by hand in the panel: the ticket page's hand-off form (mailbot/ticket_handoff.py)."""

from __future__ import annotations

import redis
from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from mailbot.queue import enqueue_delivery
from mailbot.store.models import Ticket
from mailbot.ticket_changes import Author
from mailbot.ticket_handoff import HandoffRefused, HandoffRequest, describe_holder, hand_off
from mailbot.timeutil import utcnow
from mailbot.web.store import db, runtime

bp = Blueprint("handoffs", __name__)


@bp.route("/tickets/<ref>/handoff", methods=["POST"])
def create(ref: str) -> ResponseReturnValue:
    ticket = db().scalar(select(Ticket).where(Ticket.ref == ref.strip().upper()))
    if ticket is None:
        abort(404, description=f"There is no ticket {ref}.")
    back = redirect(url_for("tickets.show", ref=ticket.ref))
    queue = request.form.get("queue", "").strip() or None
    assignee = request.form.get("assignee", "").strip() or None
    user = g.user
    try:
        outcome = hand_off(
            db(),
            ticket,
            HandoffRequest(
                queue=queue, assignee=assignee, note=request.form.get("note", "").replace("\r\n", "\n")
            ),
            author=Author("panel", user.email, user.email.partition("@")[0]),
            settings=runtime().settings,
            now=utcnow(),
        )
    except HandoffRefused as error:
        db().rollback()
        flash(f"Not handed over: {error}.", "error")
        return back
    db().commit()
    holder = describe_holder(outcome.handoff.to_queue, outcome.handoff.to_assignee)
    try:
        enqueue_delivery(runtime(), outcome.outbox_ids)
    except (redis.ConnectionError, redis.TimeoutError):
        pass  # committed, so promised: the workers' recovery finds the pending rows
    if outcome.notice is not None:
        flash(f"Now with {holder}; the customer is told their case is with a specialist.", "ok")
    else:
        flash(f"Now with {holder}; the customer could not be told: {outcome.not_told}.", "error")
    return back
