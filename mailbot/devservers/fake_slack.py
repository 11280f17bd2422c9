"""Slack's Web API as far as mailbot uses it: chat.postMessage.

Checks what api.slack.com/methods/chat.postMessage documents and answers as Slack does:
HTTP 200 with {"ok": false, "error": ...} for a refusal (not_authed, invalid_auth,
channel_not_found, no_text, invalid_thread_ts ...), {"ok": true, "channel", "ts",
"message"} on success.
"""

from __future__ import annotations

import re
import time

from mailbot.devservers.platform_api import ApiAnswer, ApiCall, ApiRefusal, PlatformApi, platform_handler

# Conversation ids: C (public), G (private / group DM), D (DM).
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
TS = re.compile(r"^\d{10}\.\d{6}$")
MAX_TEXT = 40_000  # longer texts are truncated by Slack; msg_too_long beyond that


def _refuse(error: str) -> ApiRefusal:
    return ApiRefusal(200, {"ok": False, "error": error})


@platform_handler("slack")
def chat_post_message(api: PlatformApi, call: ApiCall) -> ApiAnswer:
    if call.path != "/chat.postMessage":
        raise _refuse("unknown_method")
    if call.method != "POST":
        raise _refuse("invalid_request")
    authorization = call.headers.get("authorization", "")
    if not authorization.startswith("Bearer "):
        raise _refuse("not_authed")
    if authorization.removeprefix("Bearer ") != api.credentials.get("slack"):
        raise _refuse("invalid_auth")
    if not call.headers.get("content-type", "").startswith("application/json"):
        raise _refuse("invalid_form_data")
    payload = call.json
    if not isinstance(payload, dict):
        raise _refuse("invalid_json")
    channel = payload.get("channel")
    if not isinstance(channel, str) or not CHANNEL_ID.match(channel):
        raise _refuse("channel_not_found")
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        raise _refuse("no_text")
    if len(text) > MAX_TEXT:
        raise _refuse("msg_too_long")
    thread_ts = payload.get("thread_ts")
    if thread_ts is not None and (not isinstance(thread_ts, str) or not TS.match(thread_ts)):
        raise _refuse("invalid_thread_ts")
    ts = f"{int(time.time())}.{api.new_id():06d}"
    message = {"type": "message", "subtype": "bot_message", "text": text, "ts": ts, "bot_id": "B0FAKEBOT"}
    if thread_ts:
        message["thread_ts"] = thread_ts
    return ApiAnswer(200, {"ok": True, "channel": channel, "ts": ts, "message": message})
