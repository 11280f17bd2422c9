"""Finding the original sender inside a message that someone forwarded to us.

Staff and customers forward mail inline; clients mark it with a localised banner
(Gmail, Apple Mail) or with a header block that Outlook also uses for replies. So
an Outlook-style block only counts as a forward when the subject says so (Fwd:,
RV:, I:, WG:, TR: ...); otherwise it is most likely our own reply being quoted back.
"""

from __future__ import annotations

import re

from mailbot.mail.addresses import parse_mailbox
from mailbot.mail.quotes import clean_line, skip_blank
from mailbot.mail.subject_prefixes import is_forward_subject, strip_subject_prefixes
from mailbot.message import ForwardedOrigin

__all__ = ["find_forwarded", "is_forward_subject", "parse_sender"]

_BANNER = re.compile(
    r"^-{2,}\s*(?:forwarded message|mensaje reenviado|messaggio inoltrato"
    r"|mensagem encaminhada|message transféré|weitergeleitete nachricht)\s*-{2,}$"
    r"|^(?:begin forwarded message|inicio del mensaje reenviado|inizio messaggio inoltrato"
    r"|início da mensagem reencaminhada|début du message réexpédié"
    r"|anfang der weitergeleiteten nachricht)\s?:$",
    re.IGNORECASE,
)
_OUTLOOK_SEPARATOR = re.compile(
    r"^(?:-{2,}\s*(?:original message|mensaje original|messaggio originale"
    r"|mensagem original|message d'origine|ursprüngliche nachricht)\s*-{2,}|_{20,})$",
    re.IGNORECASE,
)

_FIELDS: dict[str, tuple[str, ...]] = {
    "from": ("from", "de", "da", "von", "van"),
    "date": ("date", "sent", "enviado", "enviada em", "inviato", "fecha", "data",
             "gesendet", "datum", "envoyé", "envoyé le"),
    "to": ("to", "para", "a", "an", "à", "aan"),
    "cc": ("cc", "cco", "kopie"),
    "subject": ("subject", "asunto", "oggetto", "assunto", "betreff", "objet", "onderwerp"),
}  # fmt: skip
_FIELD_BY_LABEL = {label: field for field, labels in _FIELDS.items() for label in labels}
_HEADER_LINE = re.compile(r"^\*?([^\W\d_][^:*]{0,14}?)\s?:\*?\s?(.*)$")


def find_forwarded(subject: str, text: str) -> ForwardedOrigin | None:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    outlook_allowed = is_forward_subject(subject)
    for i, raw in enumerate(lines):
        line = clean_line(raw)
        if _BANNER.match(line) or (outlook_allowed and _OUTLOOK_SEPARATOR.match(line)):
            origin = _parse_block(lines[i + 1 :], subject)
        elif _is_quoted_banner(line) and not any(earlier.strip() for earlier in lines[:i]):
            # An HTML forward with nothing above it (Apple Mail puts the banner inside its
            # <blockquote type="cite">): the whole message is the quoted forward. A quoted
            # banner below text of the sender's own is an earlier forward being quoted back.
            origin = _parse_block([_unquote(line) for line in _takewhile_quoted(lines[i + 1 :])], subject)
        elif outlook_allowed and _field(line) == "from":
            origin = _parse_block(lines[i:], subject)
        else:
            continue
        if origin is not None:
            return origin
    return None


def parse_sender(value: str) -> tuple[str, str] | None:
    """(address, name) from `Name <a@b>`, `"Name" <a@b>`, `a@b`, `Name [mailto:a@b]`.

    The address is the one in angle brackets when there is one: a forwarded block's
    "From: alice@x <bob@y>" is from bob, whatever its display name says."""
    found = parse_mailbox(value)
    return (found.address, found.name) if found else None


def _parse_block(lines: list[str], subject: str) -> ForwardedOrigin | None:
    start = skip_blank(lines, 0)
    block = lines[start:]
    # Apple Mail sometimes quotes the whole forwarded message with "> ".
    if block and block[0].lstrip().startswith(">"):
        block = [_unquote(line) for line in _takewhile_quoted(block)]
    fields: dict[str, str] = {}
    last: str | None = None
    end = 0
    while end < len(block):
        line = clean_line(block[end])
        if not line:
            break
        field = _field(line)
        if field is not None:
            last = field
            fields.setdefault(field, _value(line))
        elif last is not None and end < 12:
            fields[last] = f"{fields[last]} {line}"  # a wrapped To: or Subject: line
        else:
            break
        end += 1
    if "from" not in fields:
        return None
    sender = parse_mailbox(fields["from"])
    if sender is None:
        return None
    body = "\n".join(line.rstrip() for line in block[end:]).strip("\n")
    return ForwardedOrigin(
        address=sender.address,
        name=sender.name,
        claimed_address=sender.claimed_address,
        subject=fields.get("subject", strip_subject_prefixes(subject)),
        date=fields.get("date", ""),
        text=body,
    )


def _is_quoted_banner(line: str) -> bool:
    return line.startswith(">") and _BANNER.match(clean_line(_unquote(line))) is not None


def _field(line: str) -> str | None:
    match = _HEADER_LINE.match(line)
    if match is None:
        return None
    return _FIELD_BY_LABEL.get(match.group(1).strip().lower())


def _value(line: str) -> str:
    match = _HEADER_LINE.match(line)
    return match.group(2).strip(" *") if match else ""


def _takewhile_quoted(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if not line.lstrip().startswith(">"):
            break
        out.append(line)
    return out


def _unquote(line: str) -> str:
    line = line.lstrip()[1:]
    return line[1:] if line.startswith(" ") else line
