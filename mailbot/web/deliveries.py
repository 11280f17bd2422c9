"""Delivery to agents: each queue's targets (added and removed here by an admin, as
`mailbot delivery add|remove` does), and the log of what was delivered to them.

The log is the outbox's notification rows (pipeline/notify.py), newest first: each
target and message once, with its status, attempts and the last error; a row that
failed for good is also on the failures page, where it can be retried."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from mailbot.delivery_targets import KINDS, DeliveryConfigError, TargetSpec, add_target, all_targets, describe
from mailbot.pipeline.notify import NOTIFICATION
from mailbot.store.models import Channel, DeliveryTarget, OutboxEntry, Ticket
from mailbot.web.audit import record
from mailbot.web.auth import admin_required
from mailbot.web.store import db, runtime

bp = Blueprint("deliveries", __name__)

LOG_SIZE = 200


@bp.route("/deliveries")
def index() -> ResponseReturnValue:
    return _page()


def _page(*, form: TargetSpec | None = None, error: str | None = None, status: int = 200) -> Response:
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
    page = render_template(
        "panel/deliveries.html",
        targets=all_targets(db()),
        log=log,
        kinds=KINDS,
        slack_channels=list(
            db().scalars(select(Channel.name).where(Channel.type == "slack").order_by(Channel.name))
        ),
        # The secret is never put back into the form, even after a refused submission.
        form=form or TargetSpec(queue="support", kind="email", address=""),
        error=error,
    )
    return Response(page, status=status)


@bp.route("/deliveries", methods=["POST"])
@admin_required
def add() -> ResponseReturnValue:
    form = request.form
    kind = form.get("kind", "")
    spec = TargetSpec(
        queue=form.get("queue", "").strip(),
        kind=kind,
        address=form.get("address", "").strip(),
        slack_channel=form.get("slack_channel", "").strip() if kind == "slack" else "",
        secret=form.get("secret", "") if kind == "webhook" else "",
    )
    try:
        target = add_target(db(), spec, runtime().settings.secret_key)
    except DeliveryConfigError as error:
        db().rollback()
        return _page(
            form=TargetSpec(spec.queue, spec.kind, spec.address, spec.slack_channel),
            error=str(error),
            status=422,
        )
    record(
        db(),
        "delivery.add",
        f"delivery:{target.id}",
        None,
        {"queue": target.queue, "target": describe(target)},
    )
    db().commit()
    flash(f"Queue {target.queue} now delivers to {describe(target)}.", "ok")
    return redirect(url_for("deliveries.index"))


@bp.route("/deliveries/<int:target_id>/delete", methods=["POST"])
@admin_required
def remove(target_id: int) -> ResponseReturnValue:
    target = db().get(DeliveryTarget, target_id)
    if target is None:
        flash("That delivery target is gone already.", "error")
        return redirect(url_for("deliveries.index"))
    record(
        db(), "delivery.remove", f"delivery:{target.id}", {"queue": target.queue, "target": describe(target)}
    )
    db().delete(target)
    db().commit()
    flash(
        f"Queue {target.queue} no longer delivers to {describe(target)}; the log keeps what it was sent.",
        "ok",
    )
    return redirect(url_for("deliveries.index"))
