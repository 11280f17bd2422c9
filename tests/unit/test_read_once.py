"""Configuration kept for a filing transaction (store/read_once.py), read fresh elsewhere."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from mailbot.rules import import_rules, load_rules
from mailbot.runtime import Runtime
from mailbot.store.read_once import reads_kept
from mailbot.timeutil import utcnow

RULE = {"name": "billing", "if": {"words": ["factura"]}, "then": {"queue": "billing"}}


@contextmanager
def counted_selects(runtime: Runtime) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = runtime.sessions.kw["bind"]

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "routing_rules" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_filing_transaction_reads_the_rules_once(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        import_rules(session, [RULE], utcnow())
    with counted_selects(runtime) as selects, runtime.sessions.begin() as session:
        with reads_kept(session):
            first, second = load_rules(session), load_rules(session)
        after = load_rules(session)  # the block has ended: read again
    assert [r.name for r in first] == [r.name for r in second] == [r.name for r in after] == ["billing"]
    assert len(selects) == 2


def test_without_it_every_read_sees_the_latest_rules(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        import_rules(session, [RULE], utcnow())
        assert [r.name for r in load_rules(session)] == ["billing"]
        import_rules(session, [{**RULE, "name": "facturas"}], utcnow())
        assert [r.name for r in load_rules(session)] == ["facturas"]


def test_kept_reads_last_until_the_transaction_ends(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session, reads_kept(session):
        assert load_rules(session) == []
        import_rules(session, [RULE], utcnow())  # filing never does this: shown kept
        assert load_rules(session) == []
    with runtime.sessions.begin() as session, reads_kept(session):
        assert [r.name for r in load_rules(session)] == ["billing"]  # the next one reads it
