"""The self-service step of the pipeline, and what an acknowledgement shows of it.

`suggest_for_ticket` ranks the entries of the ticket's language against the message
(ranking.py, pure) and records the ids on the ticket (`suggested_faq`); the
acknowledgement then lists those entries with their signed "was this helpful?" links
(`faq_for_ack`), and says how to reach a person (`support_phone`).

The BM25 index of a language is built once and kept while that language's entries stay
the same (their count and newest change), so filing a message costs a query, not a rebuild.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.faq.links import absolute, feedback_path
from mailbot.faq.ranking import FaqIndex, FaqText, suggest
from mailbot.message import InboundMessage
from mailbot.store.faq_models import FaqEntry, SupportPhone
from mailbot.store.models import Ticket
from mailbot.store.read_once import read_once

# An answer longer than this is cut in the acknowledgement: the link has the rest.
ACK_ANSWER_CHARS = 400

# (database, language) -> (what the entries were when indexed, the index)
_indexes: dict[tuple[str, str], tuple[tuple[int, datetime | None], FaqIndex]] = {}


@read_once
def faq_index(session: Session, language: str) -> FaqIndex | None:
    version = faq_versions(session).get(language)
    if version is None:
        return None
    bind = session.get_bind()
    where = (str(bind.engine.url), language)
    cached = _indexes.get(where)
    if cached is not None and cached[0] == version:
        return cached[1]
    entries = session.scalars(select(FaqEntry).where(FaqEntry.language == language).order_by(FaqEntry.id))
    index = FaqIndex(language, [FaqText(e.id, e.question, e.answer) for e in entries])
    _indexes[where] = (version, index)
    return index


@read_once
def faq_versions(session: Session) -> dict[str, tuple[int, datetime | None]]:
    """Per language with entries: how many, and the latest change (an index built for
    other figures is stale). One statement for every language."""
    rows = session.execute(
        select(FaqEntry.language, func.count(), func.max(FaqEntry.updated_at)).group_by(FaqEntry.language)
    )
    return {language: (int(count), newest) for language, count, newest in rows if count}


def suggest_for_ticket(session: Session, ticket: Ticket, msg: InboundMessage, min_score: float) -> list[str]:
    """Rank and record the entries for a new ticket (after triage: its intent decides)."""
    found = suggest(
        faq_index(session, ticket.language), msg.subject, msg.text, intent=ticket.intent, min_score=min_score
    )
    ticket.suggested_faq = [s.id for s in found]
    return ticket.suggested_faq


def support_phone(session: Session, language: str) -> str:
    return support_phones(session).get(language) or ""


@read_once
def support_phones(session: Session) -> dict[str, str]:
    """The support phone number per language: one small table, read whole."""
    rows = session.execute(select(SupportPhone.language, SupportPhone.phone))
    return {language: phone for language, phone in rows}


def faq_for_ack(
    session: Session, ticket: Ticket, *, secret_key: str, public_url: str
) -> list[dict[str, Any]]:
    """The suggested entries as the templates show them, in the order they ranked."""
    ids = list(ticket.suggested_faq or [])
    if not ids:
        return []
    entries = {e.id: e for e in session.scalars(select(FaqEntry).where(FaqEntry.id.in_(ids)))}
    shown = []
    for entry_id in ids:
        entry = entries.get(entry_id)
        if entry is None:  # deleted since the ticket was filed
            continue
        answer = " ".join(entry.answer.split())
        if len(answer) > ACK_ANSWER_CHARS:
            answer = answer[: ACK_ANSWER_CHARS - 1].rsplit(" ", 1)[0] + "…"
        shown.append(
            {
                "id": entry.id,
                "question": " ".join(entry.question.split()),
                "answer": answer,
                "url": entry.url or "",
                "yes_url": absolute(public_url, feedback_path(secret_key, ticket.ref, entry.id, "yes")),
                "no_url": absolute(public_url, feedback_path(secret_key, ticket.ref, entry.id, "no")),
            }
        )
    return shown
