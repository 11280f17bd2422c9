"""Is this message from a person we should answer, or from a machine?

A chain of small rules in the style of GNU Mailman: each rule has a name, a
description and one `check()` that returns a reason when it matches.  The order
of `RULES` is the order of precedence: our own echoes first (answering them is
how loops start), then bounces (which also carry auto-reply markers), then
every other kind of automatic mail.  A message no rule claims is a customer's.

Pure: no I/O, nothing read from the database; the caller passes our addresses.
"""

from __future__ import annotations

import email.policy
import re
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass

from mailbot.message import InboundMessage
from mailbot.pipeline.subjects import strip_reply_prefixes

CUSTOMER = "customer"
AUTO_REPLY = "auto_reply"
BOUNCE = "bounce"
OWN_ECHO = "own_echo"
# A platform event that is not a message (an edit, a receipt, a reaction): never a ticket.
PLATFORM_EVENT = "event"


@dataclass(frozen=True)
class Verdict:
    kind: str  # CUSTOMER, AUTO_REPLY, BOUNCE or OWN_ECHO
    reason: str  # for people: logs and the agent's view
    rule: str = ""  # name of the rule that decided; "" for the customer default


@dataclass(frozen=True)
class Context:
    own_addresses: frozenset[str]  # canonical form, see canonical_address()
    own_message_ids: frozenset[str]


Check = Callable[[InboundMessage, Context], "str | None"]


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str
    description: str
    check: Check


def rule(kind: str, description: str) -> Callable[[Check], Rule]:
    def wrap(check: Check) -> Rule:
        return Rule(check.__name__, kind, description, check)

    return wrap


def canonical_address(address: str) -> str:
    """Lower-cased, with any "+tag" removed: support+t123@x is support@x."""
    local, at, domain = address.strip().strip("<>").lower().rpartition("@")
    if not at:
        return domain
    return f"{local.split('+', 1)[0]}@{domain}"


def local_part(address: str) -> str:
    return canonical_address(address).rpartition("@")[0]


