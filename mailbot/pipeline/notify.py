"""Tell agents about a customer's message: one outbox row per delivery target.

Same promise as the acknowledgement: the unique key `notify:<target id>:<message id>`
makes each target get each message exactly once, however often the job runs. The rows
are their own outbox entries, delivered by their own job (jobs.py), so a slow or failing
target never holds back the customer's acknowledgement.

- e-mail: through the SMTP server of the ticket's mailbox (the first mailbox for a chat
  ticket), from the support address, marked automatic (RFC 3834 Auto-Submitted:
  auto-generated, senders/smtp.py) and with X-Mailbot-Notification, so a copy that lands
  in a support mailbox is our own echo (classify.own_notification), never a ticket. Its
  Reply-To is the ticket's signed agent-reply address (refs.agent_reply_address): the
  agent's answer comes back and is relayed to the customer (pipeline/agent_mail.py).
- slack: a post in the target's Slack channel through the configured Slack channel's
  bot token; a reply in its thread is relayed the same way.
- webhook: one signed POST per message, `{"event": "message.created", "ticket": ...,
  "message": ...}` (senders/webhook.py signs it as the generic channel signs).
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.delivery_targets import targets_of
from mailbot.pipeline.agent_context import context_lines, load_context
from mailbot.pipeline.agent_reply import reply_message_id
from mailbot.pipeline.chat_ack import chat_message_id
from mailbot.pipeline.refs import agent_reply_address
from mailbot.pipeline.subjects import normalize_subject
from mailbot.store.id_pool import assign_id
from mailbot.store.models import DeliveryTarget, Mailbox, Message, OutboxEntry, Ticket
from mailbot.ticket_json import message_json, ticket_json
from mailbot.timeutil import as_utc

NOTIFICATION = "notification"
WEBHOOK_EVENT = "message.created"
FROM_NAME = "mailbot"
SUBJECT_WORDS = 10


def notify_key(target_id: int, message_id: int) -> str:
    return f"notify:{target_id}:{message_id}"


def notification_subject(ticket: Ticket, message: Message) -> str:
    """`[#MB-7K3Q9P] <subject>`; a chat message has none, so its first words stand in."""
    subject = ticket.subject or " ".join(message.text.split()[:SUBJECT_WORDS])
    return f"[#{ticket.ref}] {subject}".rstrip()


def message_heading(message: Message) -> str:
    who = message.from_name or message.from_address
    if message.from_name and message.from_address and message.from_address not in message.from_name:
        who = f"{message.from_name} ({message.from_address})"
    return f"{who} wrote on {message.channel}, {as_utc(message.received_at).strftime('%Y-%m-%d %H:%M UTC')}:"


def notification_text(ticket: Ticket, message: Message, context: list[str], *, by_mail: bool) -> str:
    """The customer's message, then the context block (the same lines on every target)."""
    how = (
        "Reply to this mail to answer the customer"
        if by_mail
        else "Reply in this thread to answer the customer"
    )
    parts = [
        message_heading(message),
        "",
        message.text.strip() or "(no text)",
        "",
        # RFC 3676 section 4.3's signature delimiter: the agent's client and our own
        # quote reader (mail/quotes.py) set the block apart from what the agent writes.
        "-- ",
        *context,
        "",
        f"{how} (they see your words, not this block). Internal notes go in the panel.",
    ]
    return "\n".join(parts) + "\n"


def _support_mailbox(session: Session, ticket: Ticket) -> Mailbox | None:
    if ticket.mailbox_id is not None:
        found = session.get(Mailbox, ticket.mailbox_id)
        if found is not None:
            return found
    return session.scalar(select(Mailbox).order_by(Mailbox.id).limit(1))


def build_notifications(
    session: Session, ticket: Ticket, message: Message, *, secret_key: str
) -> list[OutboxEntry]:
    """The rows that deliver `message` to every target of the ticket's queue (unsaved)."""
    targets = targets_of(session, ticket.queue)
    if not targets:
        return []
    assign_id(session, message)  # the message's id names each notification (notify_key)
    context = context_lines(load_context(session, ticket))
    entries = []
    for target in targets:
        if target.kind == "email":
            entries.append(_mail_entry(session, ticket, message, target, context, secret_key))
        elif target.kind == "slack":
            entries.append(_slack_entry(ticket, message, target, context, secret_key))
        elif target.kind == "webhook":
            entries.append(_webhook_entry(session, ticket, message, target, secret_key))
    return entries


def _mail_entry(
    session: Session,
    ticket: Ticket,
    message: Message,
    target: DeliveryTarget,
    context: list[str],
    secret_key: str,
) -> OutboxEntry:
    mailbox = _support_mailbox(session, ticket)
    support = ticket.support_address or (mailbox.address if mailbox else "")
    key = notify_key(target.id, message.id)
    return OutboxEntry(
        key=key,
        kind=NOTIFICATION,
        channel="email",
        ticket_id=ticket.id,
        mailbox_id=mailbox.id if mailbox else None,
        to_address=target.address,
        from_address=support,
        from_name=FROM_NAME,
        reply_to=agent_reply_address(secret_key, support, ticket.ref) if support else None,
        subject=notification_subject(ticket, message),
        body=notification_text(ticket, message, context, by_mail=True),
        internet_message_id=reply_message_id(secret_key, key, support),
        normalized_subject=normalize_subject(ticket.subject),
    )


def _slack_entry(
    ticket: Ticket, message: Message, target: DeliveryTarget, context: list[str], secret_key: str
) -> OutboxEntry:
    key = notify_key(target.id, message.id)
    text = f"*{notification_subject(ticket, message)}*\n" + notification_text(
        ticket, message, context, by_mail=False
    )
    return OutboxEntry(
        key=key,
        kind=NOTIFICATION,
        channel="slack",
        channel_id=target.channel_id,
        channel_fields=json.dumps({"channel": target.address, "ticket_ref": ticket.ref}, sort_keys=True),
        ticket_id=ticket.id,
        to_address=target.address,
        from_address="slack channel",
        subject="",
        body=text,
        internet_message_id=chat_message_id(secret_key, key, "slack"),
    )


def webhook_body(ticket: Ticket, message: Message) -> str:
    return json.dumps(
        {"event": WEBHOOK_EVENT, "ticket": ticket_json(ticket), "message": message_json(message)},
        ensure_ascii=False,
        sort_keys=True,
    )


def _webhook_entry(
    session: Session, ticket: Ticket, message: Message, target: DeliveryTarget, secret_key: str
) -> OutboxEntry:
    key = notify_key(target.id, message.id)
    session.refresh(ticket, ["messages"])  # the JSON shows the ticket as it is now
    return OutboxEntry(
        key=key,
        kind=NOTIFICATION,
        channel="webhook",
        channel_fields=json.dumps({"target_id": str(target.id), "url": target.address}, sort_keys=True),
        ticket_id=ticket.id,
        to_address=target.address[:320],
        from_address="webhook",
        subject="",
        # What is POSTed, fixed now: every attempt sends the same event.
        body=webhook_body(ticket, message),
        internet_message_id=chat_message_id(secret_key, key, "webhook"),
    )
