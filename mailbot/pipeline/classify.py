"""Is this message from a person we should answer, or from a machine?

A chain of small rules in the style of GNU Mailman: each rule has a name, a
description and one `check()` that returns a reason when it matches.  The order
of `RULES` is the order of precedence: our own echoes first (answering them is
how loops start), then complaint reports (often sent from a postmaster, yet
nothing bounced: the message was delivered and someone called it spam), then
bounces (which also carry auto-reply markers), then every other kind of
automatic mail.  A message no rule claims is a customer's.

Pure: no I/O, nothing read from the database; the caller passes our addresses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

from mailbot.mail.bounces import BOUNCE_SUBJECTS, failure_wording, is_mail_system
from mailbot.mail.mail_policy import HEADER_FACTORY
from mailbot.message import NOTIFICATION_HEADER, InboundMessage
from mailbot.pipeline.subjects import strip_reply_prefixes
from mailbot.text import fold

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
    # Message-IDs we generated among those the message names (its own, its enclosed copy's).
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


_FOLDING_RE = re.compile(r"\r?\n[ \t]*")


def _header(msg: InboundMessage, name: str) -> str | None:
    value = msg.headers.get(name)
    return None if value is None else value.strip()


def _auto_submitted(msg: InboundMessage) -> str | None:
    """The Auto-Submitted keyword when it says automatic (anything but "no", RFC 3834 §5)."""
    # Parameters are allowed: "auto-replied; owner-email=..." (RFC 3834 §5.1).
    keyword = (_header(msg, "auto-submitted") or "").split(";", 1)[0].strip().lower()
    return keyword if keyword and keyword != "no" else None


def _report_type(msg: InboundMessage) -> str | None:
    """report-type of a top-level multipart/report (RFC 6522), "" if unnamed, else None."""
    raw = msg.headers.get("content-type") or msg.content_type
    # The stdlib header registry handles quoting, case and RFC 2231 parameters
    # (report-type*=us-ascii''delivery-status); it wants the value unfolded. Three rules
    # ask: the parse is done once (mail_policy.py).
    header = HEADER_FACTORY("content-type", _FOLDING_RE.sub(" ", raw))
    if header.content_type != "multipart/report":
        return None
    return str(header.params.get("report-type", "")).strip().lower()


def _encloses_ours(msg: InboundMessage, ctx: Context) -> str | None:
    """Why the copy of a message that this one carries back is of mail we sent, if it is."""
    enclosed = msg.enclosed
    if enclosed is None:
        return None
    if enclosed.outbox_key:
        return f"returns our message {enclosed.outbox_key} (X-Mailbot-Outbox)"
    if enclosed.message_id and enclosed.message_id in ctx.own_message_ids:
        return f"returns our message <{enclosed.message_id}>"
    if enclosed.sender_address and canonical_address(enclosed.sender_address) in ctx.own_addresses:
        return f"returns a message from our address {enclosed.sender_address}"
    return None


# --- own echoes ----------------------------------------------------------------


@rule(OWN_ECHO, "The sender is one of our own addresses.")
def own_address(msg: InboundMessage, ctx: Context) -> str | None:
    if msg.sender_address and canonical_address(msg.sender_address) in ctx.own_addresses:
        return f"sent from our own address {msg.sender_address}"
    return None


@rule(OWN_ECHO, "Our notification of a customer's message to agents (X-Mailbot-Notification).")
def own_notification(msg: InboundMessage, ctx: Context) -> str | None:
    # A team address that is also a support mailbox, a Bcc or a forwarding rule brings
    # the notification back: filing it would open a ticket about a ticket, and
    # acknowledging it would start a loop. First, so the reason says which of ours it is.
    key = _header(msg, NOTIFICATION_HEADER.lower())
    if key:
        return f"our notification to agents ({NOTIFICATION_HEADER}: {key})"
    return None


@rule(OWN_ECHO, "The message carries one of our Message-IDs or our X-Mailbot-Outbox header.")
def own_message(msg: InboundMessage, ctx: Context) -> str | None:
    if msg.message_id and msg.message_id.strip("<>") in ctx.own_message_ids:
        return f"Message-ID {msg.message_id} is one we generated"
    # The SMTP sender writes X-Mailbot-Outbox on every ticket mail (senders/smtp.py):
    # it survives a relay that rewrites both From and Message-ID.
    key = _header(msg, "x-mailbot-outbox")
    if key:
        return f"carries our X-Mailbot-Outbox header ({key})"
    return None


# --- complaint reports -----------------------------------------------------------
# A feedback loop sends back a message a recipient marked as spam. Not a bounce
# (it was delivered: the outbox row stays sent) and never a customer: it is
# kept as automatic mail on the ticket of the message complained of.

# The format before RFC 5965, still sent by some providers (Hotmail's JMRP): a
# multipart/mixed from a staff address, the message attached as message/rfc822.
# The subject names the sending IP address; a customer's "Complaint about message
# from your agent" names a person.
_COMPLAINT_SUBJECT_RE = re.compile(
    r"^complaint about message from \[?(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]*:[0-9a-f:.]+)\]?\s*$"
)
_ABUSE_REPORT_RE = re.compile(r"\bthis is an? (?:e-?mail )?(?:abuse|spam) (?:report|complaint)\b")
_FEEDBACK_TYPE_RE = re.compile(rb"^feedback-type:[ \t]*([\w-]+)", re.IGNORECASE | re.MULTILINE)


def _feedback_type(msg: InboundMessage) -> str:
    """The Feedback-Type ("abuse", "fraud", "virus"...) of the report's machine part (RFC 5965 §3.1)."""
    for part in msg.attachments:
        if part.content_type == "message/feedback-report" and part.data:
            match = _FEEDBACK_TYPE_RE.search(part.data)
            if match:
                return match.group(1).decode("ascii", "replace").lower()
    return ""


