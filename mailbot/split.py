"""Split: an agent takes a message out of its ticket into a new ticket of its own.

For a join the pipeline got wrong (a cross-channel message about another matter, a reply
that started a new subject). The new ticket belongs to the same contact and starts where
the message left off; nothing is sent: the customer was already acknowledged, and a
second acknowledgement for one message would break the one-promise rule.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.pipeline.process import unused_ref
from mailbot.pipeline.subjects import normalize_subject
from mailbot.store.models import Message, Ticket
from mailbot.timeutil import utcnow
from mailbot.web.audit import record


class SplitError(ValueError):
    """An unknown ticket or message, or a split that would leave a ticket empty."""


def plain_message_id(message_id: str) -> str:
    """The id as `messages[].message_id` lists it: angle brackets are optional."""
    return message_id.strip().removeprefix("<").removesuffix(">").strip()


def split_message(session: Session, ref: str, message_id: str, actor: str | None = None) -> Ticket:
    ticket = session.scalar(select(Ticket).where(Ticket.ref == ref.strip().upper()))
    if ticket is None:
        raise SplitError(f"there is no ticket {ref.strip()}")
    wanted = plain_message_id(message_id)
    message = (
        session.scalar(
            select(Message).where(Message.ticket_id == ticket.id, Message.internet_message_id == wanted)
        )
        if wanted
        else None
    )
    if message is None:
        raise SplitError(f"ticket {ticket.ref} has no message {wanted}" if wanted else "no message id given")
    others = session.scalar(
        select(Message.id).where(Message.ticket_id == ticket.id, Message.id != message.id).limit(1)
    )
    if others is None:
        raise SplitError(f"{wanted} is the only message of {ticket.ref}: there is nothing to split it from")
    now = utcnow()
    subject = message.subject or ticket.subject
    new = Ticket(
        ref=unused_ref(session),
        subject=subject,
        normalized_subject=normalize_subject(subject),
        channel=message.channel,
        contact_id=ticket.contact_id,
        mailbox_id=ticket.mailbox_id,
        support_address=ticket.support_address,
        language=ticket.language,
        priority=ticket.priority,
        urgency_cues=ticket.urgency_cues,
        created_at=now,
        updated_at=now,
        # The customer was answered when the message came in: this ticket is not waiting
        # for an acknowledgement, and none is queued.
        acknowledged_at=ticket.acknowledged_at,
        first_response_due_at=ticket.first_response_due_at,
    )
    session.add(new)
    session.flush()
    before = {"ticket": ticket.ref, "message_id": wanted, "thread_reason": message.thread_reason}
    message.ticket_id = new.id
    message.thread_reason = f"split out of {ticket.ref} by {actor or 'an agent'}"
    message.thread_confidence = 1.0
    ticket.updated_at = now
    session.flush()
    record(
        session,
        "ticket.split",
        f"ticket:{ticket.ref}",
        before,
        {"ticket": new.ref, "message_id": wanted},
        actor=actor,
    )
    return new
