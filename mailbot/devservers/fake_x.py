"""X API v2 as far as mailbot uses it: a direct message and a reply post.

With the user access token as Bearer:
- `POST /2/dm_conversations/with/<participant_id>/messages` `{"text"}` -> 201
  `{"data": {"dm_conversation_id", "dm_event_id"}}` (docs.x.com/x-api/direct-messages/
  manage/integrate);
- `POST /2/tweets` `{"text", "reply": {"in_reply_to_tweet_id"}}` -> 201 `{"data": {"id",
  "text", "edit_history_tweet_ids"}}` (docs.x.com/x-api/posts/manage-tweets).
Refusals are RFC 7807 problem documents as X sends them: 401 `{"title": "Unauthorized",
...}`, 400 `{"errors": [...], "title": "Invalid Request", ...}`.

`credentials["x"]` is the accepted token; `credentials["x:user_id"]` the account it
belongs to (it is half of a DM conversation id).
"""

from __future__ import annotations

import re
from typing import Any

from mailbot.devservers.platform_api import ApiAnswer, ApiCall, ApiRefusal, PlatformApi, platform_handler

MAX_POST = 280  # characters of a post for an account without a longer limit
MAX_DM = 10000
_DM_PATH = re.compile(r"^/2/dm_conversations/with/([0-9]+)/messages$")


def _invalid(message: str) -> ApiRefusal:
    return ApiRefusal(
        400,
        {
            "errors": [{"message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        },
    )


@platform_handler("x")
def x_api(api: PlatformApi, call: ApiCall) -> ApiAnswer:
    token = api.credentials.get("x")
    if not token or call.headers.get("authorization") != f"Bearer {token}":
        raise ApiRefusal(
            401, {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
        )
    if call.method != "POST":
        raise ApiRefusal(404, {"title": "Not Found Error", "status": 404, "detail": call.path})
    payload = call.json
    if not isinstance(payload, dict):
        raise _invalid("The request body must be a JSON object")
    if call.path == "/2/tweets":
        return _post(api, payload)
    match = _DM_PATH.match(call.path)
    if match is not None:
        return _direct_message(api, match.group(1), payload)
    raise ApiRefusal(404, {"title": "Not Found Error", "status": 404, "detail": call.path})


def _post(api: PlatformApi, payload: dict[str, Any]) -> ApiAnswer:
    unknown = set(payload) - {"text", "reply", "quote_tweet_id", "media", "reply_settings"}
    if unknown:
        raise _invalid(f"$.{sorted(unknown)[0]}: is not defined in the schema")
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        raise _invalid("$.text: a post needs text")
    if len(text) > MAX_POST:
        raise ApiRefusal(
            403,
            {
                "title": "Forbidden",
                "status": 403,
                "detail": "You are not permitted to create a Tweet this long.",
            },
        )
    reply = payload.get("reply")
    if reply is not None:
        replied = reply.get("in_reply_to_tweet_id") if isinstance(reply, dict) else None
        if not isinstance(replied, str) or not replied.isdigit():
            raise _invalid("$.reply.in_reply_to_tweet_id: must be a post id")
    post_id = str(api.new_id())
    return ApiAnswer(201, {"data": {"id": post_id, "text": text, "edit_history_tweet_ids": [post_id]}})


def _direct_message(api: PlatformApi, participant: str, payload: dict[str, Any]) -> ApiAnswer:
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        raise _invalid("$.text: a message needs text or attachments")
    if len(text) > MAX_DM:
        raise _invalid(f"$.text: longer than {MAX_DM} characters")
    ours = api.credentials.get("x:user_id", "0")
    pair = "-".join(sorted((ours, participant), key=lambda u: (len(u), u)))
    return ApiAnswer(201, {"data": {"dm_conversation_id": pair, "dm_event_id": str(api.new_id())}})
