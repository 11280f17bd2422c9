"""Thread: which ticket a message continues, from several independent signals.

One signal is never enough: Outlook breaks In-Reply-To chains and people edit subjects
(peers.md, complaint 3), so the header chain, the signed reply address, the reference in
the subject, the reference quoted in the body and the sender's open ticket with the same
subject are tried in that order, most trustworthy first.

Three steps, so the decision is tested without a database: `thread_signals` reads what
in the message can name a ticket, `load_candidates` fetches every ticket those signals
name (one statement), and `decide_thread` picks one over plain data.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, CompoundSelect, Row, Select, String, and_, cast, null, select, union_all
from sqlalchemy.orm import Session

from mailbot.message import InboundMessage
from mailbot.pipeline.chunk_reads import TicketReads, reads_of
from mailbot.pipeline.classify import AUTO_REPLY, AUTO_REPLY_SUBJECT_PHRASES, CUSTOMER, fold
from mailbot.pipeline.identify import KnownContact
from mailbot.pipeline.normalize import domain_of
from mailbot.pipeline.refs import ref_from_reply_address
from mailbot.pipeline.subjects import find_ticket_refs, normalize_subject, strip_reply_prefixes
from mailbot.statuses import TicketStatus
from mailbot.store.models import Contact, Message, OutboxEntry, Ticket
from mailbot.timeutil import as_utc

HEADER_CHAIN = "In-Reply-To/References"
REPLY_ADDRESS = "signed reply address"
SUBJECT_REFERENCE = "subject reference"
BODY_REFERENCE = "body reference"
OPEN_SUBJECT = "same sender and subject, ticket open"

# How sure each deciding signal is, stored with the message (Message.thread_confidence) so
# an agent sees which joins to check: ids and signed addresses name the ticket outright; a
# bare reference can be quoted by mistake; a repeated subject can be a new matter.
SIGNAL_CONFIDENCE = {
    HEADER_CHAIN: 1.0,
    REPLY_ADDRESS: 1.0,
    SUBJECT_REFERENCE: 0.95,
    BODY_REFERENCE: 0.9,
    OPEN_SUBJECT: 0.75,
    "same conversation": 1.0,  # conversation.py
    "the customer's open ticket": 0.7,  # conversation.py: a public post, no conversation of ours
}


@dataclass(frozen=True)
class TicketCandidate:
    """A stored ticket, as far as threading needs it."""

    id: int
    ref: str
    status: str
    contact_id: int
    contact_email: str | None
    normalized_subject: str
    first_response_due_at: datetime | None = None


@dataclass(frozen=True)
class Candidates:
    """The tickets a message's signals name, and which of its Message-IDs are on file."""

    tickets: Sequence[TicketCandidate] = ()
    # A Message-ID of a ticket's message or of one we sent (an acknowledgement) -> ticket id.
    known_ids: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ThreadSignals:
    """What in one message can name its ticket, each in the order it is trusted."""

    channel: str = "email"  # message ids are unique per channel
    header_ids: tuple[str, ...] = ()  # In-Reply-To, then References from the newest
    reply_refs: tuple[str, ...] = ()  # carried by signed reply addresses among the recipients
    subject_refs: tuple[str, ...] = ()
    body_refs: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()  # normalised, to compare with the sender's open tickets


@dataclass(frozen=True)
class ThreadMatch:
    ticket: TicketCandidate
    reason: str


def thread_signals(msg: InboundMessage, secret_key: str, kind: str = CUSTOMER) -> ThreadSignals:
    """`kind` is the message's verdict: an auto-reply's subject is also read past its
    "Automatic reply:" phrase, as it answers a subject the sender's ticket already has."""
    # RFC 5322 §3.6.4: In-Reply-To names the parent; References ends with it.
    header_ids = dict.fromkeys(i for i in [*msg.in_reply_to, *reversed(msg.references)] if i)
    reply_refs = dict.fromkeys(
        ref for ref in (ref_from_reply_address(secret_key, a) for a in msg.recipients) if ref
    )
    subjects = [normalize_subject(msg.subject)]
    if kind == AUTO_REPLY:
        subjects.append(normalize_subject(without_auto_reply_phrase(msg.subject)))
    return ThreadSignals(
        channel=msg.channel,
        header_ids=tuple(header_ids),
        reply_refs=tuple(reply_refs),
        subject_refs=tuple(find_ticket_refs(msg.subject)),
        body_refs=tuple(find_ticket_refs(msg.text + "\n" + msg.quoted_text)),
        subjects=tuple(dict.fromkeys(s for s in subjects if s)),
    )


