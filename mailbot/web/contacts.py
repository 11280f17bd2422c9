"""Contacts."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("contacts", __name__)


@bp.route("/contacts")
def index() -> str:
    return "todo"


@bp.route("/contacts/<int:contact_id>")
def show(contact_id: int) -> str:
    return "todo"
