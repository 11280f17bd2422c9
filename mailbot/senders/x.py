"""X sender: a direct message back, or a public reply to a mention.

With the user access token as Bearer (docs.x.com/x-api/direct-messages/manage/integrate,
docs.x.com/x-api/posts/manage-tweets):
- a direct message: `POST {base}/2/dm_conversations/with/<participant_id>/messages`,
  `{"text"}`, answered 201 `{"data": {"dm_conversation_id", "dm_event_id"}}`;
- a public reply: `POST {base}/2/tweets`, `{"text", "reply": {"in_reply_to_tweet_id"}}`,
  answered 201 `{"data": {"id", "text"}}`.
A 429 waits until the window X names in x-rate-limit-reset (senders/http.py).
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


def send_message(http: httpx.Client, channel: ChannelConfig, entry: OutboxEntry) -> str | None:
    fields = entry.fields
    headers = {"Authorization": f"Bearer {channel.token}"}
    if fields.get("in_reply_to_tweet_id"):
        payload: dict[str, Any] = {
            "text": entry.body,
            "reply": {"in_reply_to_tweet_id": fields["in_reply_to_tweet_id"]},
        }
        answer = call_api(http, "POST", f"{channel.api_base}/2/tweets", json=payload, headers=headers)
        return _data(answer, "id")
    participant = fields.get("participant_id", "")
    if not participant:
        raise PermanentFailure(f"outbox {entry.id}: neither a post to reply to nor a DM participant")
    url = f"{channel.api_base}/2/dm_conversations/with/{participant}/messages"
    answer = call_api(http, "POST", url, json={"text": entry.body}, headers=headers)
    return _data(answer, "dm_event_id")


def _data(answer: Any, key: str) -> str:
    data = answer.get("data") if isinstance(answer, dict) else None
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, str) else ""


@sender("x")
def send_x(runtime: Runtime, entries: list[OutboxEntry], handover: Handover) -> None:
    deliver_each(runtime, entries, handover, send_message)
