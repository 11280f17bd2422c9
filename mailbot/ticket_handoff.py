"""Escalation by hand: an agent hands a ticket to a specialist queue or person, with a note.

The ticket's queue and assignee change, the note is stored as an internal message (it
never reaches the customer), and the customer is told, in their language and on the
channel they wrote on last, that their case is with a specialist: one outbox row per
hand-off under the unique key `handoff:<hand-off id>`, written in the same transaction,
so a retried job or a second worker cannot tell them twice. The panel, the API and
`mailbot tickets handoff` all come through `hand_off`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.config import Settings
from mailbot.pipeline.agent_reply import ReplyRefused, build_agent_reply, find_reply_target
from mailbot.pipeline.notify import build_notifications
from mailbot.pipeline.whatsapp_window import as_template, decide_for
from mailbot.statuses import TicketStatus
from mailbot.store.models import Message, OutboxEntry, Ticket, TicketHandoff
from mailbot.store.panel_models import User
from mailbot.ticket_changes import Author

HANDOFF = "handoff"  # the outbox kind
_QUEUE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
MAX_NOTE = 10_000
# What the customer is told. No queue or person is named: those are our inside.
CUSTOMER_NOTICE = {
    "en": "Hello,\n\nyour request {ref} is now with a specialist, who will get back to you. "
    "There is no need to write again: a reply to this message goes to the same case.",
    "es": "Hola:\n\nsu solicitud {ref} está ahora en manos de un especialista, que le responderá. "
    "No hace falta que vuelva a escribir: si responde a este mensaje, se añade al mismo caso.",
    "it": "Buongiorno,\n\nla sua richiesta {ref} è ora affidata a uno specialista, che le risponderà. "
    "Non serve scrivere di nuovo: una risposta a questo messaggio si aggiunge alla stessa pratica.",
    "pt": "Olá,\n\no seu pedido {ref} está agora com um especialista, que lhe responderá. "
    "Não precisa de escrever de novo: uma resposta a esta mensagem fica no mesmo processo.",
    "fr": "Bonjour,\n\nvotre demande {ref} est désormais entre les mains d'un spécialiste, qui vous "
    "répondra. Inutile d'écrire à nouveau : une réponse à ce message rejoint le même dossier.",
    "de": "Guten Tag,\n\nIhre Anfrage {ref} wird jetzt von einem Spezialisten bearbeitet, der sich bei "
    "Ihnen meldet. Sie müssen nicht erneut schreiben: Eine Antwort auf diese Nachricht gehört zum "
    "selben Fall.",
}


class HandoffRefused(Exception):
    """The hand-off cannot be made as asked; the message says why (nothing was stored)."""


@dataclass(frozen=True)
class HandoffRequest:
    queue: str | None  # None: the ticket stays in its queue
    assignee: str | None  # None: nobody in particular (the queue's team)
    note: str


@dataclass(frozen=True)
class HandoffOutcome:
    handoff: TicketHandoff
    notice: OutboxEntry | None  # None when the customer cannot be reached (`not_told` says why)
    not_told: str | None = None
    # The hand-off note delivered to the new queue's targets (pipeline/notify.py).
    notifications: tuple[OutboxEntry, ...] = ()

    @property
    def outbox_ids(self) -> list[int]:
        """What the caller enqueues once committed: the customer's notice first."""
        return [e.id for e in (self.notice, *self.notifications) if e is not None]


def customer_notice(language: str, ref: str, default_language: str) -> str:
    text = CUSTOMER_NOTICE.get(language) or CUSTOMER_NOTICE.get(default_language) or CUSTOMER_NOTICE["en"]
    return text.format(ref=ref)


def handoff_key(handoff_id: int) -> str:
    return f"{HANDOFF}:{handoff_id}"


