"""Header values on one line: what we read from a header and what we write into one.

RFC 5322 section 2.2: a header field is one line once unfolded; CR and LF inside a value
are how a header is injected (`Subject: Hi\r\nBcc: victim@...`). An encoded word
(`=?utf-8?q?Hi=0D=0ABcc:...?=`), a chat display name or a form field can carry them in
decoded text, so every value is made one line both on the way in (parse.py) and on the
way out (senders/smtp.py), whatever produced it.
"""

from __future__ import annotations

import re

# C0 controls (tab included: a folded header's tab is whitespace), DEL, C1 controls, and
# the Unicode line and paragraph separators some clients treat as line ends.
_CONTROL_RUN = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SPACES = re.compile(r" {2,}")


def one_line(value: str) -> str:
    """The value with every run of control characters turned into a single space."""
    if value.isprintable():
        return value
    return _SPACES.sub(" ", _CONTROL_RUN.sub(" ", value)).strip()
