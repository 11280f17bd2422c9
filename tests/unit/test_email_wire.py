"""The mail we build (senders/smtp.py build_email), sent over SMTP to a real sink and read
back there: every header and the body come out as they went in, whatever the language,
the length or the tricks in the values."""

from __future__ import annotations

import asyncio
from email import message_from_bytes, policy

import aiosmtplib
import pytest

from mailbot.devservers.smtp_sink import SmtpSink
from mailbot.mail.header_values import one_line
from mailbot.senders.smtp import build_email
from mailbot.store.models import OutboxEntry

LONG_ES = (
    "Re: Consulta sobre la facturación del pedido 4411 que no ha llegado todavía a Málaga "
    "y necesito que me devolváis el importe cuanto antes, por favor, gracias de antemano"
)
CASES = [
    # (subject, from_name, body)
    ("Mi pedido no ha llegado", "", "Hola:\n\nHemos recibido tu mensaje.\n"),
    ("Ordine n. 7781: perché è già in ritardo?", "Giulia dell'Assistenza", "Ciao,\nè tutto a posto.\n"),
    ("Invoice", "Smith, John (Support)", "Thanks.\n"),
    ("🎉 ¡Gracias! Ñandú café", "Ana María Núñez 😀", "Gracias 🙏 por escribirnos.\n"),
    (LONG_ES, "José", "Línea larga " * 20 + "\n" + "otra línea\n"),
    ("x" * 1200, "", "a" * 2000 + "\n"),  # one unbreakable word, longer than a line may be
    ("Hi\r\nBcc: victim@evil.test\r\n\r\nbody", "Eve\nX-Evil: 1", "Gracias\n"),
    ("=?utf-8?q?not_an_encoded_word?= Hello", '"Quoted" \\ name', ".\n.starts with a dot\n"),
    ("Two  spaces   kept", "", "Emoji only " + "🙂" * 32 + "\n"),
]


def _entry(subject: str, from_name: str, body: str, **fields: object) -> OutboxEntry:
    values: dict[str, object] = {
        "key": "ack:MB-TEST01",
        "kind": "ack",
        "channel": "email",
        "ticket_id": 1,
        "from_address": "support@acme.test",
        "from_name": from_name,
        "to_address": "ana@example.com",
        "reply_to": "support+MB-TEST01.abc@acme.test",
        "subject": subject,
        "body": body,
        "internet_message_id": "ack.MB-TEST01@acme.test",
        "in_reply_to": "q1@mail.gmail.test",
        "references": " ".join(f"<ref{n}.{'r' * 30}@mail.example.com>" for n in range(6)),
    }
    values.update(fields)
    return OutboxEntry(**values)


def _through_the_sink(sink: SmtpSink, raw: bytes, *, smtputf8: bool = False) -> bytes:
    async def send() -> None:
        async with aiosmtplib.SMTP(hostname=sink.host, port=sink.port) as client:
            await client.sendmail(
                "support@acme.test",
                ["ana@example.com"],
                raw,
                mail_options=["SMTPUTF8"] if smtputf8 else [],
            )

    asyncio.run(send())
    [received] = sink.wait_for(1)
    return received.raw


@pytest.mark.parametrize(("subject", "from_name", "body"), CASES)
def test_what_reaches_the_server_reads_back_as_built(
    smtp_server: SmtpSink, subject: str, from_name: str, body: str
) -> None:
    entry = _entry(subject, from_name, body)
    raw = _through_the_sink(smtp_server, build_email(entry))
    header = raw.split(b"\r\n\r\n", 1)[0]
    assert header.isascii()  # no SMTPUTF8 asked for: 7-bit headers (the body may be 8bit, as before)
    lines = header.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998  # RFC 5322 section 2.1.1
    mail = message_from_bytes(raw, policy=policy.default)
    assert str(mail["Subject"]) == one_line(subject)
    assert mail["From"].addresses[0].display_name == one_line(from_name)
    assert mail["From"].addresses[0].addr_spec == "support@acme.test"
    assert str(mail["To"]) == "ana@example.com"
    assert str(mail["Reply-To"]) == "support+MB-TEST01.abc@acme.test"
    assert str(mail["Message-ID"]) == "<ack.MB-TEST01@acme.test>"
    assert str(mail["In-Reply-To"]) == "<q1@mail.gmail.test>"
    assert str(mail["References"]) == entry.references
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["X-Auto-Response-Suppress"] == "All"
    assert mail["X-Mailbot-Outbox"] == "ack:MB-TEST01"
    assert mail["Date"].datetime is not None
    assert "Bcc" not in mail and "X-Evil" not in mail  # no header injected
    assert mail.get_content_type() == "text/plain" and mail.get_content_charset() == "utf-8"
    assert mail.get_content().replace("\r\n", "\n") == body  # a reader sees CRLF as line ends


def test_long_headers_are_folded_to_78_characters(smtp_server: SmtpSink) -> None:
    raw = _through_the_sink(smtp_server, build_email(_entry(LONG_ES, "José", "Hola\n")))
    header_lines = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert max(len(line) for line in header_lines) <= 78


def test_over_smtputf8_text_and_addresses_travel_as_utf8() -> None:
    with SmtpSink(smtputf8=True) as sink:
        entry = _entry(
            "¿Dónde está mi pedido? 📦", "Atención al cliente", "Hola\n", to_address="josé@correo.test"
        )
        raw = _through_the_sink(sink, build_email(entry, smtputf8=True), smtputf8=True)
    assert "¿Dónde está mi pedido? 📦".encode() in raw  # as it stands, not in encoded-words
    mail = message_from_bytes(raw, policy=policy.SMTPUTF8)
    assert str(mail["Subject"]) == "¿Dónde está mi pedido? 📦"
    assert b"To: jos\xc3\xa9@correo.test" in raw


def test_a_notification_is_marked_as_ours() -> None:
    mail = message_from_bytes(build_email(_entry("New ticket", "mailbot", "x\n", kind="notification")))
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["X-Mailbot-Notification"] == "ack:MB-TEST01"


def test_a_non_ascii_message_id_from_a_customer_goes_out_as_ascii_without_smtputf8() -> None:
    # Some mail clients put the sender's accented domain in their Message-ID; a server
    # without SMTPUTF8 may refuse 8-bit headers for good, and the customer would hear nothing.
    accented = "ñandú.1@correo.test"
    entry = _entry("Pedido", "", "Gracias\n", in_reply_to=accented, references=f"<{accented}>")
    wire = build_email(entry)
    assert wire.isascii()
    parsed = message_from_bytes(wire, policy=policy.default)
    assert str(parsed["In-Reply-To"]) == "<ñandú.1@correo.test>"
    assert build_email(entry, smtputf8=True).decode().count("<ñandú.1@correo.test>") == 2
