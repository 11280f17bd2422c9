"""Cross-channel dedupe: a contact with an open ticket writes about it somewhere else.

A customer e-mails about a blocked card, then complains on X or through a partner's app
an hour later. No header, reference or conversation ties the second message to the
ticket, but it is the same matter: it joins that ticket, and the answer there names it
instead of asking for a DM or for the details again. A new matter from the same customer
is not swallowed: it must share enough words with the open ticket (similarity.py).

`load_open_matters` reads the contact's recently active open tickets with their customer
messages (one statement); `decide_cross_channel` picks one, or none, over plain data, and
says why and how sure it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Row, Select, func, select
from sqlalchemy.orm import Session

from mailbot.message import InboundMessage
from mailbot.pipeline.chunk_reads import reads_of
from mailbot.pipeline.similarity import similarity, stems
from mailbot.pipeline.thread import TicketCandidate, ticket_candidate, ticket_candidate_columns
from mailbot.statuses import TicketStatus
from mailbot.store.models import Contact, Message, Ticket
from mailbot.timeutil import as_utc

CROSS_CHANNEL = "cross-channel, same matter"
# How many of a contact's latest customer messages on open tickets are compared.
MESSAGES_READ = 40


@dataclass(frozen=True)
class OpenMatter:
    """An open ticket of the contact: what it is about, where and when they wrote."""

    ticket: TicketCandidate
    language: str
    texts: tuple[str, ...]  # its subject and customer messages, newest first
    channels: frozenset[str]
    last_message_at: datetime  # aware UTC


@dataclass(frozen=True)
class CrossChannelDecision:
    ticket: TicketCandidate | None  # None: a new matter, or nothing to compare with
    confidence: float  # of this decision, 0..1
    reason: str  # the signals, for the agent


def decide_cross_channel(
    msg: InboundMessage,
    matters: Sequence[OpenMatter],
    now: datetime,
    window: timedelta,
    threshold: float,
) -> CrossChannelDecision:
    """The open ticket, known from another channel, active within `window`, whose words
    the message shares most (at least `threshold`); ties go to the most recent."""
    hours = window.total_seconds() / 3600
    eligible = [m for m in matters if now - m.last_message_at <= window and m.channels - {msg.channel}]
    if not eligible:
        return CrossChannelDecision(None, 1.0, f"no open ticket on another channel within {hours:g} h")
    said = stems(f"{msg.subject}\n{msg.text}", msg.language)
    scored = []
    for matter in eligible:
        theirs = stems("\n".join(matter.texts), matter.language)
        # The message in its language against the ticket in the ticket's, and in the
        # message's too: a customer may switch language between channels but keep the nouns.
        if (matter.language or "") != (msg.language or ""):
            theirs = theirs | stems("\n".join(matter.texts), msg.language)
        scored.append((similarity(said, theirs), matter))
    best, matter = max(scored, key=lambda pair: (pair[0].score, pair[1].last_message_at, pair[1].ticket.id))
    ago = (now - matter.last_message_at).total_seconds() / 3600
    evidence = (
        f"ticket {matter.ticket.ref} open, last message {ago:.1f} h ago on "
        f"{', '.join(sorted(matter.channels))} (window {hours:g} h); similarity {best.score:.2f}"
    )
    if best.score >= threshold and best.shared:
        return CrossChannelDecision(
            matter.ticket,
            round(best.score, 3),
            f"{CROSS_CHANNEL}: {evidence} >= {threshold:.2f} on {', '.join(best.shared[:8])}",
        )
    return CrossChannelDecision(None, round(1.0 - best.score, 3), f"new matter: {evidence} < {threshold:.2f}")


def load_open_matters(session: Session, contact_id: int, since: datetime) -> list[OpenMatter]:
    """The contact's open tickets updated since `since`, each with its latest customer
    messages: one statement on the (contact_id, updated_at) index, or the chunk's rows
    (chunk_reads.py; read with a window opened when the chunk began, a few milliseconds
    earlier, and cut here to this message's own)."""
    chunk = reads_of(session)
    tickets = chunk.tickets_for(contact_id) if chunk is not None else None
    read = tickets.matters[contact_id] if tickets is not None else []
    rows = [row for row in read if as_utc(row.updated_at) >= since]
    # Cut to this message's window, a read that was full (its newest MESSAGES_READ) may
    # hold fewer than the store would give: ask the store then.
    if tickets is None or (len(read) >= MESSAGES_READ and len(rows) < len(read)):
        rows = list(
            session.execute(_open_matter_query(Ticket.contact_id == contact_id, since).limit(MESSAGES_READ))
        )
    found: dict[int, dict] = {}
    for row in rows:
        entry = found.setdefault(
            row.id,
            {
                "ticket": ticket_candidate(row),
                "language": row.language,
                "texts": [row.subject or ""],
                "channels": set(),
                "last": as_utc(row.received_at),
            },
        )
        entry["texts"].append(row.message_text or "")
        entry["channels"].add(row.message_channel)
        entry["last"] = max(entry["last"], as_utc(row.received_at))
    return [
        OpenMatter(e["ticket"], e["language"], tuple(e["texts"]), frozenset(e["channels"]), e["last"])
        for e in found.values()
    ]


def open_matter_rows(session: Session, contacts: Iterable[int], since: datetime) -> list[Row]:
    """`load_open_matters`' rows for many contacts in one statement, newest first each."""
    newest = (
        func.row_number().over(partition_by=Ticket.contact_id, order_by=Message.id.desc()).label("newest")
    )
    query = _open_matter_query(Ticket.contact_id.in_(sorted(contacts)), since).order_by(None)
    ranked = query.add_columns(newest).subquery()
    return list(
        session.execute(
            select(ranked)
            .where(ranked.c.newest <= MESSAGES_READ)
            .order_by(ranked.c.contact_id, ranked.c.newest)
        )
    )


def _open_matter_query(contact: ColumnElement[bool], since: datetime) -> Select:
    return (
        ticket_candidate_columns()
        .add_columns(
            Ticket.subject,
            Ticket.language,
            Ticket.updated_at,
            Message.channel.label("message_channel"),
            Message.text.label("message_text"),
            Message.received_at,
        )
        .select_from(Ticket)
        .join(Contact, Contact.id == Ticket.contact_id)
        .join(Message, Message.ticket_id == Ticket.id)
        .where(
            contact,
            Ticket.status != TicketStatus.CLOSED,
            Ticket.updated_at >= since,
            Message.kind.in_(("customer", "callback")),
        )
        .order_by(Message.id.desc())
    )


def find_cross_channel(
    session: Session,
    msg: InboundMessage,
    contact_id: int,
    now: datetime,
    window: timedelta,
    threshold: float,
    *,
    first_contact: bool = False,
) -> CrossChannelDecision:
    # A contact created by this filing has no tickets to join.
    matters = [] if first_contact else load_open_matters(session, contact_id, now - window)
    return decide_cross_channel(msg, matters, now, window, threshold)
