"""API tokens: made once, shown once, kept only as a hash, checked per request.

A token is `mbt_` and 43 URL-safe characters (256 random bits). The prefix lets secret
scanners and people recognise one in a log or a paste; the store keeps its SHA-256 and
its first characters, never the token itself.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.store.panel_models import ApiToken
from mailbot.timeutil import as_utc, utcnow

READ = "tickets:read"
WRITE = "tickets:write"
SCOPES = (READ, WRITE)
TOKEN_PREFIX = "mbt_"
# A token's use is recorded at most this often: on SQLite every write takes the one lock.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")


class TokenError(ValueError):
    """A token request that cannot be carried out: bad name, unknown scope, duplicate."""


def parse_scopes(text: str) -> tuple[str, ...]:
    """`tickets:read,tickets:write` (commas or spaces) to a tuple in SCOPES order."""
    named = {part for part in re.split(r"[,\s]+", text.strip()) if part}
    if not named:
        raise TokenError(f"name at least one scope: {', '.join(SCOPES)}")
    unknown = sorted(named - set(SCOPES))
    if unknown:
        raise TokenError(f"unknown scope {', '.join(unknown)}; the scopes are {', '.join(SCOPES)}")
    return tuple(s for s in SCOPES if s in named)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session, name: str, scopes: tuple[str, ...], created_by: str
) -> tuple[ApiToken, str]:
    """A new token: the row (in the caller's transaction) and the token, to show once."""
    name = name.strip()
    if not _NAME.match(name):
        raise TokenError(
            f"a token name is 1 to 100 letters, digits and . _ @ -, starting with a letter or digit: {name!r}"
        )
    if not scopes or set(scopes) - set(SCOPES):
        raise TokenError(f"the scopes are {', '.join(SCOPES)}")
    if session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise TokenError(f"a token named {name!r} already exists; revoke it first to replace it")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name,
        token_hash=hash_token(token),
        prefix=token[: len(TOKEN_PREFIX) + 6],
        scopes=" ".join(scopes),
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    return row, token


def revoke_token(session: Session, name: str) -> ApiToken:
    """Delete the token named `name`: a request carrying it is refused from now on."""
    row = session.scalar(select(ApiToken).where(ApiToken.name == name.strip()))
    if row is None:
        raise TokenError(f"no token named {name!r}")
    session.delete(row)
    session.flush()
    return row


def find_token(session: Session, token: str, now: datetime | None = None) -> ApiToken | None:
    """The stored token this bearer token is, with its use recorded; None if none is."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None:
        return None
    now = now or utcnow()
    if row.last_used_at is None or as_utc(row.last_used_at) <= now - LAST_USED_RESOLUTION:
        row.last_used_at = now
    return row


def snapshot(row: ApiToken) -> dict[str, object]:
    """A token as the audit log keeps it: never the token, nor its hash."""
    return {"name": row.name, "scopes": row.scopes, "prefix": row.prefix, "created_by": row.created_by}
