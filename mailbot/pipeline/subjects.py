"""Subject lines reduced to what the sender wrote, and ticket references found in text.

Threading compares subjects after mail clients have decorated them: every client
localises the reply/forward prefix (the list is in mail/subject_prefixes.py), mailing
lists insert "[list-name]", and our own acknowledgements add "[#MB-7K3Q9P]". References
are read with the alphabet they are minted with (pipeline/refs.py).
"""

from __future__ import annotations

import re

from mailbot.mail.subject_prefixes import PREFIX_PATTERN
from mailbot.pipeline.refs import ALPHABET, PREFIX

_TICKET_CORE = rf"{re.escape(PREFIX)}[{ALPHABET}]{{6}}"
# Not glued to letters or digits on either side: "MB-7K3Q9PX" (seven
# characters) or "XMB-7K3Q9P" are not references.
_TICKET_REF_RE = re.compile(rf"(?<![A-Za-z0-9_])({_TICKET_CORE})(?![A-Za-z0-9_])", re.IGNORECASE)
# The decorated forms we and customers write: "[#MB-…]", "[MB-…]", "(MB-…)", "#MB-…".
_TICKET_TAG_RE = re.compile(
    rf"\[\s*#?{_TICKET_CORE}\s*\]|\(\s*#?{_TICKET_CORE}\s*\)"
    rf"|#?(?<![A-Za-z0-9_]){_TICKET_CORE}(?![A-Za-z0-9_])",
    re.IGNORECASE,
)

# Reply and forward prefixes (mail/subject_prefixes.py) and list tags, in any order.
_LEADING_DECORATION_RE = re.compile(
    rf"^\s*(?:{PREFIX_PATTERN}"
    r"|\[[^\[\]]*\]"  # a list tag such as "[users]" or a leftover ticket tag
    r")\s*",
    re.IGNORECASE,
)
_WHITESPACE_RE = re.compile(r"\s+")


def strip_reply_prefixes(subject: str) -> str:
    """Remove any number of leading reply/forward prefixes and bracket tags.

    Case and the rest of the subject are kept, so classification can still read
    a phrase such as "Automatic reply:" that follows "Re:".
    """
    previous = None
    while previous != subject:
        previous = subject
        subject = _LEADING_DECORATION_RE.sub("", subject, count=1)
    return subject.strip()


NORMALIZED_SUBJECT_CHARS = 500


def normalize_subject(subject: str) -> str:
    """The subject as the sender first wrote it, casefolded, for comparing threads.

    Accents are kept on purpose: "pedido" and "pedidó" are not the same word,
    and a sender's reply keeps the original accents anyway.
    """
    without_refs = _TICKET_TAG_RE.sub(" ", subject)
    stripped = strip_reply_prefixes(_WHITESPACE_RE.sub(" ", without_refs))
    # Cut to its column (tickets and outbox: 500): both sides of a comparison are cut alike.
    return _WHITESPACE_RE.sub(" ", stripped).strip().casefold()[:NORMALIZED_SUBJECT_CHARS]


def find_ticket_refs(text: str) -> list[str]:
    """Ticket references in order of first appearance, upper-cased, without duplicates."""
    found: dict[str, None] = {}
    for match in _TICKET_REF_RE.finditer(text):
        found.setdefault(match.group(1).upper(), None)
    return list(found)
