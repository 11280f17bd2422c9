"""Messenger and Instagram sender: a reply to the person through the Send API.

`POST {base}/me/messages` with the page access token as Bearer and `{"recipient": {"id":
<PSID or IGSID>}, "messaging_type": "RESPONSE", "message": {"text"}}`; the answer is
`{"recipient_id", "message_id"}` (developers.facebook.com/docs/messenger-platform/
reference/send-api; Instagram messaging uses the same call). RESPONSE is the type for
an answer within 24 hours of the person's message, which an acknowledgement always is;
outside it Graph refuses (code 10, subcode 2018278) and the row fails with that reason.
"""

from __future__ import annotations

from typing import Any

import httpx

from mailbot.runtime import Runtime
from mailbot.senders import Handover, PermanentFailure, sender
from mailbot.senders.chat import deliver_each
from mailbot.senders.graph import post
from mailbot.store.models import OutboxEntry
from webhooks import ChannelConfig


def send_message(http: httpx.Client, channel: ChannelConfig, entry: OutboxEntry) -> str | None:
    recipient = entry.fields.get("recipient_id", "")
    if not recipient:
        raise PermanentFailure(f"outbox {entry.id}: no {channel.type} recipient to answer")
    payload = {"recipient": {"id": recipient}, "messaging_type": "RESPONSE", "message": {"text": entry.body}}
    return sent_id(post(http, f"{channel.api_base}/me/messages", channel.token, payload))


def sent_id(answer: Any) -> str:
    mid = answer.get("message_id") if isinstance(answer, dict) else None
    return mid if isinstance(mid, str) else ""


@sender("messenger")
def send_messenger(runtime: Runtime, entries: list[OutboxEntry], handover: Handover) -> None:
    deliver_each(runtime, entries, handover, send_message)


@sender("instagram")
def send_instagram(runtime: Runtime, entries: list[OutboxEntry], handover: Handover) -> None:
    deliver_each(runtime, entries, handover, send_message)