def fold(text: str) -> str:
    """Casefold and drop accents, so "RÉPONSE" matches "reponse" and ß matches ss."""
    decomposed = unicodedata.normalize("NFKD", text.replace("\u2019", "'").casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_FOLDING_RE = re.compile(r"\r?\n[ \t]*")


def _header(msg: InboundMessage, name: str) -> str | None:
    value = msg.headers.get(name)
    return None if value is None else value.strip()


def _report_type(msg: InboundMessage) -> str | None:
    """report-type of a top-level multipart/report (RFC 6522), "" if unnamed, else None."""
    raw = msg.headers.get("content-type") or msg.content_type
    # The stdlib header registry handles quoting, case and RFC 2231 parameters
    # (report-type*=us-ascii''delivery-status); it wants the value unfolded.
    header = email.policy.default.header_factory("content-type", _FOLDING_RE.sub(" ", raw))
    if header.content_type != "multipart/report":
        return None
    return str(header.params.get("report-type", "")).strip().lower()


# --- own echoes ----------------------------------------------------------------


@rule(OWN_ECHO, "The sender is one of our own addresses.")
def own_address(msg: InboundMessage, ctx: Context) -> str | None:
    if msg.sender_address and canonical_address(msg.sender_address) in ctx.own_addresses:
        return f"sent from our own address {msg.sender_address}"
    return None


@rule(OWN_ECHO, "The message carries our X-Mailbot-Ref or one of our Message-IDs.")
def own_message(msg: InboundMessage, ctx: Context) -> str | None:
    if _header(msg, "x-mailbot-ref") is not None:
        return "carries our X-Mailbot-Ref header"
    if msg.message_id and msg.message_id.strip("<>") in ctx.own_message_ids:
        return f"Message-ID {msg.message_id} is one we generated"
    return None


# --- bounces -------------------------------------------------------------------

_DAEMON_LOCAL_PARTS = frozenset({"mailer-daemon", "mailerdaemon", "mail-daemon", "postmaster"})
_DAEMON_NAMES = frozenset({"mail delivery subsystem", "mail delivery system", "mailer-daemon"})
_BOUNCE_SUBJECTS = tuple(
    fold(s)
    for s in (
        "Undelivered Mail",
        "Undeliverable",
        "Delivery Status Notification",
        "Delivery Failure",
        "Mail delivery failed",
        "Returned mail",
        "Failure Notice",
        "No se puede entregar",
        "Non recapitabile",
        "Unzustellbar",
        "Non remis",
        "Não é possível entregar",
    )
)


@rule(BOUNCE, "A delivery status report (RFC 3464 in a multipart/report, RFC 6522).")
def delivery_report(msg: InboundMessage, ctx: Context) -> str | None:
    if _report_type(msg) == "delivery-status":
        return "multipart/report; report-type=delivery-status (RFC 3464)"
    return None


@rule(BOUNCE, "Sent by a mail server's own mailbox (RFC 2142 postmaster, MAILER-DAEMON).")
def mailer_daemon(msg: InboundMessage, ctx: Context) -> str | None:
    if local_part(msg.sender_address) in _DAEMON_LOCAL_PARTS:
        return f"sender {msg.sender_address} is a mail system"
    if msg.sender_name.strip().casefold() in _DAEMON_NAMES:
        return f"sender name {msg.sender_name!r} is a mail system"
    return None


@rule(BOUNCE, "Null Return-Path with a non-delivery subject, or a reported failed message.")
def non_delivery(msg: InboundMessage, ctx: Context) -> str | None:
    if msg.bounced_message_id:
        return f"reports that {msg.bounced_message_id} was not delivered"
    # Exim names the failed recipients in its own header.
    if _header(msg, "x-failed-recipients"):
        return "X-Failed-Recipients header (Exim non-delivery report)"
    subject = fold(strip_reply_prefixes(msg.subject))
    if msg.return_path == "" and subject.startswith(_BOUNCE_SUBJECTS):
        return f"null Return-Path and non-delivery subject {msg.subject!r}"
    return None


# --- automatic mail ------------------------------------------------------------
# RFC 3834 §2 lists what a responder must not answer: Auto-Submitted other than
# "no", list mail, and mail whose Return-Path is null.  The non-standard headers
# below are what real autoresponders set instead of, or as well as, RFC 3834.


@rule(AUTO_REPLY, 'Auto-Submitted other than "no" (RFC 3834 §5).')
def auto_submitted(msg: InboundMessage, ctx: Context) -> str | None:
    value = _header(msg, "auto-submitted")
    # Parameters are allowed: "auto-replied; owner-email=..." (RFC 3834 §5.1).
    keyword = (value or "").split(";", 1)[0].strip().lower()
    if keyword and keyword != "no":
        return f"Auto-Submitted: {keyword} (RFC 3834)"
    return None


_AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply", "auto-reply"})


@rule(AUTO_REPLY, "Precedence: bulk, junk, list or auto_reply (RFC 2076; RFC 3834 §2).")
def precedence(msg: InboundMessage, ctx: Context) -> str | None:
    value = (_header(msg, "precedence") or "").lower()
    if value in _AUTO_PRECEDENCE:
        kind = "list mail" if value == "list" else "bulk or automatic mail"
        return f"Precedence: {value} ({kind})"
    return None


# Outlook/Exchange put X-Auto-Response-Suppress on the replies they generate
# themselves ([MS-OXCMAIL] 2.2.3.2.20); "None" asks for nothing and is a person's.
_SUPPRESS_VALUES = frozenset({"all", "dr", "ndr", "rn", "nrn", "oof", "autoreply"})


@rule(AUTO_REPLY, "Headers that autoresponders set (X-Autoreply, X-Auto-Response-Suppress...).")
def autoresponder_header(msg: InboundMessage, ctx: Context) -> str | None:
    for name in ("x-autoreply", "x-autorespond", "x-autoreply-from", "x-mail-autoreply"):
        value = _header(msg, name)
        if value is not None and value.lower() != "no":
            return f"{name} header"
    suppress_header = _header(msg, "x-auto-response-suppress") or ""
    suppress = {v.strip().lower() for v in suppress_header.split(",")}
    if suppress & _SUPPRESS_VALUES:
        return "X-Auto-Response-Suppress header (set by Outlook on its own automatic mail)"
    if (_header(msg, "x-autogenerated") or "").lower() == "reply":
        return "X-Autogenerated: Reply"
    # X-Loop names a system that has already handled this message (procmail, lists).
    if _header(msg, "x-loop") is not None:
        return "X-Loop header: already passed through an automatic system"
    return None


def _own_list(value: str, ctx: Context) -> bool:
    """Whether a List-Id/List-Post names our own address, e.g. a Google Group as support@.

    Such groups relay customers' mail with list headers; it is not list mail to us.
    """
    folded = value.lower()
    for address in ctx.own_addresses:
        local, _, domain = address.partition("@")
        if address in folded or f"{local}.{domain}" in folded:
            return True
    return False


@rule(AUTO_REPLY, "Mailing list or newsletter: List-Id/-Unsubscribe/-Post (RFC 2369, RFC 2919).")
def list_mail(msg: InboundMessage, ctx: Context) -> str | None:
    present = [n for n in ("list-id", "list-unsubscribe", "list-post") if n in msg.headers]
    if not present:
        return None
    if any(_own_list(msg.headers[n], ctx) for n in ("list-id", "list-post") if n in present):
        return None
    return f"list mail ({present[0]} header)"


@rule(AUTO_REPLY, "A report other than a bounce: read receipt (RFC 8098), abuse report (RFC 5965).")
def machine_report(msg: InboundMessage, ctx: Context) -> str | None:
    report_type = _report_type(msg)
    if report_type is not None:
        return f"multipart/report; report-type={report_type or 'unknown'}"
    return None


_NOREPLY_RE = re.compile(
    r"^(?:no|do[-_.]?not|nao|ne[-_.]?pas|non)[-_.]?(?:reply|responder|responda|repondre|rispondere)"
    r"(?![a-z])"
)


@rule(AUTO_REPLY, "A no-reply sender address, e.g. noreply@ or do-not-reply@.")
def noreply_sender(msg: InboundMessage, ctx: Context) -> str | None:
    if _NOREPLY_RE.match(local_part(msg.sender_address)):
        # Feedback-ID is Gmail's bulk-sender header: confirms a mass mailing.
        bulk = " from a bulk sender (Feedback-ID)" if _header(msg, "feedback-id") else ""
        return f"no-reply sender {msg.sender_address}{bulk}"
    return None


# Out-of-office subjects: the phrase must open the subject once reply prefixes
# are gone ("Automatic reply: Re: my order"), so a customer writing "Re: your
# automatic reply did not help" is still a customer.  Matching is accent- and
# case-blind because clients vary ("Réponse automatique", "REPONSE AUTOMATIQUE").
_OOO_PHRASES = (
    "out of office",
    "out of the office",
    "automatic reply",
    "auto-reply",
    "auto reply",
    "autoreply",
    "auto response",
    "away from office",
    "away from the office",
    "respuesta automática",
    "fuera de la oficina",
    "fuera de oficina",
    "risposta automatica",
    "fuori sede",
    "fuori ufficio",
    "fuori dall'ufficio",
    "resposta automática",
    "fora do escritório",
    "réponse automatique",
    "absence du bureau",
    "absent du bureau",
    "message d'absence",
    "automatische antwort",
    "abwesenheitsnotiz",
    "außer haus",
    "ich bin außer haus",
)
# Words that open ordinary sentences too ("Ausência de resposta", "On vacation
# and my booking vanished"): automatic only when they stand alone before a separator.
_OOO_WORDS = ("ausente", "assente", "ausência", "on vacation")


def _alternatives(phrases: Collection[str]) -> str:
    return "|".join(re.escape(fold(p)) for p in phrases)


_OOO_START_RE = re.compile(rf"^(?:{_alternatives(_OOO_PHRASES)})(?![a-z0-9]| hours)")
_OOO_WORD_RE = re.compile(rf"^(?:{_alternatives(_OOO_WORDS)})\s*(?:$|[:\-\u2013\u2014(,|/])")
# Also anywhere, as some gateways put it last ("Re: order 123 - Out of Office"),
# but "out of office hours" is a customer asking about opening hours.
_OOO_ANYWHERE_RE = re.compile(r"\bout of (?:the )?office\b(?! hours)")


@rule(AUTO_REPLY, "An out-of-office subject in en, es, it, pt, fr or de.")
def out_of_office_subject(msg: InboundMessage, ctx: Context) -> str | None:
    subject = fold(strip_reply_prefixes(msg.subject))
    if _OOO_START_RE.match(subject) or _OOO_WORD_RE.match(subject) or _OOO_ANYWHERE_RE.search(subject):
        return f"out-of-office subject {msg.subject!r}"
    return None


@rule(AUTO_REPLY, "Null Return-Path: only notifications use it (RFC 5321 §4.5.5, RFC 3834 §2).")
def null_return_path(msg: InboundMessage, ctx: Context) -> str | None:
    if msg.return_path == "":
        return "null Return-Path <> (automatic notification, RFC 5321 §4.5.5)"
    return None


RULES: tuple[Rule, ...] = (
    own_address,
    own_message,
    delivery_report,
    mailer_daemon,
    non_delivery,
    auto_submitted,
    precedence,
    autoresponder_header,
    list_mail,
    machine_report,
    noreply_sender,
    out_of_office_subject,
    null_return_path,
)


def classify(
    msg: InboundMessage,
    own_addresses: Collection[str],
    own_message_ids: Collection[str] = (),
    rules: tuple[Rule, ...] | None = None,
) -> Verdict:
    """The first matching rule decides; a message no rule claims is a customer's."""
    if rules is None:
        rules = _rules_for(msg.channel)
    ctx = Context(
        own_addresses=frozenset(canonical_address(a) for a in own_addresses if a.strip()),
        own_message_ids=frozenset(m.strip().strip("<>") for m in own_message_ids),
    )
    for candidate in rules:
        reason = candidate.check(msg, ctx)
        if reason:
            return Verdict(candidate.kind, reason, candidate.name)
    return Verdict(CUSTOMER, "person: no sign of automatic mail")


def _rules_for(channel: str) -> tuple[Rule, ...]:
    if channel == "email":
        return RULES
    from mailbot.pipeline.chat_rules import CHAT_RULES  # imports this module: loaded late

    # A chat message carries no mail headers; the mail rules that read the sender's
    # address (no-reply, our own address) still apply to a form's e-mail sender.
    return CHAT_RULES + RULES
