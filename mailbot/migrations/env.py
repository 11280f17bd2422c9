"""Alembic environment: the URL comes from the caller (mailbot db upgrade), never a file."""

from __future__ import annotations

from alembic import context

from mailbot.store import faq_models, panel_models  # noqa: F401  (put their tables on Base.metadata)
from mailbot.store.db import make_engine
from mailbot.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
