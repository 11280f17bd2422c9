"""Raw RFC 5322 bytes in, one InboundMessage out.

Only two things make a message unparseable: bytes that are not mail at all, and mail
with no sender we could ever answer. Everything else (broken encodings, malformed
headers, odd MIME trees) degrades to a best-effort reading plus `parse_warnings`.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime

from mailbot.limits import Limits
from mailbot.mail.addresses import NamedAddress, display_name_warning, parse_address_list
from mailbot.mail.bounces import is_mail_system
from mailbot.mail.charsets import decode_encoded_words, decode_text, has_raw_bytes
from mailbot.mail.forwarded import find_forwarded
from mailbot.mail.header_values import one_line
from mailbot.mail.html_text import html_opening, html_to_text
from mailbot.mail.mail_policy import MAIL_POLICY
from mailbot.mail.quotes import split_reply
from mailbot.message import Attachment, EnclosedMessage, ForwardedOrigin, InboundMessage

_PARSER = BytesParser(policy=MAIL_POLICY)
# Serialising attached messages: compat32 writes stored headers back as they came
# instead of refolding them, which policy.default can fail on for broken headers.
_GENERATOR_POLICY = policy.compat32

_BODY_TYPES = ("text/plain", "text/html")
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


class UnparseableMessage(Exception):
    """The bytes are not an e-mail, or the e-mail names no sender at all."""


class TooDeeplyNested(UnparseableMessage):
    """MIME parts nested beyond the limit: no real mail does that, a parser bomb does."""


_DEFAULTS = Limits()


def parse_email(
    raw: bytes,
    *,
    max_attachment_bytes: int = _DEFAULTS.max_attachment_bytes,
    max_message_bytes: int = _DEFAULTS.max_message_bytes,
    max_mime_depth: int = _DEFAULTS.max_mime_depth,
    max_html_read_chars: int = _DEFAULTS.max_html_read_chars,
) -> InboundMessage:
    if not raw.strip():
        raise UnparseableMessage("not an e-mail: the message is empty")
    notices: list[str] = []  # for the agents, beside the display-name warning
    truncated = len(raw) > max_message_bytes
    if truncated:
        # Stored whole by the source; reading all of it costs memory and time in
        # proportion (a 50 MB attachment is 68 MB of base64), and what a ticket needs
        # (headers, the customer's words) comes first.
        notices.append(
            f"This message is {len(raw)} bytes, over the {max_message_bytes}-byte limit: only its "
            "first part was read, and its attachments are kept in the raw message only."
        )
        raw = raw[:max_message_bytes]
    try:
        msg = _PARSER.parsebytes(raw)
    except RecursionError as exc:
        raise TooDeeplyNested(
            f"MIME parts nested too deeply to read (the limit is {max_mime_depth} levels)"
        ) from exc
    except Exception as exc:  # the parser is lenient; this is truly not mail
        raise UnparseableMessage(f"not an e-mail: {exc}") from exc
    if not msg.keys():
        raise UnparseableMessage("not an e-mail: no header lines before the body")
    depth = mime_depth(msg)
    if depth > max_mime_depth:
        raise TooDeeplyNested(f"MIME parts nested {depth} levels deep (the limit is {max_mime_depth})")

    warnings: list[str] = []
    sender = _sender(msg, warnings)
    if sender is None:
        raise UnparseableMessage("no usable sender: From, Sender, Reply-To and Return-Path hold no address")
    subject = _text_header(msg, "subject") or ""
    content_type = _content_type(msg)
    return_path = _return_path(msg)
    body = _Body(
        0 if truncated else max_attachment_bytes,
        warnings,
        max_depth=max_mime_depth,
        max_html_read_chars=max_html_read_chars,
    )
    body.collect(msg)
    full_text = body.text()
    parts = split_reply(full_text)

    enclosed = _enclosed(body, full_text)
    bounced = None
    forwarded = None
    if _is_bounce(msg, content_type, sender, return_path):
        bounced = _bounced_message_id(enclosed, full_text)
    else:
        forwarded = find_forwarded(subject, full_text) or _attached_forward(body)
    _note_defects(msg, warnings)
    return InboundMessage(
        channel="email",
        sender_address=sender.address,
        sender_name=sender.name,
        subject=subject,
        text=parts.new,
        quoted_text=parts.quoted,
        signature=parts.signature,
        html=body.html(),
        message_id=next(iter(_message_ids(_text_header(msg, "message-id"))), None),
        in_reply_to=_message_ids(_text_header(msg, "in-reply-to")),
        references=_message_ids(_text_header(msg, "references")),
        recipients=_recipients(msg),
        date=_date(msg, warnings),
        headers=_headers(msg),
        content_type=content_type,
        return_path=return_path,
        attachments=body.attachments,
        forwarded=forwarded,
        bounced_message_id=bounced,
        enclosed=enclosed,
        language=None,
        parse_warnings=warnings,
        warnings=[w for w in [display_name_warning(sender), *notices] if w],
    )


def mime_depth(msg: Message) -> int:
    """How many levels of parts inside parts, counted without recursion (the point is to
    refuse what recursion would choke on)."""
    deepest = 0
    stack: list[tuple[Message, int]] = [(msg, 1)]
    while stack:
        part, depth = stack.pop()
        deepest = max(deepest, depth)
        try:
            payload = part.get_payload()
        except Exception:
            continue
        if isinstance(payload, list):
            stack.extend((child, depth + 1) for child in payload if isinstance(child, Message))
    return deepest


# -- headers -----------------------------------------------------------------
# Header values are read raw (msg.raw_items) and decoded here rather than through
# msg[name]: policy.default raises on some malformed headers, replaces raw 8-bit
# bytes (legal since RFC 6532, common before it) with U+FFFD, and trusts
# mislabelled encoded-word charsets.


def _raw_values(msg: Message, name: str) -> list[str]:
    try:
        return [_real_text(str(value)) for key, value in msg.raw_items() if key.lower() == name]
    except Exception:
        return []


def _real_text(value: str) -> str:
    """The email package hands raw 8-bit header bytes over as surrogate escapes, which no
    database or socket accepts. RFC 6532 allows UTF-8 there (older clients send Latin-1):
    decode the bytes for real."""
    if not has_raw_bytes(value):
        return value
    text, _ = decode_text(value.encode("utf-8", "surrogateescape"), "utf-8")
    return text


def _text_header(msg: Message, name: str) -> str | None:
    values = _raw_values(msg, name)
    return one_line(decode_encoded_words(values[0])).strip() if values else None


def _headers(msg: Message) -> dict[str, str]:
    headers: dict[str, str] = {}
    try:
        items = list(msg.raw_items())
    except Exception:
        return headers
    for key, value in items:
        headers.setdefault(key.lower(), one_line(decode_encoded_words(_real_text(str(value)))).strip())
    return headers


def _addresses(msg: Message, name: str) -> list[NamedAddress]:
    """Every address in every `name` header; see mail/addresses.py for why not the stdlib's."""
    found: list[NamedAddress] = []
    for raw in _raw_values(msg, name):
        found.extend(parse_address_list(raw))
    return found


