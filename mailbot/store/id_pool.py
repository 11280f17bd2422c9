"""Primary keys handed out before the INSERT, so that filing a chunk writes its rows in a
few statements at the commit instead of flushing each new row to learn its id.

Filing needs a new row's id at once: the contact's for its identities and ticket, the
ticket's for its message and acknowledgement, the acknowledgement's for the outcome.
Flushing for each was one INSERT per row and table (issue 11's profile: a third of
filing). With `reserve_ids` on, `assign_id` takes the id from ids reserved for the
transaction, and every other new row of those tables gets one from the same ids as it is
flushed (`_fill_ids`), so the store never picks an id of its own meanwhile; the rows
then go out together, one INSERT per table.

PostgreSQL reserves from the tables' own sequences (nextval: no other transaction gets
them; a rollback only leaves a gap). SQLite counts on from the largest id: the filing
transaction holds SQLite's only write lock (BEGIN IMMEDIATE), so nobody else inserts
until it ends, and the reservation ends with it.
"""

from __future__ import annotations

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from mailbot.store.models import Contact, ContactIdentity, Message, OutboxEntry, Ticket

_POOL = "mailbot.id_pool"
Pooled = Contact | ContactIdentity | Ticket | Message | OutboxEntry
# With its id given, a table's new rows go out in one executemany; without, one
# INSERT ... RETURNING each.
_TABLES: dict[type, str] = {
    Contact: "contacts",
    ContactIdentity: "contact_identities",
    Ticket: "tickets",
    Message: "messages",
    OutboxEntry: "outbox",
}


class _Reserved:
    def __init__(self, per_table: int) -> None:
        self.per_table = per_table
        self.free: dict[type, list[int]] = {}  # empty until the first row asks, then for all
        self.highest: dict[type, int] = {}  # SQLite: the largest id handed out so far

    def take(self, session: Session, model: type) -> int:
        if not self.free:
            self._reserve(session, list(_TABLES))  # one statement for every table
        if not self.free[model]:
            self._reserve(session, [model])
        return self.free[model].pop(0)

    def _reserve(self, session: Session, models: list[type]) -> None:
        connection = session.connection()  # not session.execute: no autoflush mid-flush
        tables = [_TABLES[model] for model in models]
        if connection.dialect.name == "postgresql":
            columns = ", ".join(f"nextval(pg_get_serial_sequence('{table}', 'id'))" for table in tables)
            rows = connection.execute(
                text(f"SELECT {columns} FROM generate_series(1, :n)"), {"n": self.per_table}  # noqa: S608
            ).all()
            for position, model in enumerate(models):
                self.free[model] = sorted(row[position] for row in rows)
            return
        largest = connection.execute(
            text("SELECT " + ", ".join(f"(SELECT max(id) FROM {table})" for table in tables))  # noqa: S608
        ).one()
        for model, found in zip(models, largest, strict=True):
            start = max(found or 0, self.highest.get(model, 0)) + 1
            self.free[model] = list(range(start, start + self.per_table))
            self.highest[model] = start + self.per_table - 1


def reserve_ids(session: Session, per_table: int) -> None:
    """From now on in this transaction, new contacts, tickets, messages and outbox rows
    take reserved ids (`per_table` at a time)."""
    session.info[_POOL] = _Reserved(per_table)


def assign_id(session: Session, row: Pooled) -> int:
    """The id of a row just added to the session: a reserved one, else by flushing."""
    pool: _Reserved | None = session.info.get(_POOL)
    if pool is None:
        session.flush()
    elif row.id is None:
        row.id = pool.take(session, type(row))
    return row.id


@event.listens_for(Session, "before_flush")
def _fill_ids(session: Session, _flush_context: object, _instances: object) -> None:
    pool: _Reserved | None = session.info.get(_POOL)
    if pool is None:
        return
    for row in session.new:
        if type(row) in _TABLES and row.id is None:
            row.id = pool.take(session, type(row))