@rule(AUTO_REPLY, "A feedback-loop complaint: RFC 5965 ARF, or the older provider format.")
def feedback_report(msg: InboundMessage, ctx: Context) -> str | None:
    arf_part = any(part.content_type == "message/feedback-report" for part in msg.attachments)
    if _report_type(msg) == "feedback-report" or arf_part:
        feedback_type = _feedback_type(msg)
        detail = f", Feedback-Type: {feedback_type}" if feedback_type else ""
        return f"complaint report (RFC 5965 feedback-report{detail})"
    if msg.enclosed is None:
        return None
    if _COMPLAINT_SUBJECT_RE.match(fold(strip_reply_prefixes(msg.subject))):
        return f"provider complaint {msg.subject!r} with the complained-of message enclosed"
    # "This is an email abuse report" alone is also what a customer reporting abuse
    # writes, with the offending mail attached: only a report about our mail counts.
    ours = _encloses_ours(msg, ctx)
    if ours and _ABUSE_REPORT_RE.search(fold(msg.text)):
        return f"abuse report that {ours}"
    return None


# --- bounces -------------------------------------------------------------------


@rule(BOUNCE, "A delivery status report (RFC 3464 in a multipart/report, RFC 6522).")
def delivery_report(msg: InboundMessage, ctx: Context) -> str | None:
    if _report_type(msg) == "delivery-status":
        return "multipart/report; report-type=delivery-status (RFC 3464)"
    return None


@rule(BOUNCE, "Sent by a mail server's own mailbox (RFC 2142 postmaster, MAILER-DAEMON), any spelling.")
def mailer_daemon(msg: InboundMessage, ctx: Context) -> str | None:
    if is_mail_system(msg.sender_address):
        return f"sender {msg.sender_address} is a mail system"
    if is_mail_system("", msg.sender_name):
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
    if msg.return_path == "" and subject.startswith(BOUNCE_SUBJECTS):
        return f"null Return-Path and non-delivery subject {msg.subject!r}"
    return None


@rule(BOUNCE, "Failure-notice wording (en, es, it, pt, fr, de) and a second sign of a mail system.")
def failure_notice(msg: InboundMessage, ctx: Context) -> str | None:
    # What the notice itself says, not what it quotes. The wording alone is what a
    # customer writes too ("my message could not be delivered to billing"): it takes
    # a sign no person's mail carries as well.
    wording = failure_wording(msg.text)
    if wording is None:
        return None
    keyword = _auto_submitted(msg)
    second = (
        _encloses_ours(msg, ctx)
        or ("has a null Return-Path" if msg.return_path == "" else None)
        or (f"is Auto-Submitted: {keyword}" if keyword else None)
    )
    if second:
        return f"failure notice ({wording!r}) that {second}"
    return None


# --- automatic mail ------------------------------------------------------------
# RFC 3834 §2 lists what a responder must not answer: Auto-Submitted other than
# "no", list mail, and mail whose Return-Path is null.  The non-standard headers
# below are what real autoresponders set instead of, or as well as, RFC 3834.


@rule(AUTO_REPLY, 'Auto-Submitted other than "no" (RFC 3834 §5).')
def auto_submitted(msg: InboundMessage, ctx: Context) -> str | None:
    keyword = _auto_submitted(msg)
    return f"Auto-Submitted: {keyword} (RFC 3834)" if keyword else None


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
# Threading reads past these to find the subject an auto-reply answers (thread.py).
AUTO_REPLY_SUBJECT_PHRASES = (*_OOO_PHRASES, *_OOO_WORDS)


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
    own_notification,
    own_address,
    own_message,
    feedback_report,
    delivery_report,
    mailer_daemon,
    non_delivery,
    failure_notice,
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
