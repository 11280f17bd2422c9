"""E-mail sender: aiosmtplib through the mailbox's own SMTP server."""

from __future__ import annotations

import asyncio
import logging
import ssl
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib

from mailbot.mail.header_values import one_line
from mailbot.message import NOTIFICATION_HEADER
from mailbot.runtime import Runtime
from mailbot.senders import Handover, PermanentFailure, TemporaryFailure, sender
from mailbot.store.models import Mailbox, OutboxEntry
from mailbot.store.secrets import decrypt_secret
from mailbot.timeutil import utcnow

SMTP_TIMEOUT_SECONDS = 30

log = logging.getLogger("mailbot.outbox")


def build_email(entry: OutboxEntry) -> EmailMessage:
    message = EmailMessage()
    # Every value that came from outside (a customer's subject, an agent's or a chat
    # sender's name, their address) is put on one line: no header injection, and no
    # acknowledgement refused by the email package for a line break (header_values.py).
    from_name = one_line(entry.from_name or "")
    # An agent's reply shows their name beside the support address; the address stays ours.
    message["From"] = (
        Address(display_name=from_name, addr_spec=one_line(entry.from_address))
        if from_name
        else one_line(entry.from_address)
    )
    message["To"] = one_line(entry.to_address)
    if entry.reply_to:
        message["Reply-To"] = one_line(entry.reply_to)
    message["Subject"] = one_line(entry.subject)
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = f"<{one_line(entry.internet_message_id)}>"
    if entry.in_reply_to:
        message["In-Reply-To"] = f"<{one_line(entry.in_reply_to)}>"
    if entry.references:
        message["References"] = one_line(entry.references)
    if entry.kind in {"ack", "escalation", "notification", "handoff", "satisfaction"}:
        # RFC 3834 section 5: automatic responses say so, and ask Exchange not to
        # answer them with its own automatic replies.
        message["Auto-Submitted"] = "auto-replied" if entry.kind == "ack" else "auto-generated"
        message["X-Auto-Response-Suppress"] = "All"
    if entry.ticket_id is not None:
        message["X-Mailbot-Outbox"] = entry.key
    if entry.kind in {"notification", "escalation"}:
        # Our notification to agents (or an SLA escalation): a copy in a support mailbox
        # is never a ticket (classify.own_notification), even where a relay drops
        # X-Mailbot-Outbox.
        message[NOTIFICATION_HEADER] = entry.key
    message.set_content(entry.body)
    return message


def _security(mailbox: Mailbox) -> dict[str, object]:
    # The context is built only when TLS is used: create_default_context() loads the
    # whole system CA bundle (about 30 ms), which used to be half the cost of sending
    # an acknowledgement over a plain connection that never looked at it.
    if mailbox.smtp_security == "tls":
        return {"use_tls": True, "tls_context": ssl.create_default_context()}
    if mailbox.smtp_security == "starttls":
        return {"use_tls": False, "start_tls": True, "tls_context": ssl.create_default_context()}
    return {"use_tls": False, "start_tls": False}


def _failure(error: Exception) -> PermanentFailure | TemporaryFailure:
    if isinstance(error, aiosmtplib.SMTPResponseException):
        text = f"SMTP {error.code}: {error.message}"
        # 530/534/535 are our credentials, not this message: retry once an admin fixes them.
        if 500 <= error.code < 600 and error.code not in {530, 534, 535}:
            return PermanentFailure(text)
        return TemporaryFailure(text, definite=True)
    # No answer at all (connection lost, timeout): whether the server took it is unknown.
    return TemporaryFailure(f"{type(error).__name__}: {error}")


_CONNECTION_ERRORS = (TimeoutError, aiosmtplib.SMTPException, OSError)


# Each message costs three round trips (MAIL, RCPT, DATA) on its connection: a group is
# spread over a few connections at once so those waits overlap (measured: a single
# connection left the workers idle half the time).
MESSAGES_PER_CONNECTION = 5
MAX_CONNECTIONS = 4


