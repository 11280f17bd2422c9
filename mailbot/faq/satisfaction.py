"""The one-question satisfaction survey sent when a ticket is solved.

One outbox row per ticket, ever (`satisfaction:<ref>`): solving a ticket again after the
customer reopened it asks nothing twice. It goes where an agent's reply would (the
customer's last channel, agent_reply.find_reply_target), in the ticket's language, with
one signed link per score (links.py); the answer lands on the ticket as
`satisfaction_score`, which the context of the customer's next ticket shows
(`last_satisfaction`).
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.ack_templates import choose_language_from_store, render_satisfaction_from_store
from mailbot.config import Settings
from mailbot.faq.links import SCORES, absolute, satisfaction_path
from mailbot.pipeline.agent_reply import ReplyRefused, build_agent_reply, find_reply_target
from mailbot.store.models import Contact, OutboxEntry, Ticket

log = logging.getLogger("mailbot.satisfaction")

KIND = "satisfaction"


def satisfaction_key(ref: str) -> str:
    return f"satisfaction:{ref}"


def build_satisfaction_request(session: Session, ticket: Ticket, settings: Settings) -> OutboxEntry | None:
    """The survey's outbox row (added to the session), or None when it was asked before or
    there is no way to reach the customer (the reason is logged; the ticket is solved all
    the same)."""
    key = satisfaction_key(ticket.ref)
    if session.scalar(select(OutboxEntry.id).where(OutboxEntry.key == key)) is not None:
        return None
    try:
        target = find_reply_target(session, ticket, settings)
    except ReplyRefused as error:
        log.info("%s solved: no satisfaction question (%s)", ticket.ref, error)
        return None
    language = choose_language_from_store(session, ticket.language, settings.default_language)
    contact = session.get(Contact, ticket.contact_id)
    choices = [
        {
            "score": score,
            "url": absolute(settings.public_url, satisfaction_path(settings.secret_key, ticket.ref, score)),
        }
        for score in reversed(SCORES)
    ]
    text = render_satisfaction_from_store(
        session,
        language,
        {
            "ref": ticket.ref,
            "name": ((contact.name if contact else "") or "").lstrip("@").split(" ")[0],
            "subject": ticket.subject or "",
            "choices": choices,
        },
        one_paragraph=target.channel != "email",
    )
    entry = build_agent_reply(ticket, 0, text, target, secret_key=settings.secret_key, key=key)
    entry.kind = KIND
    session.add(entry)
    session.flush()
    return entry
