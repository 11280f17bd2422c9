"""Acknowledgement templates per language."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("templates_admin", __name__)


@bp.route("/templates")
def index() -> str:
    return "todo"
