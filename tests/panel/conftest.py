"""Fixtures for the panel: a real Redis, a migrated SQLite file per test, the Flask app,
and users of both roles. No mocks: requests go through the whole app."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from mailbot.devservers.redis_instance import RedisInstance
from mailbot.store.db import session_factory
from mailbot.web import create_app
from mailbot.web.passwords import create_user

ADMIN = ("admin@example.com", "correct horse battery")
AGENT = ("agent@example.com", "agent password 123")
SECRET_KEY = "panel-tests-secret-key"


@pytest.fixture
def panel_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_server: RedisInstance, sqlite_template: Path
) -> str:
    """Environment for current_runtime(); returns the database URL."""
    db_path = tmp_path / "mailbot.sqlite3"
    shutil.copy(sqlite_template, db_path)
    url = f"sqlite:///{db_path}"
    monkeypatch.setenv("MAILBOT_DATABASE_URL", url)
    monkeypatch.setenv("MAILBOT_REDIS_URL", redis_server.url)
    monkeypatch.setenv("MAILBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MAILBOT_SECRET_KEY", SECRET_KEY)
    redis_server.flush()
    return url


@pytest.fixture
def sessions(panel_env: str):  # type: ignore[no-untyped-def]
    return session_factory(panel_env)


@pytest.fixture
def session(sessions) -> Iterator[Session]:  # type: ignore[no-untyped-def]
    with sessions() as s:
        yield s


@pytest.fixture
def app(panel_env: str) -> Flask:
    app = create_app({"TESTING": True})
    with session_factory(panel_env).begin() as s:
        create_user(s, *ADMIN, role="admin")
        create_user(s, *AGENT, role="agent")
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf_from(client: FlaskClient) -> str:
    """The session's CSRF token, as a page's form would carry it."""
    page = client.get("/login" if not _logged_in(client) else "/").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def _logged_in(client: FlaskClient) -> bool:
    with client.session_transaction() as sess:
        return "sid" in sess


def log_in(client: FlaskClient, email: str, password: str) -> None:
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_from(client)}
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def post(client: FlaskClient, url: str, data: dict[str, str] | None = None, **kwargs):  # type: ignore[no-untyped-def]
    """A POST with the session's CSRF token, as the panel's own forms send it."""
    return client.post(url, data={**(data or {}), "csrf_token": csrf_from(client)}, **kwargs)


@pytest.fixture
def admin_client(client: FlaskClient) -> FlaskClient:
    log_in(client, *ADMIN)
    return client


@pytest.fixture
def agent_client(client: FlaskClient) -> FlaskClient:
    log_in(client, *AGENT)
    return client


def reload(session: Session, model: type, row_id: int):  # type: ignore[no-untyped-def]
    """A row as the database has it now, with the read transaction ended at once: on
    SQLite an open transaction holds the write lock and would block the app."""
    session.expire_all()
    row = session.get(model, row_id)
    session.commit()
    return row
