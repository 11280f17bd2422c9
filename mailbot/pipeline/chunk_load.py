"""Read, in one statement each, what every message of a filing chunk would have asked
the store on its own (chunk_reads.py says which reads, and why that is exact)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Row, and_, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from mailbot.config import Settings
from mailbot.customers.records import records_query
from mailbot.message import InboundMessage
from mailbot.pipeline.chunk_reads import ChunkReads, SentAck, TicketReads
from mailbot.pipeline.context import PriorTicket, prior_tickets_of
from mailbot.pipeline.crosschannel import open_matter_rows
from mailbot.pipeline.dedupe import content_hash, seen_message, seen_query
from mailbot.pipeline.identify import KnownContact
from mailbot.pipeline.refs import new_ref
from mailbot.pipeline.returned import named_ids
from mailbot.pipeline.thread import (
    TicketCandidate,
    thread_signals,
    ticket_candidate,
    tickets_of_messages,
    tickets_of_sent,
    tickets_where,
)
from mailbot.pipeline.triage_ticket import customer_keys
from mailbot.statuses import TicketStatus
from mailbot.store.models import Contact, ContactIdentity, Message, OutboxEntry, Ticket
from mailbot.timeutil import as_utc


def read_chunk(
    session: Session, messages: list[InboundMessage], settings: Settings, now: datetime
) -> ChunkReads:
    """From now on in this session (which ends with the chunk's transaction), the
    per-message reads of `messages` answer from rows read now. `now` must be no later
    than any message's own filing time: every window read opens earlier than theirs."""
    reads = _load(session, messages, settings, now)
    reads.install(session)
    return reads


def _load(session: Session, messages: list[InboundMessage], settings: Settings, now: datetime) -> ChunkReads:
    named = sorted({i for msg in messages for i in named_ids(msg)})
    own_ids: set[str] = set()
    if named:
        query = select(OutboxEntry.internet_message_id).where(OutboxEntry.internet_message_id.in_(named))
        own_ids = {found for found in session.scalars(query) if found}

    # What any of the messages could repeat: a superset of each one's seen_condition (two
    # IN lists on the same indexes, cheaper to build than an OR of one AND per message),
    # cut to each message's own by dedupe.is_seen.
    seen_since = now - timedelta(seconds=settings.duplicate_window_seconds)
    same_content = and_(
        Message.from_address.in_(sorted({msg.sender_handle for msg in messages})),
        Message.content_hash.in_(sorted({content_hash(msg) for msg in messages})),
        Message.received_at >= seen_since,
    )
    message_ids = {(msg.channel, msg.message_id) for msg in messages if msg.message_id}
    seen_rows = session.execute(seen_query(same_content, *_named(message_ids)))
    seen = [seen_message(row) for row in seen_rows] if messages else []

    senders = sorted({msg.sender_handle for msg in messages} | {msg.sender_address for msg in messages})
    window_since = now - timedelta(seconds=settings.ack_cap_window_seconds)
    received: dict[str, list[datetime]] = {}
    for address, received_at in session.execute(
        select(Message.from_address, Message.received_at).where(
            Message.from_address.in_(senders), Message.received_at >= window_since
        )
    ):
        received.setdefault(address, []).append(as_utc(received_at))
    acks: dict[str, list[SentAck]] = {}
    for address, subject, created_at in session.execute(
        select(OutboxEntry.to_address, OutboxEntry.normalized_subject, OutboxEntry.created_at).where(
            OutboxEntry.kind == "ack",
            OutboxEntry.to_address.in_(senders),
            OutboxEntry.created_at >= window_since,
        )
    ):
        acks.setdefault(address, []).append(SentAck(subject, as_utc(created_at)))

    by_identity, by_email = _contacts(session, messages)
    emails, phones = _record_keys(messages)
    records = list(session.scalars(records_query(emails, phones))) if emails or phones else []
    contact_ids = {c.id for found in (*by_identity.values(), *by_email.values()) for c in found}
    tickets = _tickets(session, messages, contact_ids, settings, now)
    return ChunkReads(
        own_ids,
        seen,
        set(senders),
        received,
        acks,
        _free_refs(session, 2 * len(messages)),
        by_identity,
        by_email,
        {*emails, *phones},
        records,
        tickets,
    )


def _tickets(
    session: Session, messages: list[InboundMessage], contacts: set[int], settings: Settings, now: datetime
) -> TicketReads:
    """What thread.load_candidates, context.load_prior_tickets and
    crosschannel.load_open_matters read, for every message and known contact of the chunk."""
    signals = [thread_signals(msg, settings.secret_key) for msg in messages]
    header_ids = {(s.channel, i) for s in signals for i in s.header_ids}
    refs = {r for s in signals for r in (*s.reply_refs, *s.subject_refs, *s.body_refs)}
    subjects = {subject for s in signals for subject in s.subjects}
    by_message_id: dict[tuple[str, str], TicketCandidate] = {}
    by_outbox_id: dict[str, TicketCandidate] = {}
    if header_ids:
        named = tickets_of_messages(or_(*_named(header_ids)))
        for row in session.execute(named.add_columns(Message.channel.label("via_channel"))):
            by_message_id[row.via_channel, row.via_id] = ticket_candidate(row)
        for row in session.execute(tickets_of_sent(sorted({i for _, i in header_ids}))):
            by_outbox_id[row.via_id] = ticket_candidate(row)
    by_ref = {}
    if refs:
        by_ref = {
            row.ref: ticket_candidate(row) for row in session.execute(tickets_where(Ticket.ref.in_(refs)))
        }
    open_by_subject: dict[int, list[TicketCandidate]] = {c: [] for c in contacts}
    prior: dict[int, list[PriorTicket]] = {c: [] for c in contacts}
    matters: dict[int, list[Row]] = {c: [] for c in contacts}
    if contacts:
        if subjects:
            for row in session.execute(
                tickets_where(
                    Ticket.contact_id.in_(contacts),
                    Ticket.status != TicketStatus.CLOSED,
                    Ticket.normalized_subject.in_(subjects),
                )
            ):
                open_by_subject[row.contact_id].append(ticket_candidate(row))
        for contact_id, ticket in prior_tickets_of(session, contacts):
            prior[contact_id].append(ticket)
        window = timedelta(seconds=settings.cross_channel_window_seconds)
        for row in open_matter_rows(session, contacts, now - window):
            matters[row.contact_id].append(row)
    return TicketReads(
        header_ids,
        by_message_id,
        by_outbox_id,
        refs,
        by_ref,
        contacts,
        subjects,
        open_by_subject,
        prior,
        matters,
    )


def _contacts(
    session: Session, messages: list[InboundMessage]
) -> tuple[dict[tuple[str, str], list[KnownContact]], dict[str, list[KnownContact]]]:
    """identify.load_known_contacts' first two arms, for every sender of the chunk."""
    pairs = {(msg.channel, msg.sender_handle) for msg in messages}
    by_identity: dict[tuple[str, str], list[KnownContact]] = {pair: [] for pair in pairs}
    query = (
        select(
            Contact.id,
            Contact.name,
            Contact.email,
            Contact.created_at,
            ContactIdentity.channel,
            ContactIdentity.handle,
        )
        .join(ContactIdentity, ContactIdentity.contact_id == Contact.id)
        .where(or_(*_per_channel(pairs, ContactIdentity.channel, ContactIdentity.handle)))
        .order_by(Contact.id)
    )
    for row in session.execute(query):
        by_identity[row.channel, row.handle].append(
            KnownContact(row.id, row.name or "", row.email, True, since=row.created_at)
        )
    by_email: dict[str, list[KnownContact]] = {}
    emails = sorted({msg.sender_handle for msg in messages if msg.channel == "email"})
    if emails:
        by_address = select(Contact.id, Contact.name, Contact.email, Contact.created_at).where(
            Contact.email.in_(emails)
        )
        for found in session.execute(by_address.order_by(Contact.id)):
            by_email.setdefault(found.email, []).append(
                KnownContact(found.id, found.name or "", found.email, False, since=found.created_at)
            )
    return by_identity, by_email


def _record_keys(messages: list[InboundMessage]) -> tuple[list[str], list[str]]:
    """The addresses and numbers triage will look customer records up by, as far as the
    message alone says (a contact's own e-mail address is looked up by itself)."""
    keys = [customer_keys(msg, None) for msg in messages]
    return sorted({e for e, _ in keys if e}), sorted({p for _, p in keys if p})


def _named(ids: set[tuple[str, str]]) -> list[ColumnElement[bool]]:
    """Messages by (channel, Message-ID)."""
    return _per_channel(ids, Message.channel, Message.internet_message_id)


def _per_channel(
    pairs: set[tuple[str, str]], channel: InstrumentedAttribute[str], value: InstrumentedAttribute[str | None]
) -> list[ColumnElement[bool]]:
    """(channel, value) pairs as one IN list per channel (a chunk is mostly one): a
    statement of the same shape whatever the values, not a pair of comparisons each."""
    grouped: dict[str, list[str]] = {}
    for name, one in sorted(pairs):
        grouped.setdefault(name, []).append(one)
    return [and_(channel == name, value.in_(listed)) for name, listed in grouped.items()]


def _free_refs(session: Session, count: int) -> list[str]:
    """Ticket references nobody holds, for the chunk's new tickets; `unused_ref` asks
    the store itself once they run out."""
    candidates = list(dict.fromkeys(new_ref() for _ in range(count)))
    taken = set(session.scalars(select(Ticket.ref).where(Ticket.ref.in_(candidates))))
    return [ref for ref in candidates if ref not in taken]
