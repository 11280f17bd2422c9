"""Address lists read the way RFC 5322 section 3.4 defines them: the address is the
addr-spec, never the display name.

`From: alice@example.com <bob@example.com>` (a display name that is itself an address,
unquoted) is not valid RFC 5322, and the stdlib parser reads it as the address
alice@example.com followed by junk; a client shows "alice@example.com" to the reader while
the mail really comes from bob. Taking alice for the sender would let anyone make us write
to any address. So each element of the list is read here first: when it has an angle-addr
(`<...>`) that is the address, whatever stands before it, and the display name is only ever
a name. A display name that spells another address is reported (`claimed_address`), so an
agent can be warned.

The same reader serves the header fields of a message and the "From:" lines of a forwarded
block that mail clients write into the body (`Name [mailto:a@b]`, `Name <mailto:a@b>`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailbot.mail.charsets import decode_encoded_words
from mailbot.mail.mail_policy import HEADER_FACTORY

# An address written in free text (a display name, a forwarded block, a bounce).
# An apostrophe may stand inside the local part (o'brien@x.test), never at its ends: 'a@b.c'.
ADDRESS_IN_TEXT = re.compile(
    r"[^\s<>\[\]()\"',;:]+(?:'[^\s<>\[\]()\"',;:@]+)*@[^\s<>\[\]()\"',;:]+\.[^\s<>\[\]()\"',;:]+"
)
# What we accept from the parser as an addr-spec: local@domain, nothing that could not be
# put on an SMTP command line (RFC 5321 section 4.1.2) as it stands.
_ADDR_SPEC = re.compile(r"[^\s<>()\[\],;:@\"]+@[^\s<>()\[\],;:@\"]+")
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[QqBb]\?[^?\s]*\?=")
_MAILTO = re.compile(r"^\s*mailto:", re.IGNORECASE)
_MAILTO_LINK = re.compile(r"\[\s*mailto:[^\s\[\]]+@[^\s\[\]]+\s*\]", re.IGNORECASE)
# The shapes nearly all mail has, read the way the stdlib parser reads them, without it:
# it cost a quarter of parsing a message (two parses of its From, 1 ms on a slow core).
# A dot-atom address (RFC 5322 section 3.4.1) and a phrase of ASCII atoms or one quoted
# string without escapes; anything else (comments, encoded-words, non-ASCII, obsolete
# forms) takes the parser.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDR_SPEC = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
_PLAIN_PHRASE = re.compile(rf"(?:{_ATEXT}(?: {_ATEXT})*|\"[ !#-\[\]-~]*\")")


@dataclass(frozen=True)
class NamedAddress:
    address: str  # the addr-spec, lower-cased
    name: str  # the display name, decoded, with any address written in it taken out
    # An address the display name spells that is not `address`: "alice@x <bob@y>".
    claimed_address: str | None = None


def parse_address_list(raw: str) -> list[NamedAddress]:
    """Every address in a header value (RFC 2047 words undecoded) or a forwarded From line."""
    found = [_element_address(element) for element in _elements(raw)]
    return [address for address in found if address is not None]


def parse_mailbox(value: str) -> NamedAddress | None:
    """The one sender a forwarded block's "From:" line names. Clients write it unquoted,
    so "Pérez, Ana <ana@x.es>" is one name with its address, not a list of two."""
    value = " ".join(value.split())
    if _angle_addr(value) is not None:
        return _element_address(value)
    found = parse_address_list(value)
    return found[0] if found else None


def display_name_warning(found: NamedAddress) -> str | None:
    """What an agent must be told when a display name poses as another address."""
    if found.claimed_address is None:
        return None
    return (
        f"The display name shows the address {found.claimed_address}, but the message comes from "
        f"{found.address}: only {found.address} is the sender, and only it is ever answered."
    )


# -- splitting the list --------------------------------------------------------


def _elements(raw: str) -> list[str]:
    """The top-level members of an address list: split at commas, and at a group's colon
    and semicolon, but never inside a quoted string, a comment, an angle-addr, a domain
    literal or an RFC 2047 encoded-word ("=?utf-8?q?P=C3=A9rez,_Ana?=" holds a comma)."""
    raw = " ".join(raw.split())
    elements: list[str] = []
    start = i = 0
    while i < len(raw):
        ch = raw[i]
        word = _ENCODED_WORD.match(raw, i) if ch == "=" else None
        if word is not None:
            i = word.end()
            continue
        if ch == '"':
            i = _closing(raw, i + 1, '"')
        elif ch == "(":
            i = _closing_comment(raw, i + 1)
        elif ch == "<":
            i = _closing(raw, i + 1, ">")
        elif ch == "[":
            i = _closing(raw, i + 1, "]")
        elif ch in ",;" or (ch == ":" and not raw[start:i].rstrip().lower().endswith("mailto")):
            # The text before a group's colon is the group's display name: never an address.
            if ch != ":":
                elements.append(raw[start:i])
            start = i + 1
        i += 1
    elements.append(raw[start:])
    return [element.strip() for element in elements if element.strip()]


def _closing(raw: str, i: int, end: str) -> int:
    """Index of the `end` character that closes a run opened before `i` (or the last index)."""
    while i < len(raw) and raw[i] != end:
        i += 2 if raw[i] == "\\" and end == '"' else 1
    return min(i, len(raw) - 1)


def _closing_comment(raw: str, i: int) -> int:
    depth = 1  # RFC 5322 section 3.2.2: comments nest
    while i < len(raw):
        if raw[i] == "\\":
            i += 1
        elif raw[i] == "(":
            depth += 1
        elif raw[i] == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(raw) - 1


def _angle_addr(element: str) -> tuple[int, int] | None:
    """Where the first top-level `<...>` of an element starts and ends."""
    i = 0
    while i < len(element):
        ch = element[i]
        if ch == '"':
            i = _closing(element, i + 1, '"')
        elif ch == "(":
            i = _closing_comment(element, i + 1)
        elif ch == "<":
            end = element.find(">", i + 1)
            return i, end if end != -1 else len(element)
        i += 1
    return None


# -- one element -----------------------------------------------------------------


def _element_address(element: str) -> NamedAddress | None:
    angle = _angle_addr(element)
    if angle is None:
        return _bare_address(element)
    start, end = angle
    address = _addr_spec(_MAILTO.sub("", element[start + 1 : end]))
    if address is None:
        return None  # the angle-addr is broken: the display name is still not an address
    phrase = (element[:start] + " " + element[end + 1 :]).strip()
    name = ""
    if not element[end + 1 :].strip() and _plain_phrase(phrase):
        name = phrase.strip('"')
    elif "@" not in _outside_quotes(phrase):
        parsed = _parse(element)
        if len(parsed) == 1 and parsed[0][0].lower() == address:
            name = parsed[0][1]
        else:
            name = phrase
    else:
        name = phrase  # "alice@example.com <bob@...>": the parser cannot read this phrase
    return _named(element, address, name)


def _bare_address(element: str) -> NamedAddress | None:
    if _PLAIN_ADDR_SPEC.fullmatch(element):
        return _named(element, element.lower(), "")
    parsed = _parse(element)
    if len(parsed) == 1 and _ADDR_SPEC.fullmatch(parsed[0][0]):
        return _named(element, parsed[0][0].lower(), parsed[0][1])
    # Not RFC 5322, but what clients write in forwarded blocks ("Ana [mailto:ana@x.es]")
    # and broken mailers in headers ("Ana ana@x.es"): the one address in the text.
    # Outlook's "Name [mailto:a@b]" marks the address as an angle-addr does.
    match = _MAILTO_LINK.search(element) or ADDRESS_IN_TEXT.search(element)
    if match is None:
        return None
    address = _MAILTO.sub("", match.group(0).strip("[] ")).strip(". ").lower()
    rest = element[: match.start()] + " " + element[match.end() :]
    return _named(element, address, re.sub(r"mailto:|[<>\[\]()]", " ", rest, flags=re.IGNORECASE))


def _parse(text: str) -> list[tuple[str, str]]:
    try:
        header = HEADER_FACTORY("to", text)
        return [(a.addr_spec, a.display_name) for a in header.addresses]
    except Exception:  # the parser gives up on some malformed values; so do we, quietly
        return []


def _plain_phrase(phrase: str) -> bool:
    return not phrase or ("=?" not in phrase and _PLAIN_PHRASE.fullmatch(phrase) is not None)


def _addr_spec(text: str) -> str | None:
    if _PLAIN_ADDR_SPEC.fullmatch(text.strip()):
        return text.strip().lower()
    parsed = _parse(f"<{text.strip()}>")
    if len(parsed) == 1 and _ADDR_SPEC.fullmatch(parsed[0][0]):
        return parsed[0][0].lower()
    text = text.strip()
    return text.lower() if _ADDR_SPEC.fullmatch(text) else None


def _outside_quotes(phrase: str) -> str:
    return re.sub(r'"(?:[^"\\]|\\.)*"?|\([^()]*\)', " ", phrase)


def _named(element: str, address: str, raw_name: str) -> NamedAddress:
    # Claims are looked for in the whole element, not only in what the parser calls the
    # display name: a comment ("Alice (alice@x) <bob@y>") is shown to readers too.
    claimed = None
    for match in ADDRESS_IN_TEXT.finditer(decode_encoded_words(element)):
        spelled = match.group(0).strip(".").lower()
        if spelled != address:
            claimed = spelled
            break
    name = " ".join(decode_encoded_words(raw_name or "").split())
    name = ADDRESS_IN_TEXT.sub(" ", name)
    name = re.sub(r"mailto:|\(\s*\)|\[\s*\]|<\s*>", " ", name, flags=re.IGNORECASE)
    name = " ".join(name.split()).strip("\"' ,;")
    return NamedAddress(address=address, name=name, claimed_address=claimed)
