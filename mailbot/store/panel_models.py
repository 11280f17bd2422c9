"""Tables of the admin panel: its users, the audit log, acknowledgement templates
edited in the panel (which take precedence over the files under templates/ack/), and
the tokens the REST API is called with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mailbot.store.models import Base, Timestamp
from mailbot.timeutil import utcnow

ROLES = ("admin", "agent")


class User(Base):
    __tablename__ = "panel_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id, PHC string
    role: Mapped[str] = mapped_column(String(10), default="agent")  # admin | agent
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(Timestamp)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class AuditEntry(Base):
    """One configuration change: who, when, what, and the state before and after.

    The actor is stored as text, not a foreign key, so the log outlives the user."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(60))  # e.g. mailbox.update
    target: Mapped[str] = mapped_column(String(300), default="")
    before: Mapped[str | None] = mapped_column(Text)  # JSON, secrets never included
    after: Mapped[str | None] = mapped_column(Text)


class AckTemplateOverride(Base):
    """An acknowledgement template edited in the panel, for one language."""

    __tablename__ = "ack_template_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    language: Mapped[str] = mapped_column(String(8), unique=True)
    source: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(320), default="")


class ApiToken(Base):
    """A bearer token for the REST API (api/tokens.py makes and checks them).

    Only the SHA-256 of the token is kept: a copy of the database does not let anyone
    call the API. A fast hash is enough because the token is 256 random bits, not a
    password a person chose (no dictionary to try)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The token's first characters, so an admin can tell which one a client holds.
    prefix: Mapped[str] = mapped_column(String(20))
    scopes: Mapped[str] = mapped_column(String(200))  # space-separated, as OAuth writes them (RFC 6749 3.3)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320), default="")
    last_used_at: Mapped[datetime | None] = mapped_column(Timestamp)

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())
