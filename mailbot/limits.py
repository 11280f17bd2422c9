"""How much of any one input mailbot reads, keeps and answers: every size and depth
limit in one place, each with the environment variable that changes it.

What happens at each limit is chosen so that nothing a customer sent is lost (the raw
bytes are always stored whole) and nobody is answered twice; README "## Limits" is the
table an operator reads. The rate caps on acknowledgements (per address, per subject,
bursts) are loop protection and live with the other pipeline settings in config.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    # A mail larger than this is stored whole but read from its first this many bytes:
    # the ticket and acknowledgement go ahead from its headers and the text before the
    # cut, its attachments stay in the raw message only, and agents see a warning.
    max_message_bytes: int = 32 * MIB
    # An attachment larger than this is listed (name, type, size) but its bytes are kept
    # only in the raw message.
    max_attachment_bytes: int = 10 * MIB
    # A webhook request body larger than this is refused with 413 before it is read
    # (platforms send media as references, never inline).
    max_webhook_bytes: int = 1 * MIB
    # What is kept of a message's text and quoted text (characters each), and of its
    # HTML: the rest stays in the raw message, and agents see a warning.
    max_text_chars: int = 100_000
    max_html_chars: int = 1_000_000
    # Of an HTML part, what is read to make the text (characters): HTML-to-text costs up to
    # 4 s per million characters of hostile markup (unclosed tags, nested tables), and the
    # customer's words come first. The text is made from the HTML before the cut, agents
    # see a warning, and the HTML kept is still max_html_chars.
    max_html_read_chars: int = 200_000
    # MIME parts inside parts (multipart, message/rfc822): mail nested deeper is
    # quarantined with its raw bytes. Real mail stays under 10; a forward of a forward
    # of a digest reaches perhaps 15.
    max_mime_depth: int = 50


# Environment variable -> field; values are whole numbers.
ENVIRONMENT = {
    "MAILBOT_MAX_MESSAGE_BYTES": "max_message_bytes",
    "MAILBOT_MAX_ATTACHMENT_BYTES": "max_attachment_bytes",
    "MAILBOT_MAX_WEBHOOK_BYTES": "max_webhook_bytes",
    "MAILBOT_MAX_TEXT_CHARS": "max_text_chars",
    "MAILBOT_MAX_HTML_CHARS": "max_html_chars",
    "MAILBOT_MAX_HTML_READ_CHARS": "max_html_read_chars",
    "MAILBOT_MAX_MIME_DEPTH": "max_mime_depth",
}


class BadLimit(ValueError):
    """A limit set in the environment that is not a positive whole number."""


def load_limits(env: Mapping[str, str]) -> Limits:
    values: dict[str, int] = {}
    for variable, name in ENVIRONMENT.items():
        raw = env.get(variable, "").strip()
        if not raw:
            continue
        try:
            value = int(raw)
        except ValueError:
            raise BadLimit(f"{variable}={raw!r} is not a whole number") from None
        if value <= 0:
            raise BadLimit(f"{variable}={raw!r} must be greater than 0")
        values[name] = value
    return Limits(**values)
