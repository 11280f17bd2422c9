"""The migrations build exactly the schema the models describe, on both stores."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.orm import Session

import mailbot.store.faq_models  # noqa: F401  (registers self-service's tables)
import mailbot.store.panel_models  # noqa: F401  (registers the panel's tables)
from mailbot.store.db import engine_for
from mailbot.store.migrate import upgrade_database
from mailbot.store.models import Base
from tests.fixtures.empty_store import empty_database_url  # noqa: F401  (fixture)


@pytest.mark.postgres
def test_migrations_match_the_models(empty_database_url: str) -> None:  # noqa: F811
    upgrade_database(empty_database_url)
    with engine_for(empty_database_url).connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


@pytest.mark.postgres
def test_upgrading_twice_changes_nothing(empty_database_url: str) -> None:  # noqa: F811
    upgrade_database(empty_database_url)
    upgrade_database(empty_database_url)
    with engine_for(empty_database_url).connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() is not None


@pytest.mark.postgres
def test_tickets_filed_before_0005_are_in_the_support_queue_with_no_tags(empty_database_url: str) -> None:  # noqa: F811
    from sqlalchemy import text

    from mailbot.ticket_json import ticket_by_ref_json

    upgrade_database(empty_database_url, "0004")
    with engine_for(empty_database_url).begin() as connection:
        connection.execute(
            text("INSERT INTO contacts (id, name, email, created_at) VALUES (1, 'Ana', 'ana@x.test', :now)"),
            {"now": "2026-11-01 10:00:00"},
        )
        connection.execute(
            text(
                "INSERT INTO tickets (ref, status, subject, normalized_subject, channel, contact_id,"
                " language, priority, urgency_cues, held_for_review, created_at, updated_at)"
                " VALUES ('MB-OLD234', 'open', 'Old', 'old', 'email', 1,"
                " 'en', 'normal', '', false, :now, :now)"
            ),
            {"now": "2026-11-01 10:00:00"},
        )
    upgrade_database(empty_database_url)
    with Session(engine_for(empty_database_url)) as session:
        ticket = ticket_by_ref_json(session, "MB-OLD234")
    assert ticket is not None
    assert (ticket["queue"], ticket["tags"], ticket["assignee"], ticket["first_response_at"]) == (
        "support",
        [],
        None,
        None,
    )
