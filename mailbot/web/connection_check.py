"""'Test connection' for a mailbox: log in to its real IMAP and SMTP servers and report
what they answered, word for word, so an admin sees the server's own reason."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field

import aiosmtplib
from imapclient.exceptions import IMAPClientError

from mailbot.sources.imap_connect import connect_imap
from mailbot.store.models import Mailbox
from mailbot.store.secrets import SecretUnreadable, decrypt_secret

SMTP_TEST_TIMEOUT_SECONDS = 15


@dataclass
class ConnectionReport:
    server: str  # "IMAP" or "SMTP"
    address: str
    ok: bool = False
    answers: list[str] = field(default_factory=list)


def _text(value: bytes | str | None) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value or ""


def check_imap(mailbox: Mailbox, secret_key: str) -> ConnectionReport:
    report = ConnectionReport("IMAP", f"{mailbox.imap_host}:{mailbox.imap_port} ({mailbox.imap_security})")
    try:
        client = connect_imap(mailbox, secret_key)
    except (IMAPClientError, SecretUnreadable, OSError, ssl.SSLError, TimeoutError) as error:
        report.answers.append(f"{type(error).__name__}: {_text(error.args[0]) if error.args else error}")
        return report
    try:
        report.answers.append(f"Greeting: {_text(client.welcome)}")
        report.answers.append("Logged in as " + mailbox.imap_user)
        capabilities = b" ".join(client.capabilities())
        report.answers.append(f"Capabilities: {_text(capabilities)}")
        status = client.select_folder(mailbox.imap_folder, readonly=True)
        report.answers.append(
            f"Folder {mailbox.imap_folder}: {status.get(b'EXISTS', '?')} messages, "
            f"UIDVALIDITY {status.get(b'UIDVALIDITY', '?')}"
        )
        report.ok = True
    except (IMAPClientError, OSError) as error:
        report.answers.append(f"{type(error).__name__}: {_text(error.args[0]) if error.args else error}")
    finally:
        try:
            client.logout()
        except (IMAPClientError, OSError):
            pass
    return report


def check_smtp(mailbox: Mailbox, secret_key: str) -> ConnectionReport:
    report = ConnectionReport("SMTP", f"{mailbox.smtp_host}:{mailbox.smtp_port} ({mailbox.smtp_security})")
    try:
        password = decrypt_secret(secret_key, mailbox.smtp_secret)
    except SecretUnreadable as error:
        report.answers.append(str(error))
        return report
    try:
        asyncio.run(_smtp_session(mailbox, password, report))
        report.ok = True
    except aiosmtplib.SMTPResponseException as error:
        report.answers.append(f"{error.code} {error.message}")
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
        report.answers.append(f"{type(error).__name__}: {error}")
    return report


async def _smtp_session(mailbox: Mailbox, password: str, report: ConnectionReport) -> None:
    context = ssl.create_default_context()
    client = aiosmtplib.SMTP(
        hostname=mailbox.smtp_host,
        port=mailbox.smtp_port,
        timeout=SMTP_TEST_TIMEOUT_SECONDS,
        use_tls=mailbox.smtp_security == "tls",
        start_tls=mailbox.smtp_security == "starttls",
        tls_context=context,
    )
    greeting = await client.connect()
    try:
        report.answers.append(f"Greeting: {greeting.code} {greeting.message}")
        if mailbox.smtp_security == "starttls":
            report.answers.append("STARTTLS: connection encrypted")
        extensions = ", ".join(sorted(client.esmtp_extensions)) or "none"
        report.answers.append(f"Extensions: {extensions}")
        if mailbox.smtp_user:
            answer = await client.login(mailbox.smtp_user, password)
            report.answers.append(f"Login as {mailbox.smtp_user}: {answer.code} {answer.message}")
        else:
            report.answers.append("No SMTP user configured: not logging in")
        # MAIL FROM without RCPT/DATA: checks the server accepts our sender, sends nothing.
        answer = await client.mail(mailbox.address)
        report.answers.append(f"MAIL FROM:<{mailbox.address}>: {answer.code} {answer.message}")
        await client.rset()
    finally:
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            pass
