"""Telegram sender: sendMessage with the bot token, as a reply to the customer's message.

Docs: core.telegram.org/bots/api#making-requests ({"ok", "result"} answers, error_code
and description on failure), #sendmessage, #responseparameters (retry_after).
"""

from __future__ import annotations

from typing import Any

import httpx

from mailbot.runtime import Runtime
from mailbot.senders import Handover, PermanentFailure, TemporaryFailure, sender
from mailbot.senders.chat import deliver_each
from mailbot.senders.http import call_api
from mailbot.store.models import OutboxEntry
from webhooks import ChannelConfig


def send_message(http: httpx.Client, channel: ChannelConfig, entry: OutboxEntry) -> str | None:
    fields = entry.fields
    if not fields.get("chat_id"):
        raise PermanentFailure(f"outbox {entry.id}: no Telegram chat to answer in")
    payload: dict[str, Any] = {"chat_id": _integer_or_text(fields["chat_id"]), "text": entry.body}
    for name in ("reply_to_message_id", "message_thread_id"):
        if fields.get(name, "").isdigit():
            payload[name] = int(fields[name])
    answer = call_api(
        http,
        "POST",
        f"{channel.api_base}/bot{channel.token}/sendMessage",
        json=payload,
        retry_after_in_body=flood_wait,
    )
    return sent_message_id(answer)


def sent_message_id(answer: Any) -> str:
    if not isinstance(answer, dict) or answer.get("ok") is not True:
        # A 2xx that is not {"ok": true}: not what the Bot API answers; it may have sent it.
        raise TemporaryFailure(f"Telegram answered {answer!r}"[:300])
    result = answer.get("result")
    message_id = result.get("message_id") if isinstance(result, dict) else None
    return str(message_id) if message_id is not None else ""


def flood_wait(answer: Any) -> float | None:
    """A 429's wait: {"parameters": {"retry_after": N}} (core.telegram.org/bots/api#responseparameters)."""
    parameters = answer.get("parameters") if isinstance(answer, dict) else None
    retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
    return float(retry_after) if isinstance(retry_after, int | float) and retry_after >= 0 else None


def _integer_or_text(chat_id: str) -> int | str:
    # A chat id is an integer (negative for groups) or "@channelusername".
    return int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id


@sender("telegram")
def send_telegram(runtime: Runtime, entries: list[OutboxEntry], handover: Handover) -> None:
    deliver_each(runtime, entries, handover, send_message)