def _sender(msg: Message, warnings: list[str]) -> NamedAddress | None:
    for name in ("from", "sender", "reply-to", "return-path"):
        addresses = _addresses(msg, name)
        if addresses:
            if name != "from":
                warnings.append(f"no usable From header; sender taken from {name.title()}")
            return addresses[0]
    return None


def _recipients(msg: Message) -> list[str]:
    seen: dict[str, None] = {}
    for name in ("delivered-to", "x-original-to", "to", "cc"):
        for found in _addresses(msg, name):
            seen.setdefault(found.address, None)
    return list(seen)


def _return_path(msg: Message) -> str | None:
    values = _raw_values(msg, "return-path")
    if not values:
        return None
    value = " ".join(values[0].split())
    found = parse_address_list(value)
    # RFC 5321 section 4.5.5: "<>" is the null reverse-path of bounces and other
    # automatic replies.
    return found[0].address if found else value.strip("<> ").lower()


def _message_ids(value: str | None) -> list[str]:
    if not value:
        return []
    ids = _MESSAGE_ID.findall(value)
    if not ids:
        # Some mailers drop the angle brackets (RFC 5322 section 3.6.4 requires them).
        ids = [token.strip("<>") for token in re.split(r"[\s,]+", value) if "@" in token]
    return list(dict.fromkeys(ids))


