"""Configuration read once per filing transaction instead of once per message.

Filing a message reads the routing rules, the SLA settings, the templates, the delivery
targets, its mailbox...: rows an admin changes a few times a year, read again for every
message of a chunk (issue 11's profile: a third of the statements of a new ticket). A
transaction that turns `reads_kept` on reads each of them once; a change committed
meanwhile applies from the next chunk, ten messages later. Only filing turns it on: it
never writes configuration, so what it keeps cannot go stale under its own feet (a panel
request that saves, then reads, must see its own change and does not use this).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy.orm import Session

_KEPT = "mailbot.reads_kept"

P = ParamSpec("P")
T = TypeVar("T")


@contextmanager
def reads_kept(session: Session) -> Iterator[None]:
    """Within the block, functions marked `read_once` read once per argument list."""
    session.info[_KEPT] = {}
    try:
        yield
    finally:
        session.info.pop(_KEPT, None)


def read_once(load: Callable[Concatenate[Session, P], T]) -> Callable[Concatenate[Session, P], T]:
    """Mark a configuration read whose result may be kept for a filing transaction. The
    arguments after the session must be hashable; callers must not change the result."""

    @wraps(load)
    def read(session: Session, *args: P.args, **kwargs: P.kwargs) -> T:
        kept: dict[Hashable, object] | None = session.info.get(_KEPT)
        if kept is None:
            return load(session, *args, **kwargs)
        key = (load.__module__, load.__qualname__, args, tuple(sorted(kwargs.items())))
        if key not in kept:
            # Configuration: nothing the transaction has pending changes what it reads.
            with session.no_autoflush:
                kept[key] = load(session, *args, **kwargs)
        return kept[key]  # type: ignore[return-value]

    return read
