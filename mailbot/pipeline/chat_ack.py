"""The acknowledgement of a chat or social message: an outbox row for the channel's sender.

Same promise as mail (acknowledge.py): one row per promise under a unique key, so a
retried job cannot answer twice. A private conversation gets `ack:<ref>` once per
ticket. A public post (an X mention) is answered in public each time the customer
posts about it, once per post (`public:<ref>:<post id>`), naming the ticket they
already have: never "please send us a DM" to someone whose case is open.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from sqlalchemy.orm import Session

from mailbot.ack_templates import choose_language_from_store, render_chat_ack_from_store
from mailbot.faq.suggestions import faq_for_ack, support_phone
from mailbot.message import InboundMessage
from mailbot.pipeline.acknowledge import join_ack_key
from mailbot.store.models import OutboxEntry, Ticket


def chat_ack_key(ticket_ref: str, msg: InboundMessage, joined: bool = False) -> str:
    if msg.public:
        return f"public:{ticket_ref}:{msg.message_id or ''}"[:200]
    if joined:  # the ticket's `ack:<ref>` answered the channel it was opened on
        return join_ack_key(ticket_ref, msg)
    return f"ack:{ticket_ref}"


def chat_message_id(secret_key: str, key: str, channel_type: str) -> str:
    """Outbox rows need a unique, deterministic id even where there are no Message-IDs."""
    digest = hmac.new(secret_key.encode(), ("chat-ack:" + key).encode(), hashlib.sha256).hexdigest()[:20]
    return f"mailbot.{channel_type}.{digest}@chat.invalid"


def chat_reply_fields(reply_fields: dict[str, str], ticket_ref: str) -> dict[str, str]:
    """What a chat sender needs to answer in the customer's conversation, and the ticket it is about."""
    return {**reply_fields, "ticket_ref": ticket_ref}


def build_chat_ack(
    session: Session,
    ticket: Ticket,
    msg: InboundMessage,
    *,
    channel_id: int | None,
    secret_key: str,
    default_language: str,
    response_hours: int,
    existing: bool,
    joined: bool = False,
) -> OutboxEntry:
    """`joined`: the message joined, from another channel, a ticket the customer already
    has (crosschannel.py): the answer names it and asks for nothing again."""
    language = choose_language_from_store(session, ticket.language, default_language)
    key = chat_ack_key(ticket.ref, msg, joined)
    text = render_chat_ack_from_store(
        session,
        language,
        {
            "ref": ticket.ref,
            "name": (msg.sender_name or "").lstrip("@").split(" ")[0],
            "subject": ticket.subject or "",
            "response_hours": response_hours,
            "existing": existing,
            # Briefly in a chat (question and link); only on the ticket's first answer.
            "faq": []
            if existing or joined
            else faq_for_ack(session, ticket, secret_key=secret_key, public_url=""),
            "phone": support_phone(session, language),
        },
        "public" if msg.public else "chat",
    )
    fields = chat_reply_fields(msg.reply_fields, ticket.ref)
    return OutboxEntry(
        key=key,
        kind="ack",
        channel=msg.channel,
        channel_id=channel_id,
        channel_fields=json.dumps(fields, sort_keys=True),
        ticket_id=ticket.id,
        to_address=msg.sender_address,
        from_address=f"{msg.channel} channel",
        subject="",
        body=text + "\n",
        internet_message_id=chat_message_id(secret_key, key, msg.channel),
        in_reply_to=msg.message_id,
        references="",
    )
