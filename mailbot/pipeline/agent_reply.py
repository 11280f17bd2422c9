"""An agent's reply to the customer: an outbox row on the channel the customer used last.

Same promise as the acknowledgement (acknowledge.py, chat_ack.py): one row per reply
under the unique key `reply:<message id>`, so a retried job or a second worker cannot
deliver it twice. Mail is threaded under the customer's last message (RFC 5322 3.6.4:
In-Reply-To is its Message-ID, References its References plus its Message-ID) and
carries the reference in the subject; a chat reply goes to the conversation the
customer last wrote in, with the fields its platform's sender needs.

Where to answer is read from the customer's last message as stored: its raw bytes are
normalised again, so the reply sees exactly what the pipeline saw (the References
chain, a Slack thread, a Telegram chat id) without a second copy of any of it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.channels import load_config
from mailbot.config import Settings
from mailbot.mail.parse import UnparseableMessage
from mailbot.message import InboundMessage
from mailbot.pipeline.chat_ack import chat_message_id, chat_reply_fields
from mailbot.pipeline.normalize import domain_of
from mailbot.pipeline.normalizers import NormalizeSettings, normalize_inbound
from mailbot.pipeline.refs import reply_address
from mailbot.pipeline.subjects import normalize_subject, strip_reply_prefixes
from mailbot.store.models import Inbound, Mailbox, Message, OutboxEntry, Ticket
from webhooks import UnreadableEvent

# The customer's own messages: what a reply answers.
CUSTOMER_KINDS = ("customer", "callback")
REFERENCES_KEPT = 10


class ReplyRefused(Exception):
    """The reply cannot be delivered: the reason says why (nothing was stored)."""


@dataclass(frozen=True)
class ReplyTarget:
    """Where a reply to the customer goes, and what threads it there."""

    channel: str  # "email", or the chat channel TYPE
    to_address: str
    mailbox_id: int | None = None  # mail: the mailbox whose SMTP server sends it
    support_address: str = ""  # mail: the address the customer wrote to
    channel_id: int | None = None  # chat: the configured channel
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    reply_fields: dict[str, str] = field(default_factory=dict)


def reply_key(message_id: int) -> str:
    return f"reply:{message_id}"


def target_of(
    msg: InboundMessage, *, mailbox_id: int | None, support_address: str, channel_id: int | None
) -> ReplyTarget:
    """Where to answer `msg`, the customer's last message; raises ReplyRefused."""
    if msg.channel == "email" or (msg.channel == "form" and msg.sender_type == "email"):
        if mailbox_id is None or not support_address:
            raise ReplyRefused(
                "the mailbox this ticket came in through no longer exists: no way to send mail"
            )
        threaded = msg.channel == "email" and msg.message_id
        chain = [*msg.references, msg.message_id] if threaded else []
        return ReplyTarget(
            channel="email",
            to_address=msg.sender_address,
            mailbox_id=mailbox_id,
            support_address=support_address,
            in_reply_to=msg.message_id if threaded else None,
            references=tuple(r for r in chain[-REFERENCES_KEPT:] if r),
        )
    if msg.channel == "form":
        raise ReplyRefused(
            f"the customer left no address to write to, only a phone number ({msg.sender_address}): call them"
        )
    if msg.public:
        # An agent's words to one customer must never go out as a public post.
        raise ReplyRefused("the customer's last message is a public post: answer in a private conversation")
    if channel_id is None:
        raise ReplyRefused(f"the {msg.channel} channel this conversation came in on no longer exists")
    return ReplyTarget(
        channel=msg.channel,
        to_address=msg.sender_address,
        channel_id=channel_id,
        in_reply_to=msg.message_id,
        reply_fields=dict(msg.reply_fields),
    )


