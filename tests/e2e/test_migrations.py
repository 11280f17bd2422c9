"""The migrations build exactly the schema the models describe, on both stores."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

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
