"""Slack sender: chat.postMessage with the bot token, in the thread the customer wrote in.

Docs: api.slack.com/methods/chat.postMessage, api.slack.com/web (errors),
api.slack.com/apis/rate-limits (HTTP 429 with Retry-After).
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

# Slack answers most refusals with HTTP 200 and {"ok": false, "error": ...}. These mean
# "not now"; every other error (invalid_auth, token_revoked, channel_not_found,
# not_in_channel, is_archived, msg_too_long ...) will not change by trying again.
RETRY_ERRORS = frozenset({"ratelimited", "rate_limited", "service_unavailable", "request_timeout"})
# "It's possible some aspect of the operation succeeded before the error was raised"
# (Slack's description of both): sending again could post the message twice.
UNKNOWN_OUTCOME_ERRORS = frozenset({"internal_error", "fatal_error"})


def post_message(http: httpx.Client, channel: ChannelConfig, entry: OutboxEntry) -> str | None:
    fields = entry.fields
    if not fields.get("channel"):
        raise PermanentFailure(f"outbox {entry.id}: no Slack channel to answer in")
    payload = {"channel": fields["channel"], "text": entry.body}
    if fields.get("thread_ts"):
        payload["thread_ts"] = fields["thread_ts"]
    answer = call_api(
        http,
        "POST",
        f"{channel.api_base}/chat.postMessage",
        json=payload,
        # JSON bodies need the token in the header and a charset (api.slack.com/web#posting_json).
        headers={
            "Authorization": f"Bearer {channel.token}",
            "Content-Type": "application/json; charset=utf-8",
        },
    )
    return sent_ts(answer)


def sent_ts(answer: Any) -> str:
    """The posted message's ts, or the failure Slack's answer means."""
    if not isinstance(answer, dict):
        raise TemporaryFailure(f"Slack answered without JSON: {answer!r}"[:300])
    if answer.get("ok") is True:
        ts = answer.get("ts")
        return ts if isinstance(ts, str) else ""
    error = str(answer.get("error") or "unknown_error")
    if error in RETRY_ERRORS:
        raise TemporaryFailure(f"Slack: {error}", definite=True)
    if error in UNKNOWN_OUTCOME_ERRORS:
        raise TemporaryFailure(f"Slack: {error} (it may have been posted)")
    raise PermanentFailure(f"Slack refused it: {error}")


@sender("slack")
def send_slack(runtime: Runtime, entries: list[OutboxEntry], handover: Handover) -> None:
    deliver_each(runtime, entries, handover, post_message)
