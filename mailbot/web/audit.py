"""The audit log: every configuration change, with who, when, and before and after."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, g, has_app_context, render_template, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.store.panel_models import AuditEntry
from mailbot.web.auth import admin_required
from mailbot.web.store import db

bp = Blueprint("audit", __name__)

PAGE_SIZE = 100


def record(
    session: Session,
    action: str,
    target: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor: str | None = None,
) -> AuditEntry:
    """Add an entry to the caller's transaction: the change and its record commit together.

    Callers pass snapshots without secrets (see mailboxes.snapshot). The actor is the
    panel's signed-in user; a command-line caller names its own (`cli:<user>`)."""
    if actor is None:
        actor = g.user.email if has_app_context() and getattr(g, "user", None) else "system"
    entry = AuditEntry(
        actor=actor,
        action=action,
        target=target[:300],
        before=_dump(before),
        after=_dump(after),
    )
    session.add(entry)
    return entry


def _dump(state: dict[str, Any] | None) -> str | None:
    if state is None:
        return None
    return json.dumps(state, ensure_ascii=False, indent=1, sort_keys=True, default=str)


def changed_keys(entry: AuditEntry) -> set[str]:
    before = json.loads(entry.before) if entry.before else {}
    after = json.loads(entry.after) if entry.after else {}
    return {k for k in set(before) | set(after) if before.get(k) != after.get(k)}


@bp.route("/audit")
@admin_required
def index() -> str:
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    total = db().scalar(select(func.count(AuditEntry.id))) or 0
    entries = list(
        db().scalars(
            select(AuditEntry).order_by(AuditEntry.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
        )
    )
    rows = [
        {
            "entry": e,
            "before": json.loads(e.before) if e.before else None,
            "after": json.loads(e.after) if e.after else None,
            "changed": changed_keys(e),
        }
        for e in entries
    ]
    return render_template(
        "panel/audit.html", rows=rows, page=page, pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    )
