"""Routing rules: the list in order, the JSON edited and checked before saving, and a dry
run of the edited rules on recent tickets. Saving replaces every rule, as
`mailbot rules import` does, and is audited."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from mailbot.pipeline.routing import Rule, RuleError, parse_rules
from mailbot.rules import dry_run, dry_run_json, export_rules, import_rules
from mailbot.timeutil import utcnow
from mailbot.web.audit import record
from mailbot.web.auth import admin_required
from mailbot.web.store import db

bp = Blueprint("rules_admin", __name__)


def _page(
    source: str, *, error: str | None = None, report: dict[str, Any] | None = None, status: int = 200
) -> Response:
    page = render_template(
        "panel/rules.html", rules=export_rules(db()), source=source, error=error, report=report
    )
    return Response(page, status=status)


def _parsed(source: str) -> list[Rule]:
    try:
        data = json.loads(source)
    except ValueError as error:
        raise RuleError(f"not JSON: {error}") from error
    return parse_rules(data)


@bp.route("/rules")
def index() -> ResponseReturnValue:
    return _page(json.dumps(export_rules(db()), ensure_ascii=False, indent=2))


@bp.route("/rules", methods=["POST"])
def submit() -> ResponseReturnValue:
    source = request.form.get("source", "").replace("\r\n", "\n")
    if request.form.get("action") == "save":
        return _save(source)
    try:  # a dry run changes nothing, so agents may run one too
        report = dry_run_json(dry_run(db(), _parsed(source)))
    except RuleError as error:
        return _page(source, error=str(error), status=422)
    return _page(source, report=report)


@admin_required
def _save(source: str) -> ResponseReturnValue:
    try:
        rules = _parsed(source)
    except RuleError as error:
        flash(f"Not saved: {error}", "error")
        return _page(source, error=str(error), status=422)
    before = {"rules": export_rules(db())}
    import_rules(db(), [dict(rule.definition) for rule in rules], utcnow())
    record(db(), "rules.import", "routing_rules", before, {"rules": [dict(r.definition) for r in rules]})
    db().commit()
    flash(f"{len(rules)} rules saved; new tickets are routed by them.", "ok")
    return redirect(url_for("rules_admin.index"))
