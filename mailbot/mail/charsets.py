"""Turning bytes of a declared (or undeclared, or wrongly declared) charset into text.

Mail in the wild lies about its charset: bodies labelled us-ascii or utf-8 that are
really windows-1252, bodies labelled iso-8859-1 that are really utf-8, charset names
no codec knows, and 8-bit bodies with no label at all (RFC 2045 section 5.2 says
those must be us-ascii; RFC 6532 lets headers carry raw utf-8). Nothing here raises:
a wrong guess costs a few odd characters, an exception costs the whole message.
"""

from __future__ import annotations

import base64
import codecs
import quopri
import re

from charset_normalizer import CharsetMatch, from_bytes

# Labels Python does not know or that browsers and mail clients read differently.
# The WHATWG Encoding Standard maps iso-8859-1 and us-ascii to windows-1252 because
# Windows mailers routinely emit 0x80-0x9F (curly quotes, euro sign) under those
# labels; gb2312/gbk to gb18030 and the Korean labels to cp949 for the same reason.
_ALIASES: dict[str, str] = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "ascii",
    "ascii": "ascii",
    "ansi_x3.4-1968": "ascii",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "big5": "big5hkscs",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "tis-620": "cp874",
    "windows-874": "cp874",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "unicode-1-1-utf-7": "utf-7",
    "x-unicode20utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "utf8": "utf-8",
}

# Codecs where every byte sequence that happens to be valid utf-8 is implausible as
# the declared charset: multi-byte utf-8 sequences read as single-byte text give
# "Ã©"-style mojibake, which no one writes on purpose.
_SINGLE_BYTE = re.compile(r"^(ascii|cp125\d|cp874|iso8859-\d+|mac-\w+|koi8-\w+|cp437|cp850)$")

# What cp1252-decoded Western European text contains besides ASCII. Used to decide
# whether "windows-1252" is a sane reading of unlabelled 8-bit bytes.
_WESTERN = set(
    "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿßœŒÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝ¿¡«»€–—‘’‚“”„…°ºª·•©®™£§´¨½¼¾×÷±\u00a0"
)


def decode_text(payload: bytes, declared: str | None) -> tuple[str, str | None]:
    """Decode ``payload`` as text; return the text and a warning when we had to guess."""
    if not payload:
        return "", None
    label = _clean_label(declared)
    codec = _codec_for(label) if label else None
    warning: str | None = None
    if label and codec is None:
        warning = f"unknown charset {label!r}"

    if codec is not None:
        decoded = _strict(payload, codec)
        if decoded is not None:
            if _SINGLE_BYTE.match(codec) and not payload.isascii():
                utf8 = _strict(payload, "utf-8")
                if utf8 is not None:
                    return utf8, f"declared charset {label!r} but content is utf-8"
            return decoded, None
        warning = f"content does not match declared charset {label!r}"

    if payload.startswith(codecs.BOM_UTF8):
        return payload[3:].decode("utf-8", "replace"), warning
    utf8 = _strict(payload, "utf-8")
    if utf8 is not None:
        if label and codec is None:
            warning = f"{warning}; decoded as utf-8"
        return utf8, warning if label else None

    text, guessed = _guess(payload)
    note = f"decoded as {guessed}"
    if warning:
        return text, f"{warning}; {note}"
    return text, f"undeclared 8-bit content; {note}"


def decode_encoded_words(value: str) -> str:
    """Decode RFC 2047 encoded-words in a header value, tolerating common breakage.

    Used when the stdlib parser cannot be trusted: raw 8-bit headers (which it turns
    into U+FFFD), encoded-words inside quoted strings or words (forbidden by RFC 2047
    section 5 but emitted by many mailers), missing base64 padding, and mislabelled
    charsets inside the encoded-word.
    """
    value = _from_surrogates(value)
    value = re.sub(r"\r?\n[ \t]+", " ", value)
    # RFC 2047 section 6.2: whitespace between adjacent encoded-words is not displayed.
    value = re.sub(r"(\?=)\s+(?==\?)", r"\1", value)
    return _ENCODED_WORD.sub(_decode_word, value)


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?]*)\?=")


def _decode_word(match: re.Match[str]) -> str:
    # RFC 2231 section 5 allows a language suffix: =?utf-8*es?Q?...?=
    charset, encoding, data = match.group(1).split("*", 1)[0], match.group(2), match.group(3)
    try:
        if encoding in "Bb":
            raw = base64.b64decode(data + "=" * (-len(data) % 4))
        else:
            raw = quopri.decodestring(data.replace("_", " ").encode("ascii", "replace"), header=True)
    except Exception:
        return match.group(0)
    text, _ = decode_text(raw, charset)
    return text


# What surrogateescape makes of the bytes 0x80-0xFF. A regex rather than a loop over
# the characters: every header value and body is checked, most have none (issue 11).
_RAW_BYTE = re.compile("[\udc80-\udcff]")


def has_raw_bytes(value: str) -> bool:
    """Whether the stdlib handed over undecoded 8-bit bytes in `value` (as lone surrogates)."""
    return _RAW_BYTE.search(value) is not None


def _from_surrogates(value: str) -> str:
    # The stdlib parser keeps undecodable header bytes as lone surrogates
    # (surrogateescape); turn them back into bytes and decode them properly.
    if not has_raw_bytes(value):
        return value
    raw = value.encode("utf-8", "surrogateescape")
    text, _ = decode_text(raw, None)
    return text


def _clean_label(declared: str | None) -> str | None:
    if not declared:
        return None
    label = declared.strip().strip("\"'").strip().lower()
    label = label.split(";", 1)[0].strip()
    if label.startswith("charset="):
        label = label[len("charset=") :].strip("\"' ")
    return label or None


def _codec_for(label: str) -> str | None:
    name = _ALIASES.get(label, label)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):  # ValueError: a NUL in the label (found by fuzzing)
        return None
    # base64, rot13 and friends are codecs too, but not text encodings.
    if not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def _strict(payload: bytes, codec: str) -> str | None:
    try:
        return payload.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _guess(payload: bytes) -> tuple[str, str]:
    western = _strict(payload, "cp1252")
    # charset-normalizer misreads short Western European text (it picks cp1250 or
    # even cp1006 for "Información" in latin-1), and most of our customers write in
    # es/it/pt/fr/de/en, so windows-1252 wins whenever it reads like those languages.
    if western is not None and _reads_western(western):
        return western, "windows-1252"
    try:
        matches = list(from_bytes(payload))
    except Exception:
        matches = []
    if matches:
        best = _prefer_common(matches)
        return str(best), best.encoding
    if western is not None:
        return western, "windows-1252"
    return payload.decode("latin-1"), "latin-1"


def _prefer_common(matches: list[CharsetMatch]) -> CharsetMatch:
    # Near-ties are common on short text (mac_cyrillic vs cp1251 for Russian); mail
    # is far more often in a Windows or ISO code page than in a Mac one.
    best = matches[0]
    close = [m for m in matches if m.chaos <= best.chaos + 0.05 and m.coherence >= best.coherence - 0.1]
    return min(close, key=lambda m: (m.encoding.startswith("mac"), matches.index(m)))


def _reads_western(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    foreign = [ch for ch in text if not ch.isascii()]
    if any(ch not in _WESTERN for ch in foreign):
        return False
    non_ascii_letters = sum(1 for ch in letters if not ch.isascii())
    return non_ascii_letters <= 0.4 * max(len(letters), 1)
