"""E-mail sender: aiosmtplib through the mailbox's own SMTP server."""

from __future__ import annotations

import asyncio
import logging
import ssl
from email.headerregistry import Address
from email.utils import format_datetime

import aiosmtplib

from mailbot.mail.header_values import one_line
from mailbot.message import NOTIFICATION_HEADER
from mailbot.runtime import Runtime
from mailbot.senders import Handover, PermanentFailure, TemporaryFailure, mime_text, sender, smtp_pool
from mailbot.store.models import Mailbox, OutboxEntry
from mailbot.store.secrets import decrypt_secret
from mailbot.timeutil import utcnow

SMTP_TIMEOUT_SECONDS = 30

log = logging.getLogger("mailbot.outbox")


def build_email(entry: OutboxEntry, *, smtputf8: bool = False) -> bytes:
    """The message as it goes on the wire (CRLF line ends). `smtputf8`: the server takes
    RFC 6532 mail, so addresses and text in the headers are written as UTF-8 as they stand
    (an encoded-word may not stand in an address, RFC 2047 section 5)."""
    # Every value that came from outside (a customer's subject, an agent's or a chat
    # sender's name, their address) is put on one line: no header injection (header_values.py).
    # An agent's reply shows their name beside the support address; the address stays ours.
    headers = [
        mime_text.mailbox(
            "From", one_line(entry.from_name or ""), one_line(entry.from_address), smtputf8=smtputf8
        ),
        _outside_tokens("To", entry.to_address, smtputf8),
    ]
    if entry.reply_to:
        headers.append(_outside_tokens("Reply-To", entry.reply_to, smtputf8))
    headers += [
        mime_text.unstructured("Subject", one_line(entry.subject), smtputf8=smtputf8),
        mime_text.tokens("Date", format_datetime(utcnow())),
        mime_text.tokens("Message-ID", f"<{one_line(entry.internet_message_id)}>"),
    ]
    if entry.in_reply_to:
        headers.append(_outside_tokens("In-Reply-To", f"<{entry.in_reply_to}>", smtputf8))
    if entry.references:
        headers.append(_outside_tokens("References", entry.references, smtputf8))
    if entry.kind in {"ack", "escalation", "notification", "handoff", "satisfaction"}:
        # RFC 3834 section 5: automatic responses say so, and ask Exchange not to
        # answer them with its own automatic replies.
        auto = "auto-replied" if entry.kind == "ack" else "auto-generated"
        headers.append(mime_text.tokens("Auto-Submitted", auto))
        headers.append(mime_text.tokens("X-Auto-Response-Suppress", "All"))
    if entry.ticket_id is not None:
        headers.append(mime_text.unstructured("X-Mailbot-Outbox", entry.key, smtputf8=smtputf8))
    if entry.kind in {"notification", "escalation"}:
        # Our notification to agents (or an SLA escalation): a copy in a support mailbox
        # is never a ticket (classify.own_notification), even where a relay drops
        # X-Mailbot-Outbox.
        headers.append(mime_text.unstructured(NOTIFICATION_HEADER, entry.key, smtputf8=smtputf8))
    transfer_encoding, body = mime_text.text_body(entry.body)
    headers += [
        "MIME-Version: 1.0\r\n",
        'Content-Type: text/plain; charset="utf-8"\r\n',
        f"Content-Transfer-Encoding: {transfer_encoding}\r\n",
    ]
    return "".join(headers).encode("utf-8") + b"\r\n" + body


def _outside_tokens(name: str, value: str, smtputf8: bool) -> str:
    """An address or message ids that came from outside. Non-ASCII (a customer's mail
    client may put it in a Message-ID) cannot be carried without SMTPUTF8, nor can a run
    longer than a line may be (a hostile 1,200-character Message-ID): sent as the email
    package always wrote them, in encoded-words, rather than as bytes or a line the
    server refuses for good."""
    value = one_line(value)
    if not mime_text.needs_encoded_words(value, smtputf8):
        return mime_text.tokens(name, value)
    return mime_text.unstructured(name, value, smtputf8=smtputf8)


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
    """One connection for its share, taken from the worker's pool or opened; each message
    gets its own envelope. Given back to the pool only if every exchange went well."""
    key = smtp_pool.server_key(
        mailbox.smtp_host, mailbox.smtp_port, mailbox.smtp_security, mailbox.smtp_user or "", password
    )
    client = await smtp_pool.pool().take(key) or await _connect(mailbox, password)
    in_order = False
    try:
        for entry in entries:
            utf8 = needs_smtputf8(entry)
            if utf8 and not client.supports_extension("smtputf8"):
                handover.done(entry, PermanentFailure(_no_smtputf8(entry, mailbox)))
                continue
            encoding = "utf-8" if utf8 else "ascii"
            try:
                message = build_email(entry, smtputf8=utf8)
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
                await client.data(message)
            except aiosmtplib.SMTPResponseException as error:
                handover.done(entry, _failure(error))
                await _reset(client)
                continue
            except _CONNECTION_ERRORS as error:
                handover.done(entry, _failure(error))
                raise _failure(error) from error  # the rest were never begun: retried
            except TemporaryFailure:
                raise  # the database, from handover.begin(): nothing was sent, all retried
            except Exception as error:
                # Something this message carries that cannot be put on the wire (a header
                # the email package cannot serialise, say): it fails alone and for good.
                log.exception("outbox %s: cannot be sent", entry.id)
                handover.done(entry, PermanentFailure(f"{type(error).__name__}: {error}"))
                await _reset(client)
                continue
            handover.done(entry)
        in_order = True  # the last reply was a 2xx (DATA's, or RSET's after a refusal)
    finally:
        if in_order:
            smtp_pool.pool().give_back(key, client)
        else:
            smtp_pool.close(client)


async def _connect(mailbox: Mailbox, password: str) -> aiosmtplib.SMTP:
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
        smtp_pool.close(client)
        raise _failure(error) from error  # nothing was handed over
    return client


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
    smtp_pool.run(_send_all(mailbox, password, entries, handover))
