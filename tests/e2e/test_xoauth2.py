"""XOAUTH2 end to end: mailbot gets an access token from a local OAuth issuer, logs in to
a real Dovecot whose oauth2 passdb asks the same issuer (RFC 7662 introspection) whether
the token is active and whose it is, and the mail becomes a ticket."""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.devservers.dovecot import DovecotServer
from mailbot.devservers.oauth_server import OAuthServer
from mailbot.devservers.smtp_sink import SmtpSink
from mailbot.mailboxes import MailboxSpec, add_mailbox
from mailbot.runtime import Runtime
from mailbot.sources.imap_sync import SyncReport
from mailbot.sources.poller import poll_once
from mailbot.store.models import Mailbox
from tests.e2e.test_mail_spine import customer_mail
from tests.fixtures.mail import Desk


@pytest.fixture(scope="module")
def issuer() -> Iterator[OAuthServer]:
    with OAuthServer() as server:
        yield server


@pytest.fixture(scope="module")
def oauth_dovecot(issuer: OAuthServer) -> Iterator[DovecotServer]:
    """A Dovecot of its own that also accepts XOAUTH2, checking tokens with *issuer*.

    The oauth2 passdb comes after the generated passwd-file one: a token is never a
    user's password, so passwd-file answers "Password mismatch" and Dovecot goes on to
    introspect the token. Users still get a password, for appending test mail.
    """
    # mkdtemp, not tmp_path_factory: see the `dovecot` fixture in tests/fixtures/servers.py.
    base_dir = Path(tempfile.mkdtemp(prefix="mailbot-dovecot-oauth-"))
    oauth_args = base_dir / "dovecot-oauth2.conf.ext"
    oauth_args.write_text(
        "introspection_mode = post\n"
        f"introspection_url = {issuer.introspection_url}\n"
        "username_attribute = username\n"
        "active_attribute = active\n"
        "active_value = true\n"
    )
    server = DovecotServer(
        base_dir,
        extra_config=(
            "auth_mechanisms = plain login xoauth2 oauthbearer\n"
            "passdb {\n"
            "  driver = oauth2\n"
            "  mechanisms = xoauth2 oauthbearer\n"
            f"  args = {oauth_args}\n"
            "}\n"
        ),
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(base_dir, ignore_errors=True)


@pytest.fixture
def oauth_desk(runtime: Runtime, oauth_dovecot: DovecotServer, smtp_server: SmtpSink) -> Desk:
    return Desk(runtime, oauth_dovecot, smtp_server)


def new_user(desk: Desk) -> tuple[str, str]:
    user, password = f"x{uuid.uuid4().hex[:12]}", uuid.uuid4().hex
    desk.dovecot.add_user(user, password)
    return user, password


def add_oauth_mailbox(desk: Desk, user: str, provider: str, secret: str) -> None:
    """Configured as the CLI and the panel would: the secret is the IMAP URL's password."""
    spec = MailboxSpec(
        name=f"oauth-{user}",
        imap_url=desk.dovecot.imap_url(user, secret),
        smtp_url=desk.smtp.smtp_url(),
        address="support@acme.test",
        oauth_provider=provider,
    )
    with desk.runtime.sessions.begin() as session:
        add_mailbox(session, spec, desk.runtime.settings.secret_key)


def refresh_secret(issuer: OAuthServer, user: str) -> tuple[dict[str, str], str]:
    client = issuer.register_client()
    config = {
        "token_url": issuer.token_url,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "refresh_token": issuer.grant_refresh_token(client, user),
    }
    return config, json.dumps(config)


def mailbox_state(desk: Desk) -> Mailbox:
    with desk.runtime.sessions() as session:
        [mailbox] = session.scalars(select(Mailbox)).all()
        session.expunge(mailbox)
        return mailbox


def grants_for(issuer: OAuthServer, refresh_token: str) -> list[dict[str, str]]:
    return [r.form for r in issuer.requests_to("/token") if r.form.get("refresh_token") == refresh_token]


def introspected(issuer: OAuthServer) -> list[str]:
    """The tokens Dovecot asked the issuer about."""
    return [r.form.get("token", "") for r in issuer.requests_to("/introspect")]


def xoauth2_logins(server: DovecotServer, user: str) -> int:
    return server.log_path.read_text(errors="replace").count(f"Login: user=<{user}>, method=XOAUTH2")


def test_refresh_provider_logs_in_with_xoauth2_and_mail_becomes_a_ticket(
    oauth_desk: Desk, issuer: OAuthServer
) -> None:
    user, password = new_user(oauth_desk)
    config, secret = refresh_secret(issuer, user)
    add_oauth_mailbox(oauth_desk, user, "refresh", secret)
    oauth_desk.dovecot.append(user, password, customer_mail(f"xo1.{user}@mail.gmail.test"))

    oauth_desk.poll()
    oauth_desk.work()

    [grant] = grants_for(issuer, config["refresh_token"])
    assert grant == {
        "grant_type": "refresh_token",
        "client_id": config["client_id"],
        "client_secret": config["client_secret"],
        "refresh_token": config["refresh_token"],
    }
    [access] = issuer.issued_tokens(config["refresh_token"])
    assert access in introspected(issuer)
    assert xoauth2_logins(oauth_desk.dovecot, user) == 1
    assert mailbox_state(oauth_desk).last_error is None

    [ticket] = oauth_desk.tickets()
    assert ticket["contact"]["email"] == "ana.garcia@gmail.test"
    assert "todavía no ha llegado" in ticket["messages"][0]["text"]
    assert ticket["acknowledged_at"] is not None
    assert [m.rcpt_tos for m in oauth_desk.smtp.wait_for(1)] == [["ana.garcia@gmail.test"]]

    # The next round reuses the cached access token: a second XOAUTH2 login, no second grant.
    oauth_desk.run()
    assert xoauth2_logins(oauth_desk.dovecot, user) == 2
    assert len(grants_for(issuer, config["refresh_token"])) == 1
    assert len(oauth_desk.tickets()) == 1


def assert_login_failed(desk: Desk, reports: list[SyncReport]) -> None:
    [report] = reports
    assert report.error is not None and "Authentication failed" in report.error
    last_error = mailbox_state(desk).last_error or ""
    assert "LoginError" in last_error and "Authentication failed" in last_error


def test_revoked_static_token_fails_the_sync_and_is_recorded(oauth_desk: Desk, issuer: OAuthServer) -> None:
    user, password = new_user(oauth_desk)
    token = issuer.mint_access_token(user)
    issuer.revoke(token)
    add_oauth_mailbox(oauth_desk, user, "static", token)
    oauth_desk.dovecot.append(user, password, customer_mail(f"xo2.{user}@mail.gmail.test"))

    reports = poll_once(oauth_desk.runtime)  # must not raise

    assert_login_failed(oauth_desk, reports)
    assert token in introspected(issuer)
    assert xoauth2_logins(oauth_desk.dovecot, user) == 0
    oauth_desk.work()
    assert oauth_desk.tickets() == []


def test_access_token_revoked_before_it_expires_is_refreshed_once(
    oauth_desk: Desk, issuer: OAuthServer
) -> None:
    user, password = new_user(oauth_desk)
    config, secret = refresh_secret(issuer, user)
    add_oauth_mailbox(oauth_desk, user, "refresh", secret)
    oauth_desk.run()
    assert mailbox_state(oauth_desk).last_error is None
    [access] = issuer.issued_tokens(config["refresh_token"])

    issuer.revoke(access)  # the provider revokes it although it has not expired
    oauth_desk.dovecot.append(user, password, customer_mail(f"xo3.{user}@mail.gmail.test"))
    oauth_desk.run()

    assert len(issuer.issued_tokens(config["refresh_token"])) == 2
    assert mailbox_state(oauth_desk).last_error is None
    assert len(oauth_desk.tickets()) == 1


def test_token_for_another_user_is_refused(oauth_desk: Desk, issuer: OAuthServer) -> None:
    """Dovecot checks the introspected username against the login name."""
    user, _ = new_user(oauth_desk)
    other, _ = new_user(oauth_desk)
    add_oauth_mailbox(oauth_desk, user, "static", issuer.mint_access_token(other))

    assert_login_failed(oauth_desk, poll_once(oauth_desk.runtime))
    assert xoauth2_logins(oauth_desk.dovecot, user) == 0


def test_static_provider_with_a_minted_token_works(oauth_desk: Desk, issuer: OAuthServer) -> None:
    user, password = new_user(oauth_desk)
    token = issuer.mint_access_token(user)
    add_oauth_mailbox(oauth_desk, user, "static", token)
    oauth_desk.dovecot.append(
        user, password, customer_mail(f"xo4.{user}@mail.gmail.test", sender="Luis <luis@yahoo.test>")
    )

    oauth_desk.run()

    assert token in introspected(issuer)
    assert xoauth2_logins(oauth_desk.dovecot, user) == 1
    assert mailbox_state(oauth_desk).last_error is None
    [ticket] = oauth_desk.tickets()
    assert ticket["contact"]["email"] == "luis@yahoo.test"
