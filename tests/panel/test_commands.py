"""`mailbot admin create`, as the first admin is made."""

from __future__ import annotations

from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.cli import main
from mailbot.store.panel_models import User
from tests.panel.conftest import log_in


def test_admin_create_then_log_in(client: FlaskClient, session: Session) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["admin", "create", "Boss@Example.com", "--password", "a long password"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        main, ["admin", "create", "helper@example.com", "--password", "another password", "--role", "agent"]
    )
    assert result.exit_code == 0, result.output
    roles = dict(session.execute(select(User.email, User.role)).all())
    session.commit()
    assert roles["boss@example.com"] == "admin" and roles["helper@example.com"] == "agent"
    assert session.scalar(select(User.password_hash).where(User.email == "boss@example.com")).startswith(
        "$argon2id$"
    )
    session.commit()
    log_in(client, "boss@example.com", "a long password")


def test_admin_create_refuses_duplicates_and_short_passwords(client: FlaskClient) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["admin", "create", "admin@example.com", "--password", "a long password"])
    assert result.exit_code != 0 and "already exists" in result.output
    result = runner.invoke(main, ["admin", "create", "x@example.com", "--password", "short"])
    assert result.exit_code != 0 and "at least 10" in result.output