def decide_thread(
    signals: ThreadSignals, sender: KnownContact | None, candidates: Candidates
) -> ThreadMatch | None:
    """The first signal that names a ticket decides. Pure: the candidates may hold more
    tickets than qualify (a closed one, a stranger's), and each is checked here."""
    by_id = {t.id: t for t in candidates.tickets}
    by_ref = {t.ref: t for t in candidates.tickets}
    for message_id in signals.header_ids:
        ticket = by_id.get(candidates.known_ids.get(message_id, -1))
        if ticket is not None:
            return ThreadMatch(ticket, HEADER_CHAIN)
    # The reply address is signed with our key: whoever writes to it may join (a colleague in Cc).
    for ref in signals.reply_refs:
        if ref in by_ref:
            return ThreadMatch(by_ref[ref], REPLY_ADDRESS)
    if sender is None:
        return None
    for refs, reason in ((signals.subject_refs, SUBJECT_REFERENCE), (signals.body_refs, BODY_REFERENCE)):
        for ref in refs:
            ticket = by_ref.get(ref)
            if ticket is not None and same_party(ticket, sender):
                return ThreadMatch(ticket, reason)
    same_subject = [
        t
        for t in candidates.tickets
        if t.contact_id == sender.id
        and t.status != TicketStatus.CLOSED
        and t.normalized_subject in signals.subjects
    ]
    if same_subject:
        return ThreadMatch(max(same_subject, key=lambda t: t.id), OPEN_SUBJECT)
    return None


def same_party(ticket: TicketCandidate, sender: KnownContact) -> bool:
    """A bare reference is unsigned: only the ticket's own contact (or a colleague at the
    same company domain) may join it, so a stranger cannot write into someone's ticket."""
    if ticket.contact_id == sender.id:
        return True
    if ticket.contact_email and sender.email:
        domain = domain_of(ticket.contact_email)
        return domain == domain_of(sender.email) and domain not in FREEMAIL_DOMAINS
    return False


def load_candidates(session: Session, signals: ThreadSignals, sender: KnownContact | None) -> Candidates:
    """Every ticket the signals name, in one statement: a UNION ALL of indexed lookups
    (the unique Message-IDs of messages and outbox, the unique ref, the contact's tickets
    by subject), each arm present only when its signal is; or from the chunk's rows when
    they hold the answer (chunk_reads.py)."""
    refs = [*signals.reply_refs]
    if sender is not None:
        refs += [*signals.subject_refs, *signals.body_refs]
    by_subject = sender is not None and not sender.created and bool(signals.subjects)
    chunk = reads_of(session)
    if chunk is not None and not chunk.named_before(refs):
        held = chunk.tickets_for(sender.id if sender is not None and by_subject else None)
        if held is not None and _holds(held, signals, refs, by_subject):
            return _candidates_from(held, signals, refs, sender if by_subject else None)
    arms: list[Select] = []
    if signals.header_ids:
        arms.append(
            tickets_of_messages(
                and_(Message.channel == signals.channel, Message.internet_message_id.in_(signals.header_ids))
            )
        )
        arms.append(tickets_of_sent(signals.header_ids))
    if refs:
        arms.append(tickets_where(Ticket.ref.in_(dict.fromkeys(refs))))
    if by_subject:
        assert sender is not None
        arms.append(
            tickets_where(
                Ticket.contact_id == sender.id,
                Ticket.status != TicketStatus.CLOSED,
                Ticket.normalized_subject.in_(signals.subjects),
            )
        )
    if not arms:
        return Candidates()
    query: Select | CompoundSelect = arms[0] if len(arms) == 1 else union_all(*arms)
    tickets: dict[int, TicketCandidate] = {}
    known_ids: dict[str, int] = {}
    for row in session.execute(query):
        tickets[row.id] = ticket_candidate(row)
        if row.via_id is not None:
            known_ids.setdefault(row.via_id, row.id)
    return Candidates(tuple(tickets.values()), known_ids)


def tickets_of_messages(condition: ColumnElement[bool]) -> Select:
    """The tickets holding the messages `condition` picks, each row named by its Message-ID."""
    return (
        ticket_candidate_columns(Message.internet_message_id.expression)
        .select_from(Message)
        .join(Ticket, Ticket.id == Message.ticket_id)
        .join(Contact, Contact.id == Ticket.contact_id)
        .where(condition)
    )


def tickets_of_sent(message_ids: Iterable[str]) -> Select:
    """What we sent (an acknowledgement) is in the outbox, under its own unique id."""
    return (
        ticket_candidate_columns(OutboxEntry.internet_message_id.expression)
        .select_from(OutboxEntry)
        .join(Ticket, Ticket.id == OutboxEntry.ticket_id)
        .join(Contact, Contact.id == Ticket.contact_id)
        .where(OutboxEntry.internet_message_id.in_(message_ids))
    )


def _holds(tickets: TicketReads, signals: ThreadSignals, refs: list[str], by_subject: bool) -> bool:
    return (
        all((signals.channel, i) in tickets.header_ids for i in signals.header_ids)
        and all(ref in tickets.refs for ref in refs)
        and (not by_subject or all(s in tickets.subjects for s in signals.subjects))
    )


