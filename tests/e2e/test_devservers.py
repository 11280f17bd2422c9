"""The throwaway servers behave like the real ones mailbot will meet."""

from __future__ import annotations

import asyncio
import datetime
import io
import shutil
import ssl
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import imapclient
import pytest

from mailbot.devservers.dovecot import DovecotError, DovecotServer
from mailbot.devservers.smtp_sink import SmtpSink
from mailbot.devservers.tls import make_self_signed_cert

RAW = (
    b"From: Ana <ana@example.com>\r\n"
    b"To: support@example.org\r\n"
    b"Subject: Printer on fire\r\n"
    b"Message-ID: <fire-1@example.com>\r\n"
    b"\r\n"
    b"It is still burning.\r\n"
)


def make_message(subject: str = "Hello") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "bot@example.org"
    message["To"] = "ana@example.com"
    message["Subject"] = subject
    message.set_content("We got your message.\n")
    return message


# -- Dovecot --------------------------------------------------------------


def test_tls_cert_names_localhost_and_loopback(tmp_path: Path) -> None:
    from cryptography import x509

    cert_path, key_path = make_self_signed_cert(tmp_path)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert key_path.stat().st_mode & 0o077 == 0


def test_login_over_plain_imap(dovecot: DovecotServer) -> None:
    client = imapclient.IMAPClient(dovecot.host, port=dovecot.imap_port, ssl=False, timeout=10)
    try:
        assert b"STARTTLS" in client.capabilities()
        client.login("support", "secret")
        folders = {name for _flags, _sep, name in client.list_folders()}
        assert {"INBOX", "Archive", "Processed"} <= folders
    finally:
        client.logout()


def test_login_after_starttls(dovecot: DovecotServer) -> None:
    client = imapclient.IMAPClient(dovecot.host, port=dovecot.imap_port, ssl=False, timeout=10)
    try:
        client.starttls(ssl.create_default_context(cafile=str(dovecot.cert_path)))
        client.login("sales", "secret")
        assert client.select_folder("INBOX")[b"UIDVALIDITY"] > 0
    finally:
        client.logout()


def test_login_over_imaps(dovecot: DovecotServer) -> None:
    client = imapclient.IMAPClient(
        dovecot.host,
        port=dovecot.imaps_port,
        ssl=True,
        ssl_context=ssl.create_default_context(cafile=str(dovecot.cert_path)),
        timeout=10,
    )
    try:
        client.login("support", "secret")
    finally:
        client.logout()


def test_imaps_refuses_an_untrusting_client(dovecot: DovecotServer) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        imapclient.IMAPClient(
            dovecot.host,
            port=dovecot.imaps_port,
            ssl=True,
            ssl_context=ssl.create_default_context(),
            timeout=10,
        )


def test_wrong_password_is_refused(dovecot: DovecotServer) -> None:
    with pytest.raises(imapclient.exceptions.LoginError):
        dovecot.connect("support", "not-the-password")


def test_append_then_fetch_by_returned_uid(dovecot: DovecotServer, fresh_imap_user: tuple[str, str]) -> None:
    user, password = fresh_imap_user
    when = datetime.datetime(2024, 3, 1, 9, 30, tzinfo=datetime.UTC)
    first = dovecot.append(user, password, RAW, flags=[b"\\Seen"], msg_time=when)
    second = dovecot.append(user, password, RAW.replace(b"fire-1", b"fire-2"))
    assert second > first

    client = dovecot.connect(user, password, tls=True)
    try:
        client.select_folder("INBOX", readonly=True)
        fetched = client.fetch([first], ["RFC822", "FLAGS", "INTERNALDATE"])[first]
        assert fetched[b"RFC822"] == RAW
        assert b"\\Seen" in fetched[b"FLAGS"]
        assert fetched[b"INTERNALDATE"].astimezone(datetime.UTC) == when
    finally:
        client.logout()


def test_append_to_archive_folder(dovecot: DovecotServer, fresh_imap_user: tuple[str, str]) -> None:
    user, password = fresh_imap_user
    uid = dovecot.append(user, password, RAW, folder="Archive")
    client = dovecot.connect(user, password)
    try:
        client.select_folder("Archive", readonly=True)
        assert client.search(["ALL"]) == [uid]
    finally:
        client.logout()


def test_idle_sees_exists_after_append_from_another_connection(
    dovecot: DovecotServer, fresh_imap_user: tuple[str, str]
) -> None:
    user, password = fresh_imap_user
    watcher = dovecot.connect(user, password)
    try:
        watcher.select_folder("INBOX")
        watcher.idle()
        started = time.monotonic()
        dovecot.append(user, password, RAW)
        pushed: list[tuple[int, bytes]] = []
        while not pushed and time.monotonic() - started < 2.0:
            responses = watcher.idle_check(timeout=0.2)
            pushed = [r for r in responses if len(r) >= 2 and r[1] == b"EXISTS"]
        watcher.idle_done()
        assert pushed and pushed[0][0] == 1
    finally:
        watcher.logout()


