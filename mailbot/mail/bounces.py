"""What a non-delivery notice looks like when it is not an RFC 3464 report.

Carriers and small MTAs still send failures as plain text: from `post_master@`,
`MAILER_DAEMON@` or `Mailer-Daemon@`, often with a "Re:" subject, a few lines that
explain the failure and the original pasted or attached below. This module holds
the one list of mail-system names (parsing and classification both read it) and
the wording of failure notices in en, es, it, pt, fr and de. Pure: text in, answer out.
"""

from __future__ import annotations

import re

from mailbot.text import fold


def _squeeze(text: str) -> str:
    """Folded, with only letters and digits: "MAILER_DAEMON", "Mailer-Daemon" and
    "mailer.daemon" are one name, as are "post_master" and "Postmaster"."""
    return re.sub(r"[^a-z0-9]", "", fold(text))


# RFC 2142 §5 names the postmaster mailbox; MAILER-DAEMON is the sender Sendmail,
# Postfix, Exim and Gmail bounce from, and the rest are the display names they use.
# One list for local parts and display names: a name that is a mail system as one
# is one as the other ("MAILER-DAEMON" <bounce@...>, maildeliverysystem@...).
MAIL_SYSTEM_NAMES = frozenset(
    _squeeze(name)
    for name in (
        "MAILER-DAEMON",
        "mail-daemon",
        "postmaster",
        "Mail Delivery Subsystem",  # Gmail
        "Mail Delivery System",  # Postfix, Exim
        "Mail Administrator",  # Yahoo, older Sendmail setups
    )
)


def is_mail_system(address: str, name: str = "") -> bool:
    """Whether the sender is a mail server's own mailbox, by local part or display name.

    The local part loses any "+tag" first (postmaster+bounces@ is postmaster@)."""
    local = address.strip().strip("<>").rpartition("@")[0].split("+", 1)[0]
    return (bool(local) and _squeeze(local) in MAIL_SYSTEM_NAMES) or (
        bool(name.strip()) and _squeeze(name) in MAIL_SYSTEM_NAMES
    )


# Subjects MTAs give their notices, folded; matched at the start of the subject once
# reply prefixes are gone. Alone they prove nothing ("Returned mail order item").
BOUNCE_SUBJECTS = tuple(
    fold(s)
    for s in (
        "Undelivered Mail",
        "Undeliverable",
        "Delivery Status Notification",
        "Delivery Failure",
        "Delivery has failed",
        "Mail delivery failed",
        "Returned mail",
        "Failure Notice",
        "Message not delivered",
        "No se puede entregar",
        "Mensaje no entregado",
        "Non recapitabile",
        "Messaggio non recapitato",
        "Unzustellbar",
        "Nicht zustellbar",
        "Non remis",
        "Échec de la remise",
        "Não é possível entregar",
        "Mensagem não entregue",
    )
)

# What the notices say, as regular expressions over folded text (no accents, one
# space for any run of whitespace: MTAs wrap lines anywhere). Each is mail wording,
# not parcel wording: "your message could not be delivered", never "could not be
# delivered" alone; even so, the wording is one signal and never enough on its own.
_FAILURE_WORDING = (
    # en: Postfix, Exim, Sendmail, Exchange, Gmail, qmail
    r"your message (?:could not|couldn't|cannot|can't|was not|wasn't) (?:be )?delivered",
    r"could not be delivered to one or more (?:of its )?recipients",
    r"the following (?:message|address\(es\)|addresses?) (?:could not be delivered|failed|had permanent)",
    r"delivery (?:to the following recipients?|has failed to these recipients)",
    r"this is a permanent error",
    r"unable to deliver (?:your|the) message",
    r"message (?:was )?not delivered to",
    r"i'm afraid i wasn't able to deliver your message",
    # es
    r"(?:no se ha podido|no se pudo|no ha sido posible) entregar (?:el|su|tu) mensaje",
    r"(?:el|su|tu) mensaje no (?:se ha podido|se pudo|ha podido ser|pudo ser) entregado",
    r"(?:el|su|tu) mensaje no se (?:ha podido|pudo) entregar",
    r"la entrega (?:a los siguientes destinatarios|del mensaje) (?:ha )?fall",
    # it
    r"(?:il|tuo|suo) messaggio non (?:e stato|e potuto essere|puo essere) (?:recapitato|consegnato)",
    r"(?:impossibile|non e stato possibile) (?:recapitare|consegnare) (?:il|questo) messaggio",
    r"messaggio non (?:recapitato|consegnato)",
    # pt
    r"nao foi possivel entregar a (?:sua )?mensagem",
    r"mensagem nao pode ser entregue",
    r"mensagem nao entregue",
    r"falha na entrega da mensagem",
    # fr
    r"(?:votre|le|ce) message n'a pas pu etre (?:remis|distribue|delivre|livre)",
    r"impossible de (?:remettre|distribuer|delivrer) (?:le|votre|ce) message",
    r"echec de (?:la )?(?:remise|distribution) (?:du|de votre) message",
    # de
    r"(?:ihre|die|diese) (?:nachricht|e-mail|mail) konnte nicht zugestellt werden",
    r"konnte nicht an (?:den|die|folgende) empfanger zugestellt werden",
    r"zustellung (?:an (?:folgende|den|die) empfanger )?(?:ist )?fehlgeschlagen",
    # An SMTP reply code with its RFC 3463 enhanced status: "550 5.1.1", "552-5.2.2".
    r"\b[45][0-9]{2}[ -][45]\.[0-9]{1,3}\.[0-9]{1,3}\b",
)
_FAILURE_RE = re.compile("|".join(f"(?:{pattern})" for pattern in _FAILURE_WORDING))


def failure_wording(text: str) -> str | None:
    """The first words of `text` that read as a delivery failure notice, or None."""
    match = _FAILURE_RE.search(" ".join(fold(text).split()))
    return match.group(0) if match else None
