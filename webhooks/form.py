"""Web forms served by mailbot itself (/forms/<name>): a submission -> an InboundMessage.

The form view (mailbot/web/forms.py) stores each submission as JSON, with the ticket
reference it already showed the visitor on the thank-you page; this maps it. The
sender is the visitor's e-mail address, or their phone when they gave no address.
A call-me-back request is a message of kind `callback`: an agent must phone back.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from mailbot.message import InboundMessage
from webhooks import (
    ChannelConfig,
    ChannelType,
    Rejected,
    UnreadableEvent,
    WebhookEvent,
    WebhookRequest,
    register,
)

_EMAIL = re.compile(r"^[^\s@<>()\[\],;:\"]+@[^\s@<>()\[\],;:\"]+\.[^\s@<>()\[\],;:\"]+$")


def valid_email(value: str) -> bool:
    return bool(_EMAIL.match(value)) and len(value) <= 320


def plain_phone(value: str) -> str:
    """Digits with a leading + kept; E.164 proper comes with the identity work (issue 9)."""
    value = value.strip()
    digits = re.sub(r"\D", "", value)
    return ("+" + digits) if value.startswith(("+", "00")) and digits else digits


def _not_a_webhook(request: WebhookRequest, channel: ChannelConfig) -> None:
    raise Rejected(404, "forms are posted to /forms/<name>, not to /webhooks/")


def _no_events(request: WebhookRequest, channel: ChannelConfig) -> list[WebhookEvent]:
    raise Rejected(404, "forms are posted to /forms/<name>, not to /webhooks/")


def normalize(payload: bytes, channel: ChannelConfig) -> InboundMessage:
    try:
        data = json.loads(payload)
        kind = str(data.get("kind", "contact"))
        name = str(data.get("name", "")).strip()
        email = str(data.get("email", "")).strip().lower()
        phone = plain_phone(str(data.get("phone", "")))
        message = str(data.get("message", "")).strip()
        preferred = str(data.get("preferred_time", "")).strip()
        submission = str(data["submission_id"])
        ref = str(data["ref"])
        submitted_at = datetime.fromisoformat(str(data["submitted_at"]))
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        raise UnreadableEvent(f"form submission: {error}") from error
    if not valid_email(email):
        email = ""
    if not email and not phone:
        raise UnreadableEvent("form submission without an e-mail address or a phone number")
    callback = kind == "callback"
    lines = []
    if callback:
        lines.append(f"Call-back request: {phone or '(no phone given)'}")
        if preferred:
            lines.append(f"Preferred time: {preferred}")
    if message:
        lines.append(message)
    return InboundMessage(
        channel="form",
        sender_type="email" if email else "phone",
        sender_address=email or phone,
        sender_name=name,
        subject=("Call-back request" if callback else "Contact form") + (f" from {name}" if name else ""),
        text="\n".join(lines),
        message_id=f"{channel.name}:{submission}",
        date=submitted_at,
        conversation_key=f"form:{channel.name}:{submission}",
        request_kind="callback" if callback else "message",
        reply_fields={"phone": phone} if phone else {},
        reserved_ref=ref,
    )


register(ChannelType(name="form", verify=_not_a_webhook, events=_no_events, normalize=normalize))