async def _send_all(mailbox: Mailbox, password: str, entries: list[OutboxEntry], handover: Handover) -> None:
    count = min(MAX_CONNECTIONS, -(-len(entries) // MESSAGES_PER_CONNECTION))
    shares = [entries[i::count] for i in range(count)]
    outcomes = await asyncio.gather(
        *(_send_over_one_connection(mailbox, password, share, handover) for share in shares),
        return_exceptions=True,
    )
    # A connection that failed leaves its unsent messages to the caller, which records
    # the failure for every message not yet done; the other connections' results stand.
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


async def _send_over_one_connection(
    mailbox: Mailbox, password: str, entries: list[OutboxEntry], handover: Handover
) -> None:
    """One connection for its share; each message gets its own envelope."""
    client = aiosmtplib.SMTP(
        hostname=mailbox.smtp_host,
        port=mailbox.smtp_port,
        timeout=SMTP_TIMEOUT_SECONDS,
        **_security(mailbox),  # type: ignore[arg-type]
    )
    try:
        await client.connect()
        if mailbox.smtp_user:
            await client.login(mailbox.smtp_user, password)
        if client.is_ehlo_or_helo_needed:
            await client.ehlo()  # what the server offers (SMTPUTF8) is known from its EHLO
    except _CONNECTION_ERRORS as error:
        raise _failure(error) from error  # nothing was handed over
    try:
        for entry in entries:
            message = build_email(entry)
            utf8 = needs_smtputf8(entry)
            if utf8 and not client.supports_extension("smtputf8"):
                handover.done(entry, PermanentFailure(_no_smtputf8(entry, mailbox)))
                continue
            encoding = "utf-8" if utf8 else "ascii"
            try:
                await client.mail(
                    Address(addr_spec=entry.from_address).addr_spec,
                    options=["SMTPUTF8"] if utf8 else [],
                    encoding=encoding,
                )
                await client.rcpt(entry.to_address, encoding=encoding)
                # Everything up to here can fail without anything being sent; from DATA
                # on, a crash leaves us not knowing, so the outbox row says so first.
                if not handover.begin(entry):
                    await client.rset()
                    handover.done(entry)
                    continue
                # RFC 6532: with SMTPUTF8 the headers carry the address as UTF-8 as it stands
                # (an encoded-word may not stand in an address, RFC 2047 section 5).
                await client.data(message.as_bytes(policy=policy.SMTPUTF8) if utf8 else message.as_bytes())
            except aiosmtplib.SMTPResponseException as error:
                handover.done(entry, _failure(error))
                await _reset(client)
                continue
            except _CONNECTION_ERRORS as error:
                handover.done(entry, _failure(error))
                raise _failure(error) from error  # the rest were never begun: retried
            except Exception as error:
                # Something this message carries that cannot be put on the wire (a header
                # the email package cannot serialise, say): it fails alone and for good.
                log.exception("outbox %s: cannot be sent", entry.id)
                handover.done(entry, PermanentFailure(f"{type(error).__name__}: {error}"))
                await _reset(client)
                continue
            handover.done(entry)
    finally:
        try:
            await client.quit()
        except _CONNECTION_ERRORS:
            pass


def needs_smtputf8(entry: OutboxEntry) -> bool:
    """RFC 6531: an envelope address that is not ASCII (josé@ejemplo.test, 用户@例子.test) can
    only be handed to a server that offers SMTPUTF8."""
    return not (entry.to_address.isascii() and entry.from_address.isascii())


def _no_smtputf8(entry: OutboxEntry, mailbox: Mailbox) -> str:
    address = entry.to_address if not entry.to_address.isascii() else entry.from_address
    return (
        f"{address} is an internationalised address, and the SMTP server "
        f"{mailbox.smtp_host}:{mailbox.smtp_port} does not offer SMTPUTF8 (RFC 6531) to carry it"
    )


async def _reset(client: aiosmtplib.SMTP) -> None:
    try:
        await client.rset()
    except Exception as error:  # the session is unusable: the rest were never begun
        raise TemporaryFailure(f"SMTP session lost after a refusal: {error}", definite=True) from error


@sender("email")
def send_email(runtime: Runtime, entries: list[OutboxEntry], handover: Handover) -> None:
    mailbox_id = entries[0].mailbox_id
    with runtime.sessions() as session:
        mailbox = session.get(Mailbox, mailbox_id) if mailbox_id else None
    if mailbox is None:
        raise PermanentFailure("the mailbox this message was to be sent from no longer exists")
    password = decrypt_secret(runtime.settings.secret_key, mailbox.smtp_secret)
    asyncio.run(_send_all(mailbox, password, entries, handover))