def _date(msg: Message, warnings: list[str]) -> datetime | None:
    value = _text_header(msg, "date")
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        warnings.append(f"unparseable Date header: {value!r}")
        return None
    # RFC 5322 section 3.3: "-0000" means the time is UTC but the zone is unknown.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# -- MIME structure --------------------------------------------------------


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "text/plain"


def _charset(part: Message) -> str | None:
    try:
        return part.get_content_charset()
    except Exception:
        return None


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:
        return None


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if not name:
        return None
    # RFC 2047 words in a quoted filename are forbidden (RFC 2047 section 5) but
    # Outlook and Gmail emit them; surrogates are raw 8-bit bytes.
    name = decode_encoded_words(str(name))
    name = re.split(r"[\\/]", name)[-1].strip()  # never keep a client's path
    return name or None


def _payload_bytes(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if isinstance(payload, bytes):
        return payload
    try:
        raw = part.as_bytes(policy=_GENERATOR_POLICY)
    except Exception:
        return b""
    # For message/* parts the payload is a parsed message: keep what follows the
    # part's own headers.
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, rest = raw.partition(separator)
        if found:
            return rest
    return b""


def _inner_message(part: Message) -> Message | None:
    try:
        payload = part.get_payload()
    except Exception:
        return None
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    # A message/rfc822 part wrongly sent in base64 (RFC 2046 section 5.2.1 forbids it).
    data = _payload_bytes(part)
    try:
        return _PARSER.parsebytes(data) if data.strip() else None
    except Exception:  # RecursionError included: it stays an attachment, unread
        return None


@dataclass
class _Segment:
    plain: str | None = None
    html: str | None = None


@dataclass
class _Body:
    """What a walk over the MIME tree found: text segments, attachments, messages."""

    max_attachment_bytes: int
    warnings: list[str]
    # Only a message parsed out of a part (a base64 message/rfc822) can get here deeper
    # than parse_email's own check allowed: its deeper parts are left unread.
    max_depth: int = _DEFAULTS.max_mime_depth
    max_html_read_chars: int = _DEFAULTS.max_html_read_chars
    segments: list[_Segment] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)  # message/rfc822 parts
    header_blocks: list[Message] = field(default_factory=list)  # text/rfc822-headers

    def text(self) -> str:
        texts = [s.plain if s.plain is not None else self._html_text(s.html or "") for s in self.segments]
        return "\n\n".join(t.strip("\n") for t in texts if t.strip()).replace("\r\n", "\n")

    def _html_text(self, html: str) -> str:
        if len(html) > self.max_html_read_chars:
            self.warnings.append(
                f"HTML part of {len(html)} characters: text made from its first "
                f"{self.max_html_read_chars} only (the whole is in the raw message)"
            )
        return html_to_text(html_opening(html, self.max_html_read_chars))

    def html(self) -> str | None:
        htmls = [s.html for s in self.segments if s.html]
        return "\n".join(htmls) if htmls else None

    def collect(self, part: Message, depth: int = 1) -> None:
        if depth > self.max_depth:
            self.warnings.append(f"parts nested deeper than {self.max_depth} levels left unread")
            return
        ctype = _content_type(part)
        if ctype in ("message/rfc822", "message/global"):
            inner = _inner_message(part)
            if inner is not None:
                self.messages.append(inner)
            self._attach(part, ctype)
        elif ctype.startswith("message/"):
            self._attach(part, ctype)  # delivery-status, disposition-notification...
        elif part.is_multipart():
            payload = part.get_payload()
            children = [c for c in payload if isinstance(c, Message)] if isinstance(payload, list) else []
            if ctype == "multipart/alternative":
                self._collect_alternative(children, depth)
            else:
                for child in children:
                    self.collect(child, depth + 1)
        elif self._is_attachment(part, ctype):
            if ctype in ("text/rfc822-headers", "text/global-headers"):
                self.header_blocks.append(_PARSER.parsebytes(_payload_bytes(part), headersonly=True))
            self._attach(part, ctype)
        else:
            self._add_text(part, ctype)

    def _collect_alternative(self, children: list[Message], depth: int) -> None:
        # RFC 2046 section 5.1.4: alternatives carry the same content, so take the
        # first plain and the first HTML rendering rather than concatenating them.
        merged = _Segment()
        for child in children:
            sub = _Body(self.max_attachment_bytes, self.warnings, self.max_depth, self.max_html_read_chars)
            sub.collect(child, depth + 1)
            plains = [s.plain for s in sub.segments if s.plain is not None]
            htmls = [s.html for s in sub.segments if s.html is not None]
            if merged.plain is None and plains:
                merged.plain = "\n\n".join(plains)
            if merged.html is None and htmls:
                merged.html = "\n".join(htmls)
            self.attachments.extend(sub.attachments)
            self.messages.extend(sub.messages)
            self.header_blocks.extend(sub.header_blocks)
        if merged.plain is not None or merged.html is not None:
            self.segments.append(merged)

    def _is_attachment(self, part: Message, ctype: str) -> bool:
        if ctype.startswith("multipart/"):
            return False  # a multipart with no boundary: read it as text
        disposition = _disposition(part)
        if ctype not in _BODY_TYPES or disposition == "attachment":
            return True
        return _filename(part) is not None and disposition != "inline"

    def _add_text(self, part: Message, ctype: str) -> None:
        text, warning = decode_text(_payload_bytes(part), _charset(part))
        if warning:
            self.warnings.append(f"{ctype} part: {warning}")
        if ctype == "text/html":
            self.segments.append(_Segment(html=text))
        else:
            if ctype != "text/plain":
                self.warnings.append(f"{ctype} without MIME boundary read as text")
            self.segments.append(_Segment(plain=text))

    def _attach(self, part: Message, ctype: str) -> None:
        data = _payload_bytes(part)
        name = _filename(part) or _default_name(ctype, len(self.attachments) + 1)
        size = len(data)
        if size > self.max_attachment_bytes:
            self.warnings.append(
                f"attachment {name!r} ({size} bytes) exceeds the "
                f"{self.max_attachment_bytes}-byte limit; data not kept"
            )
        self.attachments.append(
            Attachment(
                filename=name,
                content_type=ctype,
                size=size,
                data=data if size <= self.max_attachment_bytes else None,
            )
        )


