"""Separating what the customer newly wrote from quoted replies and signatures.

Conservative by design: a line is only moved out of the new text when a known
client marker says so. Losing a customer's words costs more than keeping a quote or
a signature, so greetings and closings ("Saludos, Ana") always stay in the new text,
and interleaved replies (answers between `>` lines) are left whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ReplyParts:
    new: str
    quoted: str
    signature: str


_VERBS = r"(?:wrote|escribió|ha scritto|escreveu|a écrit|schrieb|schreef|napisał)"

# Attribution lines as the major clients write them, e.g. Gmail
# "On Mon, Mar 4, 2024 at 10:15 AM Ana <ana@example.com> wrote:", Gmail/Outlook es
# "El lun, 4 mar 2024 a las 10:15, Ana (<ana@example.com>) escribió:", it
# "Il giorno lun 4 mar 2024 alle ore 10:15 Marco <m@example.it> ha scritto:",
# de "Am 04.03.2024 um 10:15 schrieb Hans <h@example.de>:" (verb before the name).
_ATTRIBUTION = re.compile(
    r"^(?:on|el|il|em|le|am|op)\s.{1,300}\s" + _VERBS + r"(?:\s.{1,200})?\s?:$",
    re.IGNORECASE,
)
_OPENER = re.compile(r"^(?:on|el|il|em|le|am|op)\s", re.IGNORECASE)
# "Ana Pérez <ana@example.com> wrote:" with no date: only trusted when `>` lines follow.
_BARE_ATTRIBUTION = re.compile(r"^.{1,200}\s" + _VERBS + r"\s?:$", re.IGNORECASE)

_SEPARATOR = re.compile(
    r"^-{2,}\s*(?:original message|mensaje original|messaggio originale|mensagem original"
    r"|message d'origine|ursprüngliche nachricht|forwarded message|mensaje reenviado"
    r"|messaggio inoltrato|mensagem encaminhada|message transféré|weitergeleitete nachricht)"
    r"\s*-{2,}$",
    re.IGNORECASE,
)
_FORWARD_INTRO = re.compile(
    r"^(?:begin forwarded message|inicio del mensaje reenviado|inizio messaggio inoltrato"
    r"|início da mensagem reencaminhada|début du message réexpédié"
    r"|anfang der weitergeleiteten nachricht)\s?:$",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^_{20,}$")
# Outlook's header block: "From:" then, within a few lines, "Sent:" (localised).
_FROM_LINE = re.compile(r"^\*?(?:from|de|da|von|van)\s?:\*?\s*\S", re.IGNORECASE)
_SENT_LINE = re.compile(
    r"^\*?(?:sent|enviado|enviada em|inviato|date|fecha|data|gesendet|datum|envoyé)"
    r"\s?:\*?\s*\S",
    re.IGNORECASE,
)

# RFC 3676 section 4.3: the signature delimiter is "-- " alone on a line; many
# clients strip the trailing space, so "--" is accepted too.
_SIGNATURE_DELIMITER = "--"
# What phone and webmail clients append below the text. The device part is limited
# to a few words so that "Sent from my office, please call me back" stays new text.
_DEVICE = r"[\w .\-]{1,40}"
_MOBILE_SIGNOFF = re.compile(
    r"^(?:(?:sent from my|enviado desde mi|enviado do meu|enviado a partir do meu"
    r"|inviato dal mio|envoyé de mon|envoyé depuis mon) " + _DEVICE + r""
    r"|(?:sent from|inviato da|enviado desde) (?:iphone|ipad|android|outlook|yahoo mail"
    r"|libero mail|mail for windows|samsung \w+)[\w .]{0,30}"
    r"|von meinem " + _DEVICE + r" gesendet\.?"
    r"|(?:get|obtener|scarica|obtenir|obter o) outlook (?:for|para|per|pour) (?:android|ios))$",
    re.IGNORECASE,
)
_MAX_SIGNATURE_LINES = 15


def split_reply(text: str) -> ReplyParts:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    new, quoted = _split_quote(lines)
    new, signature = _split_signature(new)
    return ReplyParts(new=_join(new), quoted=_join(quoted), signature=_join(signature))


def _split_quote(lines: list[str]) -> tuple[list[str], list[str]]:
    header = _find_header(lines)
    if header is None:
        return _split_bare_quotes(lines)
    start, end = header
    after = skip_blank(lines, end)
    if after < len(lines) and _is_quoted(lines[after]):
        # Attribution followed by `>` lines: if the author wrote below the quote
        # (bottom-posting), that text is new too.
        stop = after
        while stop < len(lines) and (_is_quoted(lines[stop]) or not lines[stop].strip()):
            stop += 1
        rest = lines[stop:]
        if any(line.strip() for line in rest) and _find_header(rest) is None:
            return lines[:start] + [""] + rest, lines[start:stop]
    return lines[:start], lines[start:]


def _find_header(lines: list[str]) -> tuple[int, int] | None:
    """Index of the first line of a quote header, and of the line after it."""
    for i, raw in enumerate(lines):
        line = clean_line(raw)
        if not line or _is_quoted(raw):
            continue
        if _SEPARATOR.match(line) or _FORWARD_INTRO.match(line):
            return i, i + 1
        if _UNDERSCORES.match(line):
            nxt = skip_blank(lines, i + 1)
            if nxt < len(lines) and _FROM_LINE.match(clean_line(lines[nxt])):
                return i, nxt
        if _FROM_LINE.match(line) and _outlook_block(lines, i):
            return i, i + 1
        attribution = _attribution(lines, i)
        if attribution is not None:
            return i, attribution
    return None


def _attribution(lines: list[str], i: int) -> int | None:
    first = clean_line(lines[i])
    if _BARE_ATTRIBUTION.match(first):
        nxt = skip_blank(lines, i + 1)
        if nxt < len(lines) and _is_quoted(lines[nxt]):
            return i + 1
    if not _OPENER.match(first):
        return None
    # Clients wrap long attribution lines, sometimes right inside the address
    # ("... Ana Pérez <\nana@example.com> wrote:"), so try up to three lines joined.
    joined = ""
    for j in range(i, min(i + 3, len(lines))):
        part = clean_line(lines[j])
        if not part or _is_quoted(lines[j]) or (j > i and _OPENER.match(part)):
            return None
        if joined.endswith((".", "!", "?")):
            return None  # a finished sentence, not the first half of an attribution
        joined = joined + part if joined.endswith("<") else f"{joined} {part}".strip()
        if joined.endswith(":"):
            if _ATTRIBUTION.match(joined) and re.search(r"\d|@", joined):
                return j + 1
            return None
    return None


def _outlook_block(lines: list[str], i: int) -> bool:
    for j in range(i + 1, min(i + 5, len(lines))):
        if _SENT_LINE.match(clean_line(lines[j])):
            return True
    return False


def _split_bare_quotes(lines: list[str]) -> tuple[list[str], list[str]]:
    quoted = [i for i, line in enumerate(lines) if _is_quoted(line)]
    if not quoted:
        return lines, []
    first, last = quoted[0], quoted[-1]
    before = any(line.strip() for line in lines[:first])
    inside = any(line.strip() and not _is_quoted(line) for line in lines[first:last])
    after = lines[last + 1 :]
    if inside:
        return lines, []  # interleaved answers: the quotes are their context
    if not any(line.strip() for line in after) or _is_signature_only(after):
        return lines[:first] + after, lines[first : last + 1]
    if not before:
        return after, lines[: last + 1]  # bottom-posted reply below the quote
    return lines, []


def _is_signature_only(lines: list[str]) -> bool:
    _, signature = _split_signature(lines)
    remaining = [line for line in lines[: len(lines) - len(signature)] if line.strip()]
    return bool(signature) and not remaining


def _split_signature(lines: list[str]) -> tuple[list[str], list[str]]:
    content = [i for i, line in enumerate(lines) if line.strip()]
    if not content:
        return lines, []
    start: int | None = None
    for i in reversed(content):
        if lines[i].rstrip() == _SIGNATURE_DELIMITER:
            start = i
            break
    # Mobile sign-offs are the last line or two the client appends.
    for i in content[-3:]:
        if _MOBILE_SIGNOFF.match(clean_line(lines[i])):
            start = i if start is None else min(start, i)
            break
    if start is None:
        return lines, []
    signature_lines = [line for line in lines[start:] if line.strip()]
    if len(signature_lines) > _MAX_SIGNATURE_LINES:
        return lines, []
    return lines[:start], lines[start:]


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def clean_line(line: str) -> str:
    """One line with its white space (no-break spaces too) folded."""
    return " ".join(line.replace("\u00a0", " ").split())


def skip_blank(lines: list[str], i: int) -> int:
    while i < len(lines) and not lines[i].strip():
        i += 1
    return i


def _join(lines: list[str]) -> str:
    return "\n".join(line.rstrip() for line in lines).strip("\n")
