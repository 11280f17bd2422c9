"""Mailbox configuration: the one place a mailbox is created or changed (CLI and panel)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.sources.server_url import ServerUrl, parse_server_url
from mailbot.store.models import Mailbox
from mailbot.store.read_once import read_once
from mailbot.store.secrets import encrypt_secret
from mailbot.timeutil import utcnow


class MailboxConfigError(ValueError):
    pass


@dataclass(frozen=True)
class MailboxSpec:
    name: str
    imap_url: str
    smtp_url: str
    address: str
    starttls: bool = False
    after_process: str = "keep"
    move_to_folder: str | None = None
    default_language: str | None = None
    oauth_provider: str | None = None  # set: XOAUTH2 with this token provider
    # Mail that arrived before this instant is history (imported, never acknowledged);
    # None: the moment the mailbox is added.
    ack_cutoff: datetime | None = None


def _security(url: ServerUrl, starttls: bool) -> str:
    if url.implicit_tls:
        return "tls"
    return "starttls" if starttls else "none"


def add_mailbox(session: Session, spec: MailboxSpec, secret_key: str) -> Mailbox:
    if session.scalar(select(Mailbox).where(Mailbox.name == spec.name)) is not None:
        raise MailboxConfigError(f"a mailbox named {spec.name!r} already exists")
    now = utcnow()
    mailbox = Mailbox(name=spec.name, ack_cutoff=spec.ack_cutoff or now, created_at=now)
    apply_spec(mailbox, spec, secret_key)
    session.add(mailbox)
    session.flush()
    return mailbox


def apply_spec(mailbox: Mailbox, spec: MailboxSpec, secret_key: str) -> None:
    try:
        imap = parse_server_url(spec.imap_url, ("imap", "imaps"))
        smtp = parse_server_url(spec.smtp_url, ("smtp", "smtps"))
    except ValueError as error:
        raise MailboxConfigError(str(error)) from error
    if not imap.user:
        raise MailboxConfigError("the IMAP URL needs a user: imap://USER:PASS@HOST:PORT")
    if "@" not in spec.address or spec.address.startswith("@"):
        raise MailboxConfigError(f"not an e-mail address: {spec.address!r}")
    if spec.after_process not in {"keep", "seen", "move"}:
        raise MailboxConfigError("after-process policy must be keep, seen or move")
    mailbox.name = spec.name
    mailbox.address = spec.address.strip().lower()
    mailbox.imap_host, mailbox.imap_port = imap.host, imap.port
    mailbox.imap_security = _security(imap, spec.starttls)
    mailbox.imap_user = imap.user
    mailbox.imap_secret = encrypt_secret(secret_key, imap.password or "")
    mailbox.imap_folder = imap.path or "INBOX"
    mailbox.auth_method = "xoauth2" if spec.oauth_provider else "password"
    mailbox.oauth_provider = spec.oauth_provider
    mailbox.smtp_host, mailbox.smtp_port = smtp.host, smtp.port
    mailbox.smtp_security = _security(smtp, spec.starttls)
    mailbox.smtp_user = smtp.user
    mailbox.smtp_secret = encrypt_secret(secret_key, smtp.password or "")
    mailbox.after_process = spec.after_process
    mailbox.move_to_folder = spec.move_to_folder
    mailbox.default_language = spec.default_language


@read_once
def mailbox_of(session: Session, mailbox_id: int | None) -> Mailbox | None:
    """The mailbox a message came in through; kept for a filing transaction (read_once)."""
    return session.get(Mailbox, mailbox_id) if mailbox_id else None