def _default_name(ctype: str, index: int) -> str:
    extension = mimetypes.guess_extension(ctype) or (
        ".txt" if ctype.startswith(("text/", "message/")) else ".bin"
    )
    return f"part-{index}{extension}"


# -- forwards and bounces ----------------------------------------------------


def _attached_forward(body: _Body) -> ForwardedOrigin | None:
    """A forward sent "as attachment": the original is a message/rfc822 part."""
    for inner in body.messages:
        senders = _addresses(inner, "from") or _addresses(inner, "sender")
        if not senders:
            continue
        inner_body = _Body(body.max_attachment_bytes, [], body.max_depth, body.max_html_read_chars)
        inner_body.collect(inner)
        return ForwardedOrigin(
            address=senders[0].address,
            name=senders[0].name,
            claimed_address=senders[0].claimed_address,
            subject=_text_header(inner, "subject") or "",
            date=_text_header(inner, "date") or "",
            text=inner_body.text(),
        )
    return None


def _is_bounce(msg: Message, content_type: str, sender: NamedAddress, return_path: str | None) -> bool:
    if content_type == "multipart/report":
        try:
            report_type = str(msg.get_param("report-type") or "").lower()
        except Exception:
            report_type = ""
        # RFC 6522: read receipts (disposition-notification) and abuse reports
        # (feedback-report) are reports too, but nothing bounced.
        return report_type in ("", "delivery-status", "global-delivery-status")
    # Classic bounces: RFC 5321 section 4.5.5 sends them with a null reverse-path,
    # from the mailer daemon or postmaster.
    return return_path == "" or is_mail_system(sender.address, sender.name)


