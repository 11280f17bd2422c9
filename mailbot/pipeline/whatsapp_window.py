"""WhatsApp's customer-care window: free-form text only within 24 hours of the customer's
last message (developers.facebook.com/docs/whatsapp/pricing#customer-service-windows).

Outside it, the platform only takes an approved template message. An agent's reply
written after the window closed goes as the channel's template (options `template` and
`template_language`, the ticket reference as its body variable {{1}}, so the customer
knows which case has news and answers, which opens the window again); without a
template it is held on the ticket with the reason, for an agent to see in the panel.

Decided here, before anything is promised, from the customer's last WhatsApp message as
stored, rather than learnt from a refusal (error 131047) after the outbox row exists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.channels import load_config
from mailbot.store.models import Message, OutboxEntry
from mailbot.timeutil import as_utc

WINDOW = timedelta(hours=24)
CHANNEL = "whatsapp"
CUSTOMER_KINDS = ("customer", "callback")


@dataclass(frozen=True)
class WindowDecision:
    """How a message to a WhatsApp customer may go: `text`, `template`, or `held`."""

    way: str
    template: str = ""
    template_language: str = ""
    reason: str = ""


def decide(
    last_customer_at: datetime | None,
    now: datetime,
    *,
    template: str,
    template_language: str,
) -> WindowDecision:
    """Pure: the window is open for 24 hours from the customer's last message."""
    if last_customer_at is not None and now - as_utc(last_customer_at) < WINDOW:
        return WindowDecision("text")
    since = (
        f"the customer last wrote {as_utc(last_customer_at):%Y-%m-%d %H:%M} UTC"
        if last_customer_at is not None
        else "the customer has not written on WhatsApp"
    )
    if template:
        return WindowDecision("template", template=template, template_language=template_language)
    return WindowDecision(
        "held",
        reason=f"outside WhatsApp's 24-hour customer-care window ({since}) and the channel has no approved "
        "template configured (channel option `template`): not sent; it can go once the customer writes "
        "again, or once a template is set",
    )


def last_customer_message_at(session: Session, sender: str) -> datetime | None:
    return session.scalar(
        select(func.max(Message.received_at)).where(
            Message.channel == CHANNEL, Message.kind.in_(CUSTOMER_KINDS), Message.from_address == sender
        )
    )


def decide_for(
    session: Session, channel_id: int | None, to: str, now: datetime, secret_key: str
) -> WindowDecision:
    """The decision for a message to `to` through the WhatsApp channel `channel_id`."""
    channel = load_config(session, channel_id, secret_key) if channel_id is not None else None
    options = channel.options if channel else {}
    return decide(
        last_customer_message_at(session, to),
        now,
        template=options.get("template", ""),
        template_language=options.get("template_language") or (channel.language if channel else None) or "en",
    )


def as_template(entry: OutboxEntry, decision: WindowDecision) -> None:
    """Mark the outbox row to go as the approved template (senders/whatsapp.py reads it)."""
    fields = {**entry.fields, "template": decision.template, "template_language": decision.template_language}
    entry.channel_fields = json.dumps(fields, sort_keys=True)
