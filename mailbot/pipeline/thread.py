"""Thread: which open ticket a message continues, from several independent signals.

One signal is never enough: Outlook breaks In-Reply-To chains and people edit subjects
(peers.md, complaint 3), so the header chain, the signed reply address, the reference in
the subject, the reference quoted in the body and the sender's open ticket with the same
subject are tried in that order, most trustworthy first.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.message import InboundMessage
from mailbot.pipeline.normalize import domain_of
from mailbot.pipeline.refs import ref_from_reply_address
from mailbot.pipeline.subjects import find_ticket_refs, normalize_subject
from mailbot.store.models import Contact, Message, OutboxEntry, Ticket


@dataclass(frozen=True)
class ThreadMatch:
    ticket: Ticket
    reason: str


def find_thread(
    session: Session, msg: InboundMessage, contact: Contact | None, secret_key: str
) -> ThreadMatch | None:
    return (
        _by_header_chain(session, msg)
        or _by_reply_address(session, msg, secret_key)
        or _by_reference(session, find_ticket_refs(msg.subject), contact, "subject reference")
        or _by_reference(
            session, find_ticket_refs(msg.text + "\n" + msg.quoted_text), contact, "body reference"
        )
        or _by_open_subject(session, msg, contact)
    )


def _by_header_chain(session: Session, msg: InboundMessage) -> ThreadMatch | None:
    ids = [i for i in [*msg.in_reply_to, *reversed(msg.references)] if i]
    if not ids:
        return None
    ticket_id = session.scalar(
        select(Message.ticket_id).where(Message.internet_message_id.in_(ids)).limit(1)
    ) or session.scalar(
        select(OutboxEntry.ticket_id)
        .where(OutboxEntry.internet_message_id.in_(ids), OutboxEntry.ticket_id.is_not(None))
        .limit(1)
    )
    ticket = session.get(Ticket, ticket_id) if ticket_id else None
    return ThreadMatch(ticket, "In-Reply-To/References") if ticket else None


def _by_reply_address(session: Session, msg: InboundMessage, secret_key: str) -> ThreadMatch | None:
    for address in msg.recipients:
        ref = ref_from_reply_address(secret_key, address)
        ticket = session.scalar(select(Ticket).where(Ticket.ref == ref)) if ref else None
        if ticket is not None:
            return ThreadMatch(ticket, "signed reply address")
    return None


def _by_reference(
    session: Session, refs: list[str], contact: Contact | None, reason: str
) -> ThreadMatch | None:
    """A bare reference is unsigned: only the ticket's own contact (or a colleague at the
    same company domain) may join it, so a stranger cannot write into someone's ticket."""
    if not refs or contact is None:
        return None
    for ticket in session.scalars(select(Ticket).where(Ticket.ref.in_(refs))):
        if _same_party(ticket.contact, contact):
            return ThreadMatch(ticket, reason)
    return None


def _same_party(owner: Contact, sender: Contact) -> bool:
    if owner.id == sender.id:
        return True
    if owner.email and sender.email:
        domain = domain_of(owner.email)
        return domain == domain_of(sender.email) and domain not in FREEMAIL_DOMAINS
    return False


def _by_open_subject(session: Session, msg: InboundMessage, contact: Contact | None) -> ThreadMatch | None:
    subject = normalize_subject(msg.subject)
    if contact is None or not subject:
        return None
    ticket = session.scalar(
        select(Ticket)
        .where(
            Ticket.contact_id == contact.id,
            Ticket.normalized_subject == subject,
            Ticket.status != "closed",
        )
        .order_by(Ticket.id.desc())
        .limit(1)
    )
    return ThreadMatch(ticket, "same sender and subject, ticket open") if ticket else None


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
