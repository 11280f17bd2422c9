"""The customer's own system at the far end of a generic channel: it takes our
acknowledgements at POST /messages and, like any careful receiver, checks that they are
ours (issue 8's contract):

    X-Mailbot-Timestamp: Unix seconds, within five minutes of its clock
    X-Mailbot-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the shared secret>
    {"conversation_id", "recipient", "text", "ticket_ref"}: all strings, nothing else

`api.credentials["generic"]` is the shared secret (the channel's --secret).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from mailbot.devservers.platform_api import ApiAnswer, ApiCall, ApiRefusal, PlatformApi, platform_handler

FIELDS = frozenset({"conversation_id", "recipient", "text", "ticket_ref"})
WINDOW_SECONDS = 300


@platform_handler("generic")
def receive_message(api: PlatformApi, call: ApiCall) -> ApiAnswer:
    if call.path != "/messages" or call.method != "POST":
        raise ApiRefusal(404, {"error": "not found"})
    timestamp = call.headers.get("x-mailbot-timestamp", "")
    given = call.headers.get("x-mailbot-signature", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > WINDOW_SECONDS:
        raise ApiRefusal(401, {"error": "missing or stale X-Mailbot-Timestamp"})
    secret = api.credentials.get("generic", "").encode()
    expected = "sha256=" + hmac.new(secret, f"{timestamp}.".encode() + call.body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given):
        raise ApiRefusal(401, {"error": "bad X-Mailbot-Signature"})
    try:
        payload = json.loads(call.body)
    except ValueError:
        raise ApiRefusal(400, {"error": "body is not JSON"}) from None
    if not isinstance(payload, dict) or set(payload) != FIELDS:
        raise ApiRefusal(400, {"error": f"expected exactly the fields {sorted(FIELDS)}"})
    if not all(isinstance(payload[name], str) and payload[name] for name in FIELDS):
        raise ApiRefusal(400, {"error": "every field must be a non-empty string"})
    return ApiAnswer(200, {"ok": True, "id": f"msg-{api.new_id()}"})
