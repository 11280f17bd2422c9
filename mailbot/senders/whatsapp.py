"""WhatsApp Cloud API sender: a text message from the channel's number to the customer.

`POST {base}/<phone_number_id>/messages` with the access token as Bearer and
`{"messaging_product": "whatsapp", "to", "type": "text", "text": {"body"}}`; the answer
names the sent message in `messages[0].id` (a wamid), which a status webhook later
refers to (developers.facebook.com/documentation/business-messaging/whatsapp/messages/
text-messages).

Free-form text may only be sent within 24 hours of the customer's last message (the
customer-care window). An acknowledgement goes out seconds after the message it
answers, so the window is open in practice; when it is not (a retry after a long
outage), Cloud API refuses with error 131047, and the channel's approved template
(option `template`, language `template_language`) is sent instead, with the ticket
reference as its one body variable {{1}}. Without a template the row fails with that
reason. An agent's reply written after the window closed is marked to go as the
template from the start (pipeline/whatsapp_window.py), or held when there is none.
Cloud API may also accept the text and report 131047 later in a `failed` status:
that arrives as a status event of the channel.
"""

from __future__ import annotations

from typing import Any

import httpx

from mailbot.runtime import Runtime
from mailbot.senders import Handover, PermanentFailure, sender
from mailbot.senders.chat import deliver_each
from mailbot.senders.graph import GraphRefused, post
from mailbot.store.models import OutboxEntry
from webhooks import ChannelConfig

OUTSIDE_WINDOW = 131047


def send_message(http: httpx.Client, channel: ChannelConfig, entry: OutboxEntry) -> str | None:
    to = entry.fields.get("to", "").lstrip("+")
    number = channel.options.get("phone_number_id", "")
    if not to:
        raise PermanentFailure(f"outbox {entry.id}: no WhatsApp number to answer")
    if not number:
        raise PermanentFailure(f"the whatsapp channel {channel.name} has no phone_number_id option")
    url = f"{channel.api_base}/{number}/messages"
    if entry.fields.get("template"):
        # Written outside the customer-care window (pipeline/whatsapp_window.py): only
        # the approved template may go.
        language = entry.fields.get("template_language") or "en"
        return sent_id(
            post(http, url, channel.token, template_message(to, entry.fields["template"], language, entry))
        )
    try:
        answer = post(http, url, channel.token, text_message(to, entry.body))
    except GraphRefused as refusal:
        if refusal.code != OUTSIDE_WINDOW:
            raise
        template = channel.options.get("template", "")
        if not template:
            raise PermanentFailure(
                f"{refusal}: outside WhatsApp's 24-hour window, and the channel has no approved "
                "`template` option to send instead"
            ) from refusal
        language = channel.options.get("template_language") or channel.language or "en"
        answer = post(http, url, channel.token, template_message(to, template, language, entry))
    return sent_id(answer)


def text_message(to: str, body: str) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"preview_url": False, "body": body},
    }


def template_message(to: str, name: str, language: str, entry: OutboxEntry) -> dict[str, Any]:
    reference = {"type": "text", "text": entry.fields.get("ticket_ref", "")}
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": {
            "name": name,
            "language": {"code": language},
            "components": [{"type": "body", "parameters": [reference]}],
        },
    }


def sent_id(answer: Any) -> str:
    messages = answer.get("messages") if isinstance(answer, dict) else None
    first = messages[0] if isinstance(messages, list) and messages else None
    wamid = first.get("id") if isinstance(first, dict) else None
    return wamid if isinstance(wamid, str) else ""


@sender("whatsapp")
def send_whatsapp(runtime: Runtime, entries: list[OutboxEntry], handover: Handover) -> None:
    deliver_each(runtime, entries, handover, send_message)
