"""Tables of self-service: FAQ entries per language, the customers' "was this helpful?"
answers, and the phone number each language's acknowledgements give for reaching a person."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mailbot.store.models import Base, Timestamp
from mailbot.timeutil import utcnow


class FaqEntry(Base):
    """One question and its answer, in one language. `id` is the importer's own id: the
    same id imported again updates the entry (`mailbot faq import`)."""

    __tablename__ = "faq_entries"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), index=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    # Set by an import or an edit, and by "mark reviewed" in the panel: an entry nobody
    # has looked at for too long is flagged (faq/flags.py).
    reviewed_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class FaqFeedback(Base):
    """A customer's answer to "was this helpful?" for one entry suggested on one ticket.
    One row per ticket and entry: a second click changes the answer, never counts twice."""

    __tablename__ = "faq_feedback"
    __table_args__ = (UniqueConstraint("ticket_id", "entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    entry_id: Mapped[str] = mapped_column(ForeignKey("faq_entries.id", ondelete="CASCADE"), index=True)
    helpful: Mapped[bool] = mapped_column(Boolean)
    answered_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class SupportPhone(Base):
    """The phone number acknowledgements in `language` give for reaching a person."""

    __tablename__ = "support_phones"

    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    phone: Mapped[str] = mapped_column(String(50))
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


__all__ = ["FaqEntry", "FaqFeedback", "SupportPhone"]
