"""Mailboxes: list, add, edit, and test the connection to the real servers.

Changes go through mailbot.mailboxes (MailboxSpec, add_mailbox, apply_spec), the one way
a mailbox is created or changed, so the panel and the CLI validate alike. Secrets are
never sent back to the browser: the form shows a mask and an empty field keeps them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from mailbot.mailboxes import MailboxConfigError, MailboxSpec, add_mailbox, apply_spec
from mailbot.store.models import Mailbox
from mailbot.store.secrets import SecretUnreadable, decrypt_secret, mask_secret
from mailbot.web.audit import record
from mailbot.web.auth import admin_required
from mailbot.web.connection_check import ConnectionReport, check_imap, check_smtp
from mailbot.web.store import db, runtime

bp = Blueprint("mailboxes", __name__)

SECURITY_CHOICES = ("tls", "starttls", "none")
SNAPSHOT_FIELDS = (
    "name",
    "address",
    "imap_host",
    "imap_port",
    "imap_security",
    "imap_user",
    "imap_folder",
    "auth_method",
    "oauth_provider",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_user",
    "after_process",
    "move_to_folder",
    "default_language",
    "enabled",
)


@dataclass
class MailboxForm:
    """What the form posts; passwords empty unless the admin typed a new one."""

    name: str = ""
    address: str = ""
    imap_host: str = ""
    imap_port: str = "993"
    imap_security: str = "tls"
    imap_user: str = ""
    imap_password: str = ""
    imap_folder: str = "INBOX"
    smtp_host: str = ""
    smtp_port: str = "465"
    smtp_security: str = "tls"
    smtp_user: str = ""
    smtp_password: str = ""
    after_process: str = "keep"
    move_to_folder: str = ""
    default_language: str = ""
    oauth_provider: str = ""
    enabled: bool = True
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_request(cls) -> MailboxForm:
        form = request.form
        values: dict[str, Any] = {
            name: form.get(name, "").strip()
            for name in cls.__dataclass_fields__
            if name not in {"enabled", "errors"}
        }
        # Passwords may legitimately begin or end with spaces.
        values["imap_password"] = form.get("imap_password", "")
        values["smtp_password"] = form.get("smtp_password", "")
        return cls(**values, enabled=form.get("enabled") == "1")

    @classmethod
    def from_mailbox(cls, mailbox: Mailbox) -> MailboxForm:
        return cls(
            name=mailbox.name,
            address=mailbox.address,
            imap_host=mailbox.imap_host,
            imap_port=str(mailbox.imap_port),
            imap_security=mailbox.imap_security,
            imap_user=mailbox.imap_user,
            imap_folder=mailbox.imap_folder,
            smtp_host=mailbox.smtp_host,
            smtp_port=str(mailbox.smtp_port),
            smtp_security=mailbox.smtp_security,
            smtp_user=mailbox.smtp_user or "",
            after_process=mailbox.after_process,
            move_to_folder=mailbox.move_to_folder or "",
            default_language=mailbox.default_language or "",
            oauth_provider=mailbox.oauth_provider or "",
            enabled=mailbox.enabled,
        )

    def to_spec(self, old_imap_secret: str = "", old_smtp_secret: str = "") -> MailboxSpec:
        for label, value in (("IMAP security", self.imap_security), ("SMTP security", self.smtp_security)):
            if value not in SECURITY_CHOICES:
                raise MailboxConfigError(f"{label} must be one of {', '.join(SECURITY_CHOICES)}")
        for label, port in (("IMAP port", self.imap_port), ("SMTP port", self.smtp_port)):
            if not port.isdigit():
                raise MailboxConfigError(f"{label} must be a number")
        starttls = "starttls" in (self.imap_security, self.smtp_security)
        # MailboxSpec has one STARTTLS switch for both servers; a plain-text server beside a
        # STARTTLS one cannot be expressed (and is never what anyone means outside a lab).
        if starttls and "none" in (self.imap_security, self.smtp_security):
            raise MailboxConfigError("with STARTTLS on one server, the other needs TLS or STARTTLS too")
        imap_scheme = "imaps" if self.imap_security == "tls" else "imap"
        smtp_scheme = "smtps" if self.smtp_security == "tls" else "smtp"
        imap_url = (
            f"{imap_scheme}://{_userinfo(self.imap_user, self.imap_password or old_imap_secret)}"
            f"{_host(self.imap_host)}:{self.imap_port}/{quote(self.imap_folder or 'INBOX', safe='/')}"
        )
        smtp_url = (
            f"{smtp_scheme}://{_userinfo(self.smtp_user, self.smtp_password or old_smtp_secret)}"
            f"{_host(self.smtp_host)}:{self.smtp_port}"
        )
        if not self.name:
            raise MailboxConfigError("the mailbox needs a name")
        return MailboxSpec(
            name=self.name,
            imap_url=imap_url,
            smtp_url=smtp_url,
            address=self.address,
            starttls=starttls,
            after_process=self.after_process,
            move_to_folder=self.move_to_folder or None,
            default_language=self.default_language or None,
            oauth_provider=self.oauth_provider or None,
        )


def _userinfo(user: str, password: str) -> str:
    if not user:
        return ""
    return f"{quote(user, safe='')}:{quote(password, safe='')}@" if password else f"{quote(user, safe='')}@"


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def snapshot(mailbox: Mailbox) -> dict[str, Any]:
    """A mailbox as the audit log keeps it: every setting, but of a secret only whether it is set."""
    state: dict[str, Any] = {name: getattr(mailbox, name) for name in SNAPSHOT_FIELDS}
    state["imap_password"] = "set" if mailbox.imap_secret else "not set"
    state["smtp_password"] = "set" if mailbox.smtp_secret else "not set"
    return state


def _masked(stored: str) -> str:
    try:
        return mask_secret(decrypt_secret(runtime().settings.secret_key, stored))
    except SecretUnreadable:
        return "unreadable (MAILBOT_SECRET_KEY changed): enter it again"


def _mailbox_or_404(mailbox_id: int) -> Mailbox:
    mailbox = db().get(Mailbox, mailbox_id)
    if mailbox is None:
        abort(404, description="There is no such mailbox.")
    return mailbox


def _render_form(
    form: MailboxForm,
    mailbox: Mailbox | None = None,
    reports: list[ConnectionReport] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    masks = {"imap": _masked(mailbox.imap_secret), "smtp": _masked(mailbox.smtp_secret)} if mailbox else {}
    body = render_template(
        "panel/mailbox_form.html",
        form=form,
        mailbox=mailbox,
        masks=masks,
        reports=reports or [],
        security_choices=SECURITY_CHOICES,
    )
    return Response(body, status=status)


@bp.route("/mailboxes")
def index() -> str:
    mailboxes = list(db().scalars(select(Mailbox).order_by(Mailbox.name)))
    return render_template("panel/mailboxes.html", mailboxes=mailboxes)


@bp.route("/mailboxes/new", methods=["GET"])
def new() -> ResponseReturnValue:
    return _render_form(MailboxForm())


@bp.route("/mailboxes/new", methods=["POST"])
@admin_required
def create() -> ResponseReturnValue:
    form = MailboxForm.from_request()
    try:
        mailbox = add_mailbox(db(), form.to_spec(), runtime().settings.secret_key)
    except MailboxConfigError as error:
        db().rollback()
        form.errors.append(str(error))
        return _render_form(form, status=422)
    mailbox.enabled = form.enabled
    record(db(), "mailbox.create", f"mailbox:{mailbox.name}", None, snapshot(mailbox))
    db().commit()
    flash(
        f"Mailbox {mailbox.name} added. Mail already in it is imported as history, never acknowledged.", "ok"
    )
    return redirect(url_for("mailboxes.edit", mailbox_id=mailbox.id))


@bp.route("/mailboxes/<int:mailbox_id>", methods=["GET"])
def edit(mailbox_id: int) -> ResponseReturnValue:
    mailbox = _mailbox_or_404(mailbox_id)
    return _render_form(MailboxForm.from_mailbox(mailbox), mailbox)


@bp.route("/mailboxes/<int:mailbox_id>", methods=["POST"])
@admin_required
def update(mailbox_id: int) -> ResponseReturnValue:
    mailbox = _mailbox_or_404(mailbox_id)
    form = MailboxForm.from_request()
    before = snapshot(mailbox)
    key = runtime().settings.secret_key
    try:
        # An empty password field keeps the stored secret: it is decrypted here only to be
        # put back through apply_spec, never shown.
        old_imap = "" if form.imap_password else decrypt_secret(key, mailbox.imap_secret)
        keep_smtp = form.smtp_user and not form.smtp_password
        old_smtp = decrypt_secret(key, mailbox.smtp_secret) if keep_smtp else ""
        clash = db().scalar(select(Mailbox.id).where(Mailbox.name == form.name, Mailbox.id != mailbox.id))
        if clash is not None:
            raise MailboxConfigError(f"a mailbox named {form.name!r} already exists")
        apply_spec(mailbox, form.to_spec(old_imap, old_smtp), key)
    except (MailboxConfigError, SecretUnreadable) as error:
        db().rollback()
        form.errors.append(str(error))
        return _render_form(form, _mailbox_or_404(mailbox_id), status=422)
    mailbox.enabled = form.enabled
    after = snapshot(mailbox)
    if form.imap_password:
        after["imap_password"] = "changed"
    if form.smtp_password:
        after["smtp_password"] = "changed"
    record(db(), "mailbox.update", f"mailbox:{mailbox.name}", before, after)
    db().commit()
    flash(f"Mailbox {mailbox.name} saved.", "ok")
    return redirect(url_for("mailboxes.edit", mailbox_id=mailbox.id))


@bp.route("/mailboxes/<int:mailbox_id>/test", methods=["POST"])
@admin_required
def test_connection(mailbox_id: int) -> ResponseReturnValue:
    """Tests the saved settings: save first, then test (the form says so)."""
    mailbox = _mailbox_or_404(mailbox_id)
    db().expunge(mailbox)
    db().rollback()  # no transaction (and no SQLite lock) held while we wait on the network
    key = runtime().settings.secret_key
    which = request.form.get("server", "both")
    reports = []
    if which in {"imap", "both"}:
        reports.append(check_imap(mailbox, key))
    if which in {"smtp", "both"}:
        reports.append(check_smtp(mailbox, key))
    return _render_form(MailboxForm.from_mailbox(mailbox), mailbox, reports)


@bp.route("/mailboxes/<int:mailbox_id>/delete", methods=["POST"])
@admin_required
def delete(mailbox_id: int) -> ResponseReturnValue:
    mailbox = _mailbox_or_404(mailbox_id)
    record(db(), "mailbox.delete", f"mailbox:{mailbox.name}", snapshot(mailbox), None)
    db().delete(mailbox)
    db().commit()
    flash(f"Mailbox {mailbox.name} removed; its tickets stay.", "ok")
    return redirect(url_for("mailboxes.index"))
