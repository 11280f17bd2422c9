"""The runtime and the database session of the current request.

The runtime is built on first use, not in create_app: building it may start the
private redis-server, which a `flask routes` or an import must never do."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from mailbot.runtime import Runtime, current_runtime


def runtime() -> Runtime:
    found = current_app.extensions.get("mailbot.runtime")
    if found is None:
        found = current_app.extensions["mailbot.runtime"] = current_runtime()
    return found


def db() -> Session:
    """One session per request, closed (and rolled back if not committed) at its end.

    On SQLite every transaction takes the write lock (see store/db.py), so views
    commit as soon as they have written, and requests stay short."""
    if "db" not in g:
        g.db = runtime().sessions()
    session: Session = g.db
    return session


def _close_db(_error: BaseException | None = None) -> None:
    session: Session | None = g.pop("db", None)
    if session is not None:
        session.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(_close_db)
