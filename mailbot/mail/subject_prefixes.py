"""The reply and forward prefixes mail clients put before a subject: one list for threading
(which strips them) and for forward detection (which asks whether one says "forwarded").

Every client localises them: Outlook writes "AW:" in German, "RV:" (reenviado) for a
forward in Spanish, "R:"/"I:" (risposta/inoltro) in Italian, "TR :" with a space in French;
an optional counter ("Re[2]:", "Re(2):") and "：", the full-width colon of CJK clients, occur
too.
"""

from __future__ import annotations

import re

# en re, de aw, nordic sv, nl antw, pl odp, it r/ri, pt res.
REPLY_PREFIXES = ("re", "aw", "sv", "antw", "odp", "r", "ri", "res")
# en fwd/fw, es rv, it i, pt enc, de wg, fr tr.
FORWARD_PREFIXES = ("fwd", "fw", "rv", "i", "enc", "wg", "tr")

_WORDS = "|".join(sorted(REPLY_PREFIXES + FORWARD_PREFIXES, key=len, reverse=True))
# One prefix, unanchored, for patterns that combine it with other decorations.
PREFIX_PATTERN = rf"(?:{_WORDS})\s*(?:\[\d+\]|\(\d+\))?\s*[:：]"
_PREFIX_RE = re.compile(rf"^\s*({_WORDS})\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*", re.IGNORECASE)
_FORWARD = frozenset(FORWARD_PREFIXES)


def is_forward_subject(subject: str) -> bool:
    """Any of the leading prefixes says "forwarded": "Re: FW: ..." is still a forward."""
    rest = subject
    while match := _PREFIX_RE.match(rest):
        if match.group(1).lower() in _FORWARD:
            return True
        rest = rest[match.end() :]
    return False


def strip_subject_prefixes(subject: str) -> str:
    """`subject` without its leading reply and forward prefixes (and nothing else)."""
    rest = subject
    while match := _PREFIX_RE.match(rest):
        rest = rest[match.end() :]
    return rest.strip()