def _bounced_message_id(enclosed: EnclosedMessage | None, full_text: str) -> str | None:
    if enclosed is not None and enclosed.message_id:
        return enclosed.message_id
    # Classic MAILER-DAEMON bounces paste the original headers into the text.
    match = re.search(r"^[\s>]*message-id:\s*(\S.*)$", full_text, re.IGNORECASE | re.MULTILINE)
    if match:
        ids = _message_ids(match.group(1))
        return ids[0] if ids else None
    return None


# A pasted header block: "Name: value" lines and their continuations, any "> "
# quote markers removed. Two of these fields make it a message's header, not a
# sentence that happens to start with "Message-ID:".
_HEADER_LINE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*:[ \t]*\S")
_QUOTE_MARKS = re.compile(r"^(?:[ \t]*>)+[ \t]?")
_IDENTIFYING_FIELDS = frozenset({"from", "to", "subject", "date", "message-id", "x-mailbot-outbox"})


def _enclosed(body: _Body, full_text: str) -> EnclosedMessage | None:
    """The original a bounce or report carries: an attached message or header block
    (RFC 3462 / RFC 6522 third part), else a header block pasted into the text."""
    originals = [_enclosed_from(original) for original in body.header_blocks + body.messages]
    found = [o for o in originals if o is not None]
    if found:
        # The copy with a Message-ID says exactly which message it was.
        return next((o for o in found if o.message_id), found[0])
    pasted = _pasted_headers(full_text)
    return _enclosed_from(pasted) if pasted is not None else None


def _enclosed_from(original: Message) -> EnclosedMessage | None:
    message_id = next(iter(_message_ids(_text_header(original, "message-id"))), None)
    senders = _addresses(original, "from") or _addresses(original, "sender")
    outbox_key = _text_header(original, "x-mailbot-outbox") or None
    if not (message_id or senders or outbox_key):
        return None
    return EnclosedMessage(
        message_id=message_id,
        sender_address=senders[0].address if senders else "",
        subject=_text_header(original, "subject") or "",
        reply_to=tuple(a.address for a in _addresses(original, "reply-to")),
        outbox_key=outbox_key,
    )


def _pasted_headers(text: str) -> Message | None:
    lines = [_QUOTE_MARKS.sub("", line) for line in text.split("\n")]
    for index, line in enumerate(lines):
        if not line.lower().startswith(("message-id:", "x-mailbot-outbox:")):
            continue
        start = index
        while start > 0 and _in_header_block(lines[start - 1]):
            start -= 1
        end = index + 1
        while end < len(lines) and _in_header_block(lines[end]):
            end += 1
        block = lines[start:end]
        while block and block[0][:1] in (" ", "\t"):
            block.pop(0)  # a continuation with nothing to continue
        names = {entry.split(":", 1)[0].lower() for entry in block if _HEADER_LINE.match(entry)}
        if len(names & _IDENTIFYING_FIELDS) >= 2:
            data = "\n".join(block).encode("utf-8", "surrogateescape") + b"\n\n"
            return _PARSER.parsebytes(data, headersonly=True)
    return None


def _in_header_block(line: str) -> bool:
    return bool(_HEADER_LINE.match(line)) or (line[:1] in (" ", "\t") and bool(line.strip()))


def _note_defects(msg: Message, warnings: list[str]) -> None:
    try:
        names = {type(defect).__name__ for part in msg.walk() for defect in part.defects}
    except Exception:
        return
    if names:
        warnings.append("MIME defects: " + ", ".join(sorted(names)))
