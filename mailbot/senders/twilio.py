"""Twilio sender: an SMS or a WhatsApp message back from the number the customer wrote to.

`POST {base}/2010-04-01/Accounts/<AccountSid>/Messages.json`, HTTP basic auth with the
account SID and auth token (the channel's token, `SID:TOKEN`), form `To`, `From`, `Body`
(www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource). Twilio
answers 201 with the new Message resource, whose `sid` (SM...) its status callbacks
name. A WhatsApp address keeps its `whatsapp:` prefix on both ends.

Errors come as `{"code", "message", "more_info", "status"}`: 429 (code 20429) is
retried after its Retry-After; any other 4xx (21211 invalid To, 21610 the customer
replied STOP, 20003 bad credentials) fails the row alone.
"""

from __future__ import annotations

from typing import Any

import httpx

from mailbot.runtime import Runtime
from mailbot.senders import Handover, PermanentFailure, sender
from mailbot.senders.chat import deliver_each
from mailbot.senders.http import call_api
from mailbot.store.models import OutboxEntry
from webhooks import ChannelConfig

WHATSAPP = "whatsapp:"


def send_message(http: httpx.Client, channel: ChannelConfig, entry: OutboxEntry) -> str | None:
    account_sid, _, auth_token = channel.token.partition(":")
    if not account_sid or not auth_token:
        raise PermanentFailure(f"the twilio channel {channel.name} has no ACCOUNT_SID:AUTH_TOKEN token")
    to = entry.fields.get("to", "")
    if not to:
        raise PermanentFailure(f"outbox {entry.id}: no number to answer")
    return sent_sid(
        call_api(
            http,
            "POST",
            f"{channel.api_base}/2010-04-01/Accounts/{account_sid}/Messages.json",
            data={
                "To": to,
                "From": sender_address(to, entry.fields.get("from", ""), channel),
                "Body": entry.body,
            },
            auth=(account_sid, auth_token),
        )
    )


def sender_address(to: str, replied_from: str, channel: ChannelConfig) -> str:
    """The number the customer wrote to, else the channel's `from`, on the same network."""
    address = replied_from or channel.options.get("from", "")
    if not address:
        raise PermanentFailure(f"the twilio channel {channel.name} has no `from` number")
    if to.startswith(WHATSAPP) and not address.startswith(WHATSAPP):
        return WHATSAPP + address
    return address


def sent_sid(answer: Any) -> str:
    sid = answer.get("sid") if isinstance(answer, dict) else None
    return sid if isinstance(sid, str) else ""


@sender("twilio")
def send_twilio(runtime: Runtime, entries: list[OutboxEntry], handover: Handover) -> None:
    deliver_each(runtime, entries, handover, send_message)
