"""Mailboxes: list, add, edit, and test the connection to the real servers."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from mailbot.store.models import Mailbox
from mailbot.web.store import db

bp = Blueprint("mailboxes", __name__)


@bp.route("/mailboxes")
def index() -> str:
    mailboxes = list(db().scalars(select(Mailbox).order_by(Mailbox.name)))
    return render_template("panel/mailboxes.html", mailboxes=mailboxes)


@bp.route("/mailboxes/new")
def new() -> str:
    return index()


@bp.route("/mailboxes/<int:mailbox_id>")
def edit(mailbox_id: int) -> str:
    return index()
