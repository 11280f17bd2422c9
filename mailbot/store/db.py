"""Engine and sessions. SQLite gets WAL and write transactions that take the lock up front."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling opens transactions lazily and as DEFERRED:
    # two workers that both read, then both write, deadlock with "database is locked"
    # whatever the busy timeout. BEGIN IMMEDIATE takes the write lock first, so they
    # queue behind busy_timeout instead.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(database_url: str) -> Engine:
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(database_url, connect_args={"timeout": 60})
        _configure_sqlite(engine)
        return engine
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
    return create_engine(database_url, pool_pre_ping=True)


@lru_cache(maxsize=8)
def engine_for(database_url: str) -> Engine:
    return make_engine(database_url)


def session_factory(database_url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=engine_for(database_url), expire_on_commit=False)


@contextmanager
def transaction(database_url: str) -> Iterator[Session]:
    """One unit of work: committed when the block ends, rolled back if it raises."""
    session = session_factory(database_url)()
    try:
        with session.begin():
            yield session
    finally:
        session.close()
