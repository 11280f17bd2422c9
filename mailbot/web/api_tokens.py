"""Tokens for the REST API: list, create (shown once) and revoke.

Made and checked by mailbot.api.tokens, the same functions `mailbot token` uses. A new
token is shown on the page the creating POST answers, never put in the session (Flask's
flash messages live in the cookie) nor in the audit log, which keeps its name, scopes
and first characters."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from mailbot.api.tokens import SCOPES, TokenError, create_token, revoke_token, snapshot
from mailbot.store.panel_models import ApiToken
from mailbot.web.audit import record
from mailbot.web.auth import admin_required
from mailbot.web.store import db

bp = Blueprint("api_tokens", __name__)


def _page(new_token: str | None = None, errors: list[str] | None = None, status: int = 200) -> Response:
    tokens = list(db().scalars(select(ApiToken).order_by(ApiToken.name)))
    body = render_template(
        "panel/tokens.html", tokens=tokens, scopes=SCOPES, new_token=new_token, errors=errors or []
    )
    return Response(body, status=status)


@bp.route("/tokens")
def index() -> ResponseReturnValue:
    return _page()


@bp.route("/tokens", methods=["POST"])
@admin_required
def create() -> ResponseReturnValue:
    name = request.form.get("name", "")
    scopes = tuple(s for s in SCOPES if request.form.get(f"scope:{s}") == "1")
    try:
        row, token = create_token(db(), name, scopes, created_by=g.user.email)
    except TokenError as error:
        db().rollback()
        return _page(errors=[str(error)], status=422)
    record(db(), "api_token.create", f"api_token:{row.name}", None, snapshot(row))
    db().commit()
    return _page(new_token=token, status=201)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@admin_required
def revoke(token_id: int) -> ResponseReturnValue:
    row = db().get(ApiToken, token_id)
    if row is None:
        abort(404, description="There is no such token.")
    before = snapshot(row)
    revoke_token(db(), row.name)
    record(db(), "api_token.revoke", f"api_token:{before['name']}", before, None)
    db().commit()
    flash(f"Token {before['name']} revoked: requests carrying it are refused from now on.", "ok")
    return redirect(url_for("api_tokens.index"))
