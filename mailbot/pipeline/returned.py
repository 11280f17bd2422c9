"""Which of our messages a bounce or a complaint report carries back, and its ticket.

The copy (InboundMessage.enclosed, or the Message-ID a delivery report names) is matched
by its Message-ID, which for acknowledgements is signed (refs.ack_message_id), else by
the signed reply address it was sent with. Its X-Mailbot-Outbox key says the copy is
ours (classify reads it) but is not signed, so it never picks a ticket: a stranger who
writes the key of someone's ticket into a fake bounce must not reach that ticket.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.message import InboundMessage
from mailbot.pipeline.chunk_reads import reads_of
from mailbot.pipeline.refs import ref_from_reply_address
from mailbot.store.models import OutboxEntry, Ticket


def _returned_ids(msg: InboundMessage) -> list[str]:
    enclosed_id = msg.enclosed.message_id if msg.enclosed else None
    return list(dict.fromkeys(i for i in (msg.bounced_message_id, enclosed_id) if i))


def named_ids(msg: InboundMessage) -> list[str]:
    """The Message-IDs a message names: its own, its copy's."""
    return list(dict.fromkeys(i for i in (msg.message_id, *_returned_ids(msg)) if i))


def own_message_ids(session: Session, msg: InboundMessage) -> set[str]:
    """The Message-IDs this message names that we generated: what classify needs to
    know and, being pure, cannot look up. A chunk reads them for all its messages at
    once; an id of ours generated within the chunk has not left it yet, so no message of
    the chunk can name it."""
    named = named_ids(msg)
    if not named:
        return set()
    chunk = reads_of(session)
    if chunk is not None:
        return chunk.own_ids.intersection(named)
    query = select(OutboxEntry.internet_message_id).where(OutboxEntry.internet_message_id.in_(named))
    return {found for found in session.scalars(query) if found}


def returned_entry(session: Session, msg: InboundMessage) -> OutboxEntry | None:
    """Our outbox row that the message carries back, by the copy's Message-ID."""
    ids = _returned_ids(msg)
    if not ids:
        return None
    query = select(OutboxEntry).where(OutboxEntry.internet_message_id.in_(ids)).order_by(OutboxEntry.id)
    return session.scalar(query.limit(1))


def ticket_of_returned(
    session: Session, msg: InboundMessage, secret_key: str, entry: OutboxEntry | None = None
) -> Ticket | None:
    """The ticket of the returned message: its outbox row's, else its signed reply address's."""
    entry = entry or returned_entry(session, msg)
    if entry is not None and entry.ticket_id:
        return session.get(Ticket, entry.ticket_id)
    for address in msg.enclosed.reply_to if msg.enclosed else ():
        ref = ref_from_reply_address(secret_key, address)
        ticket = session.scalar(select(Ticket).where(Ticket.ref == ref)) if ref else None
        if ticket is not None:
            return ticket
    return None
