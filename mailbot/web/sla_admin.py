"""SLA: the configuration in force (policies, business hours, holidays, escalation
chains), its JSON edited and checked before saving, and the escalations recorded.
Saving replaces the configuration, as `mailbot sla import` does, and is audited."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from mailbot.sla.config import SlaConfig, SlaError
from mailbot.sla.store import check_config, export_config, load_config, save_config
from mailbot.store.models import Escalation, Ticket
from mailbot.timeutil import utcnow
from mailbot.web.audit import record
from mailbot.web.auth import admin_required
from mailbot.web.store import db

bp = Blueprint("sla_admin", __name__)

RECENT_ESCALATIONS = 50


def _recent() -> list[Any]:
    return list(
        db().execute(
            select(Escalation, Ticket.ref, Ticket.subject)
            .join(Ticket, Ticket.id == Escalation.ticket_id)
            .order_by(Escalation.id.desc())
            .limit(RECENT_ESCALATIONS)
        )
    )


def _page(source: str, config: SlaConfig, *, error: str | None = None, status: int = 200) -> Response:
    page = render_template("panel/sla.html", config=config, source=source, error=error, escalations=_recent())
    return Response(page, status=status)


@bp.route("/sla")
def index() -> ResponseReturnValue:
    return _page(json.dumps(export_config(db()), ensure_ascii=False, indent=2), load_config(db()))


@bp.route("/sla", methods=["POST"])
@admin_required
def save() -> ResponseReturnValue:
    source = request.form.get("source", "").replace("\r\n", "\n")
    try:
        try:
            data = json.loads(source)
        except ValueError as error:
            raise SlaError(f"not JSON: {error}") from error
        check_config(data)
    except SlaError as error:
        flash(f"Not saved: {error}", "error")
        return _page(source, load_config(db()), error=str(error), status=422)
    before = export_config(db())
    save_config(db(), data, utcnow())
    record(db(), "sla.import", "sla_settings", before, data)
    db().commit()
    flash("SLA configuration saved; new tickets follow it, open ones keep their due time.", "ok")
    return redirect(url_for("sla_admin.index"))
