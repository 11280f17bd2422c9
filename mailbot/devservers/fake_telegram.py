"""Telegram's Bot API as far as mailbot uses it: sendMessage.

core.telegram.org/bots/api#making-requests: the token is part of the path
(/bot<token>/METHOD); answers are {"ok": true, "result": ...} or {"ok": false,
"error_code", "description"} with the same HTTP status.
"""

from __future__ import annotations

import time
from typing import Any

from mailbot.devservers.platform_api import ApiAnswer, ApiCall, ApiRefusal, PlatformApi, platform_handler

MAX_TEXT = 4096  # characters, after entity parsing (core.telegram.org/bots/api#sendmessage)
# sendMessage's parameters; reply_to_message_id is the older spelling of reply_parameters,
# which the Bot API still accepts.
PARAMETERS = frozenset(
    {
        "business_connection_id",
        "chat_id",
        "message_thread_id",
        "text",
        "parse_mode",
        "entities",
        "link_preview_options",
        "disable_notification",
        "protect_content",
        "reply_parameters",
        "reply_markup",
        "reply_to_message_id",
        "allow_sending_without_reply",
    }
)
BOT_USER = {"id": 0, "is_bot": True, "first_name": "Support", "username": "support_bot"}


def _refuse(status: int, description: str) -> ApiRefusal:
    return ApiRefusal(status, {"ok": False, "error_code": status, "description": description})


@platform_handler("telegram")
def bot_api(api: PlatformApi, call: ApiCall) -> ApiAnswer:
    bot, _, method = call.path.lstrip("/").partition("/")
    if not bot.startswith("bot") or bot.removeprefix("bot") != api.credentials.get("telegram"):
        raise _refuse(401, "Unauthorized")
    if method != "sendMessage":
        raise _refuse(404, "Not Found")
    payload: Any = call.json if call.json is not None else call.form
    if not isinstance(payload, dict):
        raise _refuse(400, "Bad Request: invalid JSON")
    unknown = set(payload) - PARAMETERS
    if unknown:
        # The Bot API ignores unknown parameters; a fake that did too would hide a typo.
        raise _refuse(400, f"Bad Request: unexpected parameters {sorted(unknown)}")
    chat_id = payload.get("chat_id")
    if chat_id is None or chat_id == "":
        raise _refuse(400, "Bad Request: chat_id is empty")
    # An integer, its decimal string, or "@channelusername".
    if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
        chat_id = int(chat_id)
    if (
        isinstance(chat_id, bool)
        or not isinstance(chat_id, int | str)
        or (isinstance(chat_id, str) and not chat_id.startswith("@"))
    ):
        raise _refuse(400, "Bad Request: chat not found")
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        raise _refuse(400, "Bad Request: message text is empty")
    if len(text) > MAX_TEXT:
        raise _refuse(400, "Bad Request: message is too long")
    for name in ("reply_to_message_id", "message_thread_id"):
        if name in payload and not isinstance(payload[name], int):
            raise _refuse(400, f"Bad Request: {name} must be an integer")
    prefix = bot.removeprefix("bot").split(":", 1)[0]
    bot_id = int(prefix) if prefix.isdigit() else 0
    result: dict[str, Any] = {
        "message_id": api.new_id(),
        "from": {**BOT_USER, "id": bot_id},
        "chat": {"id": chat_id, "type": "private" if isinstance(chat_id, int) and chat_id > 0 else "group"},
        "date": int(time.time()),
        "text": text,
    }
    if "reply_to_message_id" in payload:
        result["reply_to_message"] = {"message_id": payload["reply_to_message_id"], "chat": result["chat"]}
    return ApiAnswer(200, {"ok": True, "result": result})