def check_request(ticket: Ticket, request: HandoffRequest, agents: frozenset[str]) -> str | None:
    """Why this hand-off may not be made, or None. Pure: `agents` are the known users."""
    if ticket.status == TicketStatus.CLOSED:
        return "the ticket is closed: it opens again when the customer writes"
    if request.queue is None and request.assignee is None:
        return "name the specialist queue, the person, or both"
    if request.queue is not None and not _QUEUE.match(request.queue):
        return f"queue {request.queue!r}: lower-case letters, digits, '-' and '_'"
    if request.assignee is not None and request.assignee not in agents:
        return f"{request.assignee} is not an agent (mailbot admin create EMAIL --role agent)"
    if len(request.note) > MAX_NOTE or "\x00" in request.note:
        return f"the note is over {MAX_NOTE:,} characters or not text"
    queue, assignee = new_holder(ticket, request)
    if queue == ticket.queue and assignee == ticket.assignee:
        return f"the ticket is already with {describe_holder(queue, assignee)}"
    return None


def new_holder(ticket: Ticket, request: HandoffRequest) -> tuple[str, str | None]:
    """Who has the ticket after the hand-off: (queue, assignee)."""
    if request.queue is not None and request.assignee is None:
        return request.queue, None  # a new queue without a person: whoever of that team takes it
    return request.queue or ticket.queue, request.assignee


def describe_holder(queue: str, assignee: str | None) -> str:
    return f"{assignee} ({queue})" if assignee else f"the {queue} queue"


def hand_off(
    session: Session,
    ticket: Ticket,
    request: HandoffRequest,
    *,
    author: Author,
    settings: Settings,
    now: datetime,
) -> HandoffOutcome:
    """Hand the ticket over in the caller's transaction; the caller commits, then
    enqueues the notice's delivery. Raises HandoffRefused."""
    assignee = request.assignee.strip().lower() if request.assignee else None
    request = HandoffRequest(queue=request.queue, assignee=assignee, note=request.note.strip())
    agents = frozenset(session.scalars(select(func.lower(User.email))))
    refused = check_request(ticket, request, agents)
    if refused:
        raise HandoffRefused(refused)
    to_queue, to_assignee = new_holder(ticket, request)
    handoff = TicketHandoff(
        ticket_id=ticket.id,
        from_queue=ticket.queue,
        to_queue=to_queue,
        from_assignee=ticket.assignee,
        to_assignee=to_assignee,
        note=request.note,
        handed_by=author.value,
        created_at=now,
    )
    session.add(handoff)
    ticket.queue = handoff.to_queue
    ticket.assignee = handoff.to_assignee
    ticket.updated_at = now
    note = f"Handed to {describe_holder(handoff.to_queue, handoff.to_assignee)}" + (
        f": {request.note}" if request.note else "."
    )
    note_message = Message(
        ticket_id=ticket.id,
        channel=ticket.channel,
        kind="note",
        reason="hand-off to a specialist",
        sender_type=author.type,
        from_address=author.value,
        from_name=author.name or author.value,
        text=note,
        content_hash=hashlib.sha256(note.encode()).hexdigest(),
        received_at=now,
    )
    session.add(note_message)
    session.flush()
    notifications: tuple[OutboxEntry, ...] = ()
    if handoff.to_queue != handoff.from_queue:
        # The specialists' queue hears of the ticket as of a new message: the note with the
        # context block, once per target (notify:<target id>:<note id>), answerable as any.
        notifications = tuple(
            build_notifications(session, ticket, note_message, secret_key=settings.secret_key)
        )
        session.add_all(notifications)
        session.flush()
    try:
        target = find_reply_target(session, ticket, settings)
    except ReplyRefused as error:
        return HandoffOutcome(handoff, None, not_told=str(error), notifications=notifications)
    window = None
    if target.channel == "whatsapp":
        window = decide_for(session, target.channel_id, target.to_address, now, settings.secret_key)
        if window.way == "held":
            return HandoffOutcome(handoff, None, not_told=window.reason, notifications=notifications)
    text = customer_notice(ticket.language, ticket.ref, settings.default_language)
    notice = build_agent_reply(
        ticket, handoff.id, text, target, secret_key=settings.secret_key, key=handoff_key(handoff.id)
    )
    notice.kind = HANDOFF
    if window is not None and window.way == "template":
        as_template(notice, window)
    session.add(notice)
    session.flush()
    return HandoffOutcome(handoff, notice, notifications=notifications)


def handoffs_of(session: Session, ticket_id: int) -> list[TicketHandoff]:
    return list(
        session.scalars(
            select(TicketHandoff).where(TicketHandoff.ticket_id == ticket_id).order_by(TicketHandoff.id)
        )
    )
