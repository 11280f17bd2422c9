"""Which FAQ entries need a person's look: rated unhelpful again and again, or not
reviewed for too long. Pure: the counts in, the reasons out; `load_entry_stats` reads them.

Only answers given since the entry was last reviewed count: an edit (or "mark reviewed")
is a fresh start, so an entry fixed after complaints is not flagged for them forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from mailbot.store.faq_models import FaqEntry, FaqFeedback
from mailbot.timeutil import as_utc


@dataclass(frozen=True)
class EntryStats:
    entry: FaqEntry
    helpful: int  # since the last review
    unhelpful: int


def flags_for(stats: EntryStats, now: datetime, *, unhelpful_flag: int, review_days: int) -> list[str]:
    """Why the entry is flagged (empty: it is not). Unhelpful again and again: at least
    `unhelpful_flag` "no" answers, and more of them than "yes" ones."""
    reasons = []
    if unhelpful_flag > 0 and stats.unhelpful >= unhelpful_flag and stats.unhelpful > stats.helpful:
        reasons.append(
            f"rated unhelpful {stats.unhelpful} times (helpful {stats.helpful}) since its last review"
        )
    age = now - as_utc(stats.entry.reviewed_at)
    if review_days > 0 and age >= timedelta(days=review_days):
        reasons.append(f"not reviewed for {age.days} days (limit {review_days})")
    return reasons


def load_entry_stats(session: Session, language: str | None = None) -> list[EntryStats]:
    since_review = and_(FaqFeedback.entry_id == FaqEntry.id, FaqFeedback.answered_at >= FaqEntry.reviewed_at)
    helpful = func.coalesce(func.sum(case((FaqFeedback.helpful.is_(True), 1), else_=0)), 0)
    unhelpful = func.coalesce(func.sum(case((FaqFeedback.helpful.is_(False), 1), else_=0)), 0)
    query = (
        select(FaqEntry, helpful, unhelpful)
        .outerjoin(FaqFeedback, since_review)
        .group_by(FaqEntry.id)
        .order_by(FaqEntry.language, FaqEntry.id)
    )
    if language:
        query = query.where(FaqEntry.language == language)
    return [EntryStats(entry, int(yes), int(no)) for entry, yes, no in session.execute(query)]
