"""Canned responses in the panel: the list, one form to add or replace a version, removal,
and the JSON Lines of `mailbot canned import` pasted in. Agents write these answers, so
any signed-in user may edit them; every change is audited."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from mailbot.canned import PLACEHOLDERS, CannedError, CannedSpec, all_responses, parse_import, save
from mailbot.store.models import CannedResponse
from mailbot.web.audit import record
from mailbot.web.store import db

bp = Blueprint("canned_admin", __name__)


def _page(*, form: CannedSpec | None = None, error: str | None = None, status: int = 200) -> Response:
    page = render_template(
        "panel/canned.html",
        responses=all_responses(db()),
        placeholders=PLACEHOLDERS,
        form=form or CannedSpec(name="", language="", text=""),
        error=error,
    )
    return Response(page, status=status)


@bp.route("/canned")
def index() -> ResponseReturnValue:
    editing = request.args.get("edit", type=int)
    row = db().get(CannedResponse, editing) if editing else None
    return _page(form=CannedSpec(row.name, row.language, row.body) if row else None)


@bp.route("/canned", methods=["POST"])
def submit() -> ResponseReturnValue:
    spec = CannedSpec(
        name=request.form.get("name", "").strip(),
        language=request.form.get("language", "").strip().lower(),
        text=request.form.get("text", "").replace("\r\n", "\n"),
    )
    try:
        row, created = save(db(), spec)
    except CannedError as error:
        db().rollback()
        return _page(form=spec, error=str(error), status=422)
    record(db(), "canned.save", f"canned:{row.name}:{row.language}", None, {"text": row.body})
    db().commit()
    flash(f"Canned response {row.name} ({row.language}) {'added' if created else 'saved'}.", "ok")
    return redirect(url_for("canned_admin.index"))


@bp.route("/canned/import", methods=["POST"])
def import_lines() -> ResponseReturnValue:
    source = request.form.get("source", "").replace("\r\n", "\n")
    try:
        specs = parse_import(source.splitlines())
    except CannedError as error:
        return _page(error=f"Nothing imported: {error}", status=422)
    for spec in specs:
        save(db(), spec)
    record(db(), "canned.import", "canned", None, {"lines": len(specs)})
    db().commit()
    flash(f"{len(specs)} canned responses imported.", "ok")
    return redirect(url_for("canned_admin.index"))


@bp.route("/canned/<int:response_id>/delete", methods=["POST"])
def delete(response_id: int) -> ResponseReturnValue:
    row = db().get(CannedResponse, response_id)
    if row is None:
        flash("That canned response is gone already.", "error")
        return redirect(url_for("canned_admin.index"))
    record(db(), "canned.delete", f"canned:{row.name}:{row.language}", {"text": row.body}, None)
    db().delete(row)
    db().commit()
    flash(f"Canned response {row.name} ({row.language}) removed.", "ok")
    return redirect(url_for("canned_admin.index"))
