"""Generic channel sender: the acknowledgement POSTed back to the customer's own system,
signed as it signs what it sends us (issue 8's contract, webhooks/generic.py):

    POST <api-base>/messages
    X-Mailbot-Timestamp: <Unix seconds>
    X-Mailbot-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the secret>
    {"conversation_id": "...", "recipient": "...", "text": "...", "ticket_ref": "..."}
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from mailbot.runtime import Runtime
from mailbot.senders import Handover, PermanentFailure, sender
from mailbot.senders.chat import deliver_each
from mailbot.senders.http import call_api
from mailbot.store.models import OutboxEntry
from webhooks import ChannelConfig
from webhooks.generic import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature


def post_message(http: httpx.Client, channel: ChannelConfig, entry: OutboxEntry) -> str | None:
    if not channel.api_base:
        raise PermanentFailure(f"generic channel {channel.name!r} has no --api-base to answer to")
    fields = entry.fields
    if not fields.get("conversation_id") or not fields.get("recipient"):
        raise PermanentFailure(f"outbox {entry.id}: no conversation_id and recipient to answer to")
    body = json.dumps(
        {
            "conversation_id": fields["conversation_id"],
            "recipient": fields["recipient"],
            "text": entry.body,
            "ticket_ref": fields.get("ticket_ref", ""),
        },
        ensure_ascii=False,
    ).encode()
    timestamp = str(int(time.time()))
    answer = call_api(
        http,
        "POST",
        f"{channel.api_base}/messages",
        # The bytes signed are the bytes sent: serialised here, not by the client.
        content=body,
        headers={
            "Content-Type": "application/json; charset=utf-8",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(channel.secret, timestamp, body),
        },
    )
    return receipt_id(answer)


def receipt_id(answer: Any) -> str | None:
    """The receiving system's id for the message, if its answer names one."""
    if not isinstance(answer, dict):
        return None
    for key in ("id", "message_id"):
        value = answer.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return None


@sender("generic")
def send_generic(runtime: Runtime, entries: list[OutboxEntry], handover: Handover) -> None:
    deliver_each(runtime, entries, handover, post_message)
