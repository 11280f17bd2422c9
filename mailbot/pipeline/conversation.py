"""Thread a chat message by its conversation: the platform already says where it belongs.

A Slack thread, a Telegram chat, a WhatsApp number writing to ours: messages of one
conversation join its open ticket. A conversation outlives its tickets (a Telegram
chat is forever), so a closed ticket's conversation opens a new ticket. A public post
(an X mention) that starts no conversation of ours joins the customer's most recent
open ticket, so the public reply can name the case they already have.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from mailbot.message import InboundMessage
from mailbot.pipeline.identify import KnownContact
from mailbot.pipeline.thread import ThreadMatch, ticket_candidate, ticket_candidate_columns
from mailbot.statuses import TicketStatus
from mailbot.store.models import Contact, Message, Ticket


def find_conversation(
    session: Session, msg: InboundMessage, contact: KnownContact | None
) -> ThreadMatch | None:
    if msg.channel == "email" or not msg.conversation_key:
        return None
    row = session.execute(
        ticket_candidate_columns()
        .select_from(Ticket)
        .join(Contact, Contact.id == Ticket.contact_id)
        .join(Message, Message.ticket_id == Ticket.id)
        .where(
            Message.channel == msg.channel,
            Message.conversation_key == msg.conversation_key,
            Ticket.status != TicketStatus.CLOSED,
        )
        .order_by(Ticket.id.desc())
        .limit(1)
    ).first()
    if row is not None:
        return ThreadMatch(ticket_candidate(row), "same conversation")
    if msg.public and contact is not None:
        row = session.execute(
            ticket_candidate_columns()
            .select_from(Ticket)
            .join(Contact, Contact.id == Ticket.contact_id)
            .where(Ticket.contact_id == contact.id, Ticket.status != TicketStatus.CLOSED)
            .order_by(Ticket.updated_at.desc(), Ticket.id.desc())
            .limit(1)
        ).first()
        if row is not None:
            return ThreadMatch(ticket_candidate(row), "the customer's open ticket")
    return None