def _candidates_from(
    tickets: TicketReads, signals: ThreadSignals, refs: list[str], sender: KnownContact | None
) -> Candidates:
    """`load_candidates`' answer from the chunk's rows, arm by arm as its UNION reads them."""
    found: dict[int, TicketCandidate] = {}
    known_ids: dict[str, int] = {}
    for message_id, ticket in [
        *((i, tickets.by_message_id.get((signals.channel, i))) for i in signals.header_ids),
        *((i, tickets.by_outbox_id.get(i)) for i in signals.header_ids),
    ]:
        if ticket is not None:
            found.setdefault(ticket.id, ticket)
            known_ids.setdefault(message_id, ticket.id)
    for ref in dict.fromkeys(refs):
        if (ticket := tickets.by_ref.get(ref)) is not None:
            found.setdefault(ticket.id, ticket)
    if sender is not None:
        for ticket in tickets.open_by_subject.get(sender.id, []):
            if ticket.normalized_subject in signals.subjects:
                found.setdefault(ticket.id, ticket)
    return Candidates(tuple(found.values()), known_ids)


def find_thread(
    session: Session, msg: InboundMessage, sender: KnownContact | None, secret_key: str, kind: str = CUSTOMER
) -> ThreadMatch | None:
    signals = thread_signals(msg, secret_key, kind)
    return decide_thread(signals, sender, load_candidates(session, signals, sender))


def ticket_candidate_columns(via_id: ColumnElement[Any] | None = None) -> Select:
    """What a TicketCandidate is read from, for a query on Ticket joined to its Contact."""
    return select(
        Ticket.id,
        Ticket.ref,
        Ticket.status,
        Ticket.contact_id,
        Contact.email,
        Ticket.normalized_subject,
        Ticket.first_response_due_at,
        (via_id if via_id is not None else cast(null(), String)).label("via_id"),
    )


def ticket_candidate(row: Row[Any]) -> TicketCandidate:
    return TicketCandidate(
        id=row.id,
        ref=row.ref,
        status=row.status,
        contact_id=row.contact_id,
        contact_email=row.email,
        normalized_subject=row.normalized_subject,
        first_response_due_at=as_utc(row.first_response_due_at) if row.first_response_due_at else None,
    )


def tickets_where(*conditions: ColumnElement[bool]) -> Select:
    return (
        ticket_candidate_columns()
        .select_from(Ticket)
        .join(Contact, Contact.id == Ticket.contact_id)
        .where(*conditions)
    )


# --- the subject an auto-reply answers -------------------------------------------

# The out-of-office phrases classify.py recognises, longest first, so "out of the
# office" is tried before a phrase it could start with.
_AUTO_REPLY_PHRASES = tuple(sorted({fold(p) for p in AUTO_REPLY_SUBJECT_PHRASES}, key=len, reverse=True))
# What autoresponders put between their phrase and the subject: "Automatic reply: ",
# French typography's "Réponse automatique : ", "Abwesenheitsnotiz - ".
_PHRASE_SEPARATORS = " \t:\uff1a-\u2013\u2014"


def without_auto_reply_phrase(subject: str) -> str:
    """The subject an auto-reply answers: "Automatic reply: Re: Wrong size" -> "Re: Wrong size".

    Matched as classify matches it (accent- and case-blind, after any reply prefixes),
    and cut from the subject as written, so what is left keeps its accents."""
    rest = strip_reply_prefixes(subject)
    while True:
        folded = fold(rest)
        phrase = next(
            (
                p
                for p in _AUTO_REPLY_PHRASES
                if folded.startswith(p) and not folded[len(p) : len(p) + 1].isalnum()
            ),
            None,
        )
        if phrase is None:
            return rest
        rest = strip_reply_prefixes(rest[_prefix_folding_to(rest, len(phrase)) :].lstrip(_PHRASE_SEPARATORS))


def _prefix_folding_to(text: str, length: int) -> int:
    """How many characters of `text` fold into its first `length` folded ones ("ß" folds
    to "ss", a combining accent to nothing)."""
    taken = 0
    for index, char in enumerate(text):
        if taken >= length and not unicodedata.combining(char):
            return index
        taken += len(fold(char))
    return len(text)


# Sharing one of these domains says nothing about being colleagues.
FREEMAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "hotmail.es",
        "hotmail.it",
        "live.com",
        "msn.com",
        "yahoo.com",
        "yahoo.es",
        "yahoo.it",
        "icloud.com",
        "me.com",
        "aol.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "libero.it",
        "virgilio.it",
        "tiscali.it",
        "alice.it",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "proton.me",
        "protonmail.com",
        "uol.com.br",
        "terra.com.br",
        "sapo.pt",
        "gmail.test",
        "outlook.test",
        "yahoo.test",
        "libero.test",
        "web.test",
        "free.test",
    }
)