def find_reply_target(session: Session, ticket: Ticket, settings: Settings) -> ReplyTarget:
    """The customer's last message on the ticket, read again from its raw bytes."""
    last = session.scalar(
        select(Message)
        .where(Message.ticket_id == ticket.id, Message.kind.in_(CUSTOMER_KINDS))
        .order_by(Message.id.desc())
        .limit(1)
    )
    if last is None:
        raise ReplyRefused("the ticket has no message from the customer to answer")
    inbound = session.get(Inbound, last.inbound_id) if last.inbound_id else None
    if inbound is None:
        raise ReplyRefused("the customer's last message is no longer stored: no way to tell where to answer")
    own = frozenset(a.lower() for a in session.scalars(select(Mailbox.address)))
    channel = load_config(session, inbound.channel_id, settings.secret_key) if inbound.channel_id else None
    try:
        msg = normalize_inbound(
            inbound.raw,
            inbound.channel,
            channel,
            NormalizeSettings(
                staff_domains=frozenset(domain_of(a) for a in own),
                default_language=settings.default_language,
                max_attachment_bytes=0,  # only the headers and fields matter here
            ),
        )
    except (UnparseableMessage, UnreadableEvent) as error:
        raise ReplyRefused(f"the customer's last message cannot be read again: {error}") from error
    mailbox = session.get(Mailbox, ticket.mailbox_id) if ticket.mailbox_id else None
    return target_of(
        msg,
        mailbox_id=mailbox.id if mailbox else None,
        support_address=ticket.support_address or (mailbox.address if mailbox else ""),
        channel_id=channel.id if channel else None,
    )


def reply_subject(ref: str, subject: str) -> str:
    """`Re: [#MB-7K3Q9P] <the customer's subject>`: the reference threads any answer back."""
    base = strip_reply_prefixes(subject)
    return f"Re: [#{ref}] {base}".rstrip()


def reply_message_id(secret_key: str, key: str, support_address: str) -> str:
    """Deterministic and signed like the acknowledgement's (refs.ack_message_id): a
    retried send carries the same id, and a bounce of it is recognised as ours."""
    digest = hmac.new(secret_key.encode(), ("agent-reply:" + key).encode(), hashlib.sha256).hexdigest()[:16]
    domain = support_address.partition("@")[2] or "mailbot.invalid"
    return f"mailbot.{key.replace(':', '.')}.{digest}@{domain}"


def relayed_reply_key(channel: str, source_message_id: str) -> str:
    """The key of a reply relayed from an agent's own message (their mail, a Slack thread
    reply): named after that message, so a second copy of it is the same promise."""
    digest = hashlib.sha256(f"{channel}\x1f{source_message_id}".encode()).hexdigest()[:32]
    return f"reply:{channel}:{digest}"


def build_agent_reply(
    ticket: Ticket,
    message_id: int,
    text: str,
    target: ReplyTarget,
    *,
    secret_key: str,
    key: str | None = None,
) -> OutboxEntry:
    """The outbox row that delivers the agent's message `message_id` to the customer;
    `key` when it is relayed from an agent's message (relayed_reply_key)."""
    key = key or reply_key(message_id)
    body = text.rstrip() + "\n"
    if target.channel == "email":
        return OutboxEntry(
            key=key,
            kind="agent_reply",
            channel="email",
            ticket_id=ticket.id,
            mailbox_id=target.mailbox_id,
            to_address=target.to_address,
            from_address=target.support_address,
            # The customer's answer comes back to the ticket by the signed reply address.
            reply_to=reply_address(secret_key, target.support_address, ticket.ref),
            subject=reply_subject(ticket.ref, ticket.subject),
            body=body,
            internet_message_id=reply_message_id(secret_key, key, target.support_address),
            in_reply_to=target.in_reply_to,
            references=" ".join(f"<{r}>" for r in target.references),
            normalized_subject=normalize_subject(ticket.subject),
        )
    return OutboxEntry(
        key=key,
        kind="agent_reply",
        channel=target.channel,
        channel_id=target.channel_id,
        channel_fields=json.dumps(chat_reply_fields(target.reply_fields, ticket.ref), sort_keys=True),
        ticket_id=ticket.id,
        to_address=target.to_address,
        from_address=f"{target.channel} channel",
        subject="",
        body=body,
        internet_message_id=chat_message_id(secret_key, key, target.channel),
        in_reply_to=target.in_reply_to,
        references="",
    )