def test_fresh_users_are_usable_at_once(dovecot: DovecotServer) -> None:
    # Dovecot re-stats a passwd file at most once a second; adding users in a
    # burst must not leave any of them unknown.
    for n in range(3):
        dovecot.add_user(f"burst{n}-{time.time_ns()}", "pw")
    for name in sorted(p.name for p in dovecot.users_dir.glob("burst*")):
        dovecot.connect(name, "pw").logout()


def test_password_change_takes_effect(dovecot: DovecotServer) -> None:
    name = f"changer{time.time_ns()}"
    dovecot.add_user(name, "old")
    dovecot.connect(name, "old").logout()
    dovecot.add_user(name, "new")
    dovecot.connect(name, "new").logout()
    with pytest.raises(imapclient.exceptions.LoginError):
        dovecot.connect(name, "old")


def test_imap_url(dovecot: DovecotServer) -> None:
    assert dovecot.imap_url("support", "p@ss") == (
        f"imap://support:p%40ss@127.0.0.1:{dovecot.imap_port}/INBOX"
    )
    assert dovecot.imap_url("support", "x", folder="Archive", tls=True) == (
        f"imaps://support:x@127.0.0.1:{dovecot.imaps_port}/Archive"
    )


def test_start_failure_raises_with_the_log_tail() -> None:
    base = Path(tempfile.mkdtemp(prefix="mailbot-dovecot-bad-"))
    server = DovecotServer(base, extra_config="no_such_setting = 1\n")
    try:
        with pytest.raises(DovecotError, match="no_such_setting"):
            server.start()
        assert not server.running
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


# -- SMTP sink --------------------------------------------------------------


def test_sink_records_a_message(smtp_server: SmtpSink) -> None:
    asyncio.run(
        aiosmtplib.send(
            make_message("Ticket #1"),
            hostname=smtp_server.host,
            port=smtp_server.port,
            recipients=["ana@example.com", "cc@example.com"],
        )
    )
    [mail] = smtp_server.wait_for(1, timeout=5)
    assert mail.mail_from == "bot@example.org"
    assert mail.rcpt_tos == ["ana@example.com", "cc@example.com"]
    assert mail.message["Subject"] == "Ticket #1"
    assert b"We got your message." in mail.raw
    smtp_server.clear()
    assert smtp_server.received == []


def test_sink_wait_for_times_out(smtp_server: SmtpSink) -> None:
    with pytest.raises(TimeoutError):
        smtp_server.wait_for(1, timeout=0.2)


def test_sink_with_auth_accepts_right_credentials_only() -> None:
    with SmtpSink(auth_required=True, credentials={"bot": "s3cret"}) as sink:
        asyncio.run(
            aiosmtplib.send(
                make_message(), hostname=sink.host, port=sink.port, username="bot", password="s3cret"
            )
        )
        assert len(sink.wait_for(1)) == 1
        with pytest.raises(aiosmtplib.SMTPAuthenticationError):
            asyncio.run(
                aiosmtplib.send(
                    make_message(), hostname=sink.host, port=sink.port, username="bot", password="x"
                )
            )
        # auth_required: MAIL FROM without AUTH is refused (530).
        with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
            asyncio.run(aiosmtplib.send(make_message(), hostname=sink.host, port=sink.port))
        assert refused.value.code == 530
        assert len(sink.received) == 1


def test_sink_with_starttls(tmp_path: Path) -> None:
    with SmtpSink(starttls=True, cert_dir=tmp_path, credentials={"bot": "pw"}) as sink:
        assert sink.cert_path is not None
        context = ssl.create_default_context(cafile=str(sink.cert_path))
        asyncio.run(
            aiosmtplib.send(
                make_message(),
                hostname=sink.host,
                port=sink.port,
                start_tls=True,
                tls_context=context,
                username="bot",
                password="pw",
            )
        )
        assert len(sink.wait_for(1)) == 1


def test_sink_fail_with_gives_temporary_failure(smtp_server: SmtpSink) -> None:
    smtp_server.fail_with = "451 4.3.0 try again later"
    with pytest.raises(aiosmtplib.SMTPResponseException) as failed:
        asyncio.run(aiosmtplib.send(make_message(), hostname=smtp_server.host, port=smtp_server.port))
    assert failed.value.code == 451
    assert smtp_server.received == []
    # Clearing the failure lets the retry through, as a real relay would.
    smtp_server.fail_with = None
    asyncio.run(aiosmtplib.send(make_message(), hostname=smtp_server.host, port=smtp_server.port))
    assert len(smtp_server.wait_for(1)) == 1


def test_sink_prints_what_it_receives() -> None:
    out = io.StringIO()
    with SmtpSink(print_to=out) as sink:
        asyncio.run(aiosmtplib.send(make_message("Printed"), hostname=sink.host, port=sink.port))
        sink.wait_for(1)
    assert "Subject: Printed" in out.getvalue()
    assert "We got your message." in out.getvalue()
    assert sink.smtp_url() == f"smtp://127.0.0.1:{sink.port}"
