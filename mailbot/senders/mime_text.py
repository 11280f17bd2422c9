"""A text/plain message written straight to bytes: the headers we set, encoded and folded
as RFC 5322 and RFC 2047 ask, and the body as the email package would encode it.

Why not `EmailMessage`: its default policy parses every header we set back into a parse
tree (headerregistry) and refolds it on output; that was most of the 3 ms an
acknowledgement cost to build, for headers whose shape we know. The rules kept here:
- a line is at most 78 characters where it can be folded (RFC 5322 section 2.1.1), folded
  only before a space that is already there, so unfolding gives the value back exactly;
- text that is not ASCII is carried in encoded-words (RFC 2047), each at most 75
  characters, never inside an address or a message id (RFC 2047 section 5); with
  SMTPUTF8 (RFC 6532) it is written as UTF-8 as it stands instead;
- a value that already looks like an encoded-word ("=?") is encoded too, so a reader
  shows the text we were given rather than decoding it into something else.
Values are expected on one line already (mail/header_values.one_line); a line break
left in one is still never written as one.
"""

from __future__ import annotations

import base64
import quopri
import re
from email.header import Header

LINESEP = "\r\n"
MAX_LINE = 78  # RFC 5322 section 2.1.1: SHOULD; 998 is the MUST
_LONGEST_WORD = 900  # an unbreakable run longer than this is split into encoded-words
_SPECIALS = re.compile(r'[][\\()<>@,:;".]')
_LINE_BREAK = re.compile(r"[\r\n]+")


def unstructured(name: str, value: str, *, smtputf8: bool = False) -> str:
    """`Name: value` for free text (Subject, our own markers), CRLF-terminated."""
    value = _LINE_BREAK.sub(" ", value)
    if needs_encoded_words(value, smtputf8):
        return _encoded(name, value)
    return _folded(f"{name}: {value}")


def tokens(name: str, value: str) -> str:
    """`Name: value` for a value that must never be encoded (message ids, References,
    addresses): folded at its spaces only."""
    return _folded(f"{name}: {_LINE_BREAK.sub(' ', value)}")


def mailbox(name: str, display_name: str, address: str, *, smtputf8: bool = False) -> str:
    """`Name: display name <address>` (RFC 5322 section 3.4), or the bare address."""
    address = _LINE_BREAK.sub(" ", address)
    display_name = _LINE_BREAK.sub(" ", display_name)
    if not display_name:
        return _folded(f"{name}: {address}")
    if needs_encoded_words(display_name, smtputf8):
        # An encoded-word may stand for a phrase word (RFC 2047 section 5 (3)).
        phrase = Header(display_name, "utf-8", header_name=name).encode(linesep=LINESEP)
        return f"{name}: {phrase} <{address}>{LINESEP}"
    if _SPECIALS.search(display_name):
        escaped = display_name.replace("\\", "\\\\").replace('"', '\\"')
        display_name = f'"{escaped}"'
    return _folded(f"{name}: {display_name} <{address}>")


def text_body(body: str) -> tuple[str, bytes]:
    """(Content-Transfer-Encoding, body bytes with CRLF line ends), chosen as the email
    package's `set_content` chooses: 7bit or 8bit while every line fits in 78 octets,
    else the shorter of quoted-printable and base64."""
    lines = body.encode("utf-8").splitlines()
    if max((len(line) for line in lines), default=0) <= MAX_LINE:
        encoded = b"\r\n".join(lines) + b"\r\n"
        return ("7bit" if encoded.isascii() else "8bit"), encoded
    plain = b"\n".join(lines) + b"\n"
    as_qp = quopri.encodestring(plain)
    as_base64 = base64.encodebytes(plain)
    if len(as_qp) <= len(as_base64):
        return "quoted-printable", as_qp.replace(b"\n", b"\r\n")
    return "base64", as_base64.replace(b"\n", b"\r\n")


def needs_encoded_words(value: str, smtputf8: bool) -> bool:
    if "=?" in value:
        return True
    if not smtputf8 and not value.isascii():
        return True
    return any(len(word) > _LONGEST_WORD for word in value.split(" "))


def _encoded(name: str, value: str) -> str:
    # Header folds between encoded-words of at most 75 characters (RFC 2047 section 2).
    return f"{name}: {Header(value, 'utf-8', header_name=name).encode(linesep=LINESEP)}{LINESEP}"


def _folded(line: str) -> str:
    if len(line) <= MAX_LINE:
        return line + LINESEP
    head, *words = line.split(" ")
    folded: list[str] = []
    current = head
    for word in words:
        # Never right after the field name, nor leaving a line of spaces only (RFC 5322 3.2.2).
        if current.strip() and current != head and len(current) + 1 + len(word) > MAX_LINE:
            folded.append(current)
            current = " " + word  # the space we fold before starts the next line
        else:
            current = f"{current} {word}"
    folded.append(current)
    return LINESEP.join(folded) + LINESEP
