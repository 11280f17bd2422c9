"""What customers answer through the signed links: "was this helpful?" per entry, and
the satisfaction score of a solved ticket. Both are idempotent: the same click twice
stores one answer, a different click replaces it (the customer changed their mind)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailbot.store.faq_models import FaqEntry, FaqFeedback
from mailbot.store.models import Ticket


class UnknownLink(LookupError):
    """The ticket or the entry a correctly signed link names is no longer stored."""


def ticket_of(session: Session, ref: str) -> Ticket:
    ticket = session.scalar(select(Ticket).where(Ticket.ref == ref.upper()))
    if ticket is None:
        raise UnknownLink(f"no ticket {ref}")
    return ticket


def record_faq_answer(session: Session, ref: str, entry_id: str, helpful: bool, now: datetime) -> Ticket:
    ticket = ticket_of(session, ref)
    if session.get(FaqEntry, entry_id) is None:
        raise UnknownLink(f"no FAQ entry {entry_id}")
    for _ in range(2):  # a double click racing itself: the loser updates the winner's row
        row = session.scalar(
            select(FaqFeedback).where(FaqFeedback.ticket_id == ticket.id, FaqFeedback.entry_id == entry_id)
        )
        if row is not None:
            row.helpful, row.answered_at = helpful, now
            break
        try:
            with session.begin_nested():
                session.add(
                    FaqFeedback(ticket_id=ticket.id, entry_id=entry_id, helpful=helpful, answered_at=now)
                )
            break
        except IntegrityError:
            continue
    session.flush()
    return ticket


def record_satisfaction(session: Session, ref: str, score: int, now: datetime) -> Ticket:
    ticket = ticket_of(session, ref)
    ticket.satisfaction_score = score
    ticket.satisfaction_at = now
    session.flush()
    return ticket
