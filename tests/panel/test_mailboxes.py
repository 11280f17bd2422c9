"""Mailboxes: add, edit with secrets kept and never shown, connection test on real servers."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.devservers.dovecot import DovecotServer
from mailbot.devservers.smtp_sink import SmtpSink
from mailbot.store.models import Mailbox
from mailbot.store.panel_models import AuditEntry
from mailbot.store.secrets import decrypt_secret
from tests.panel.conftest import SECRET_KEY, post


def mailbox_form(imap_port: int = 993, smtp_port: int = 465, **changes: str) -> dict[str, str]:
    form = {
        "name": "support",
        "address": "support@example.com",
        "imap_host": "127.0.0.1",
        "imap_port": str(imap_port),
        "imap_security": "none",
        "imap_user": "support",
        "imap_password": "imap-secret-value",
        "imap_folder": "INBOX",
        "smtp_host": "127.0.0.1",
        "smtp_port": str(smtp_port),
        "smtp_security": "none",
        "smtp_user": "",
        "smtp_password": "",
        "after_process": "keep",
        "enabled": "1",
    }
    form.update(changes)
    return form


def test_add_and_edit_a_mailbox_keeping_the_secret(admin_client: FlaskClient, session: Session) -> None:
    response = post(admin_client, "/mailboxes/new", mailbox_form())
    assert response.status_code == 302
    mailbox = session.scalar(select(Mailbox).where(Mailbox.name == "support"))
    session.commit()  # end the read: on SQLite every transaction holds the write lock
    assert mailbox is not None
    assert mailbox.imap_secret.startswith("fernet:")
    assert decrypt_secret(SECRET_KEY, mailbox.imap_secret) == "imap-secret-value"

    page = admin_client.get(f"/mailboxes/{mailbox.id}").get_data(as_text=True)
    assert "imap-secret-value" not in page
    assert "••••••••ue" in page  # mask_secret: the last two characters only

    response = post(
        admin_client,
        f"/mailboxes/{mailbox.id}",
        mailbox_form(imap_password="", imap_folder="Support", name="help"),
    )
    assert response.status_code == 302
    session.expire_all()
    mailbox = session.get(Mailbox, mailbox.id)
    session.commit()
    assert mailbox is not None and mailbox.name == "help" and mailbox.imap_folder == "Support"
    assert decrypt_secret(SECRET_KEY, mailbox.imap_secret) == "imap-secret-value"

    entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    session.commit()
    assert [e.action for e in entries] == ["mailbox.create", "mailbox.update"]
    assert entries[1].actor == "admin@example.com"
    assert '"imap_folder": "INBOX"' in (entries[1].before or "")
    assert '"imap_folder": "Support"' in (entries[1].after or "")
    assert all("imap-secret-value" not in (e.before or "") + (e.after or "") for e in entries)
    audit = admin_client.get("/audit").get_data(as_text=True)
    assert "mailbox.update" in audit and "Support" in audit and "imap-secret-value" not in audit


def test_invalid_mailbox_is_refused_with_the_reason(admin_client: FlaskClient, session: Session) -> None:
    response = post(admin_client, "/mailboxes/new", mailbox_form(address="not-an-address"))
    assert response.status_code == 422 and response.mimetype == "text/html"
    assert "not an e-mail address" in response.get_data(as_text=True)
    assert session.scalar(select(Mailbox)) is None


def test_agent_cannot_change_configuration(agent_client: FlaskClient, session: Session) -> None:
    assert agent_client.get("/mailboxes").status_code == 200
    assert post(agent_client, "/mailboxes/new", mailbox_form()).status_code == 403
    assert session.scalar(select(Mailbox)) is None
    session.commit()
    source = "{% block subject %}x{% endblock %}{% block body %}y{% endblock %}"
    assert post(agent_client, "/templates/en", {"source": source, "action": "save"}).status_code == 403
    assert post(agent_client, "/templates/en/reset").status_code == 403
    assert post(agent_client, "/templates/new", {"language": "nl"}).status_code == 403


def test_connection_test_reports_the_real_servers_answers(
    admin_client: FlaskClient, session: Session, dovecot: DovecotServer, smtp_server: SmtpSink
) -> None:
    post(
        admin_client,
        "/mailboxes/new",
        mailbox_form(dovecot.imap_port, smtp_server.port, imap_password="secret"),
    )
    mailbox = session.scalar(select(Mailbox))
    session.commit()
    assert mailbox is not None
    page = post(admin_client, f"/mailboxes/{mailbox.id}/test", {"server": "both"}).get_data(as_text=True)
    assert re.search(r"IMAP 127\.0\.0\.1:\d+ \(none\): <span class=\"badge badge-sent\">OK", page)
    assert "Dovecot" in page or "ready" in page.lower()  # the server's own greeting
    assert "Folder INBOX:" in page
    assert "MAIL FROM:&lt;support@example.com&gt;: 250" in page
    assert smtp_server.received == []  # a test sends nothing

    post(
        admin_client,
        f"/mailboxes/{mailbox.id}",
        mailbox_form(dovecot.imap_port, smtp_server.port, imap_password="wrong"),
    )
    page = post(admin_client, f"/mailboxes/{mailbox.id}/test", {"server": "imap"}).get_data(as_text=True)
    assert "badge-failed" in page
    assert "AUTHENTICATIONFAILED" in page or "Authentication failed" in page


def test_smtp_login_failure_shows_the_servers_reply(
    admin_client: FlaskClient, session: Session, dovecot: DovecotServer
) -> None:
    with SmtpSink(credentials={"bot": "right"}) as sink:
        form = mailbox_form(
            dovecot.imap_port, sink.port, imap_password="secret", smtp_user="bot", smtp_password="wrong"
        )
        post(admin_client, "/mailboxes/new", form)
        mailbox = session.scalar(select(Mailbox))
        session.commit()
        assert mailbox is not None
        page = post(admin_client, f"/mailboxes/{mailbox.id}/test", {"server": "smtp"}).get_data(as_text=True)
        assert "535" in page and "badge-failed" in page
