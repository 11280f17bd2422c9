"""Thread a chat message by its conversation: the platform already says where it belongs.

A Slack thread, a Telegram chat, a WhatsApp number writing to ours: messages of one
conversation join its open ticket. A conversation outlives its tickets (a Telegram
chat is forever), so a closed ticket's conversation opens a new ticket. A public post
(an X mention) that starts no conversation of ours joins the customer's most recent
open ticket, so the public reply can name the case they already have.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.message import InboundMessage
from mailbot.pipeline.thread import ThreadMatch
from mailbot.store.models import Contact, Message, Ticket


def find_conversation(session: Session, msg: InboundMessage, contact: Contact | None) -> ThreadMatch | None:
    if msg.channel == "email" or not msg.conversation_key:
        return None
    ticket = session.scalar(
        select(Ticket)
        .join(Message, Message.ticket_id == Ticket.id)
        .where(
            Message.channel == msg.channel,
            Message.conversation_key == msg.conversation_key,
            Ticket.status != "closed",
        )
        .order_by(Ticket.id.desc())
        .limit(1)
    )
    if ticket is not None:
        return ThreadMatch(ticket, "same conversation")
    if msg.public and contact is not None:
        ticket = session.scalar(
            select(Ticket)
            .where(Ticket.contact_id == contact.id, Ticket.status != "closed")
            .order_by(Ticket.updated_at.desc(), Ticket.id.desc())
            .limit(1)
        )
        if ticket is not None:
            return ThreadMatch(ticket, "the customer's open ticket")
    return None
