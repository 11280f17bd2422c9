"""Acknowledge: decide whether a message earns an acknowledgement, and write it to the outbox.

The outbox row's unique key `ack:<ref>` is what makes 'exactly once' hold: a retried
job or a second worker inserting the same key fails instead of sending again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy.orm import Session

from mailbot.ack_templates import choose_language_from_store, render_ack_from_store
from mailbot.faq.suggestions import faq_for_ack, support_phone
from mailbot.message import InboundMessage
from mailbot.pipeline.refs import ack_message_id, reply_address
from mailbot.pipeline.subjects import normalize_subject
from mailbot.store.models import OutboxEntry, Ticket


@dataclass(frozen=True)
class AckDecision:
    send: bool
    reason: str


def decide_ack(
    *,
    kind: str,
    new_ticket: bool,
    may_acknowledge: bool,
    hold_reason: str | None,
    cap_reason: str | None,
) -> AckDecision:
    if kind != "customer":
        return AckDecision(False, f"not a person's message ({kind})")
    if not new_ticket:
        return AckDecision(False, "continues an open ticket")
    if not may_acknowledge:
        return AckDecision(False, "history: arrived before the mailbox's cut-off")
    if hold_reason:
        return AckDecision(False, hold_reason)
    if cap_reason:
        return AckDecision(False, f"rate cap: {cap_reason}")
    return AckDecision(True, "new ticket from a person")


def build_ack(
    session: Session,
    ticket: Ticket,
    msg: InboundMessage,
    *,
    support_address: str,
    secret_key: str,
    default_language: str,
    response_hours: int,
    joined: bool = False,
    public_url: str = "",
) -> OutboxEntry:
    """`joined`: the mail joined a ticket the customer opened on another channel
    (crosschannel.py); the acknowledgement names that ticket and asks for nothing again,
    once per sender, under its own key and Message-ID (the ticket's `ack:<ref>` is the
    first channel's). A new ticket's acknowledgement lists the FAQ entries suggested for
    it, each with signed "was this helpful?" links under `public_url`; every one says how
    to reach a person (reply, and the language's phone number when one is set)."""
    # Templates edited in the panel take precedence over the files under templates/ack/.
    language = choose_language_from_store(session, ticket.language, default_language)
    subject, body = render_ack_from_store(
        session,
        language,
        {
            "ref": ticket.ref,
            "name": (msg.sender_name or "").split(" ")[0],
            "subject": ticket.subject or "",
            "response_hours": response_hours,
            "existing": joined,
            # The first channel's acknowledgement carried them already.
            "faq": []
            if joined
            else faq_for_ack(session, ticket, secret_key=secret_key, public_url=public_url),
            "phone": support_phone(session, language),
        },
    )
    key = join_ack_key(ticket.ref, msg) if joined else f"ack:{ticket.ref}"
    references = [*msg.references, *([msg.message_id] if msg.message_id else [])]
    return OutboxEntry(
        key=key,
        kind="ack",
        channel=msg.channel,
        ticket_id=ticket.id,
        mailbox_id=ticket.mailbox_id,
        to_address=msg.sender_address,
        from_address=support_address,
        reply_to=reply_address(secret_key, support_address, ticket.ref),
        subject=subject,
        body=body,
        internet_message_id=ack_message_id(
            secret_key, f"{ticket.ref}.{_short_digest(key)}" if joined else ticket.ref, support_address
        ),
        in_reply_to=msg.message_id,
        references=" ".join(f"<{r}>" for r in references[-10:]),
        normalized_subject=normalize_subject(ticket.subject),
    )


def join_ack_key(ticket_ref: str, msg: InboundMessage) -> str:
    """One answer per ticket and per place the customer joined it from (a conversation,
    or a sender on a channel without conversations)."""
    where = msg.conversation_key or f"{msg.channel}:{msg.sender_handle}"
    return f"join:{ticket_ref}:{_short_digest(where)}"


def _short_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
