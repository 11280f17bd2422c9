"""Twilio's Programmable Messaging API as far as mailbot uses it: creating a Message.

`POST /2010-04-01/Accounts/<AccountSid>/Messages.json`, HTTP basic auth with the account
SID and auth token, form `To`, `From` (or `MessagingServiceSid`), `Body`
(www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource). Answered
201 with the Message resource (`sid` SM + 32 hex digits, `status` queued); refused as
Twilio does, `{"code", "message", "more_info", "status"}` with its error codes
(www.twilio.com/docs/api/errors).
"""

from __future__ import annotations

import base64
import re
import secrets
from email.utils import formatdate
from typing import Any

from mailbot.devservers.platform_api import ApiAnswer, ApiCall, ApiRefusal, PlatformApi, platform_handler

MAX_BODY = 1600  # characters (error 21617)
_PATH = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Messages\.json$")
_ADDRESS = re.compile(r"^(whatsapp:)?\+[1-9][0-9]{6,14}$")


def _refuse(status: int, code: int, message: str) -> ApiRefusal:
    return ApiRefusal(
        status,
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


@platform_handler("twilio")
def messages_api(api: PlatformApi, call: ApiCall) -> ApiAnswer:
    match = _PATH.match(call.path)
    if match is None or call.method != "POST":
        raise _refuse(404, 20404, "The requested resource was not found")
    if _basic_auth(call) != api.credentials.get("twilio") or not api.credentials.get("twilio", "").startswith(
        match.group(1) + ":"
    ):
        raise _refuse(401, 20003, "Authenticate")
    if not call.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise _refuse(400, 21601, "Parameters must be sent form-encoded")
    form = call.form
    to, sender, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
    if not to:
        raise _refuse(400, 21604, "A 'To' phone number is required.")
    if not _ADDRESS.match(to):
        raise _refuse(400, 21211, f"The 'To' number {to} is not a valid phone number.")
    if not sender and not form.get("MessagingServiceSid"):
        raise _refuse(400, 21603, "A 'From' phone number is required.")
    if sender and not _ADDRESS.match(sender):
        raise _refuse(400, 21212, f"The 'From' number {sender} is not a valid phone number or shortcode.")
    if sender and to.startswith("whatsapp:") != sender.startswith("whatsapp:"):
        raise _refuse(400, 21910, "Invalid From and To pair. From and To should be of the same channel")
    if not body.strip() and not form.get("MediaUrl") and not form.get("ContentSid"):
        raise _refuse(400, 21602, "Message body is required.")
    if len(body) > MAX_BODY:
        raise _refuse(400, 21617, f"The concatenated message body exceeds the {MAX_BODY} character limit.")
    sid = "SM" + secrets.token_hex(16)
    account = match.group(1)
    resource: dict[str, Any] = {
        "sid": sid,
        "account_sid": account,
        "to": to,
        "from": sender or None,
        "messaging_service_sid": form.get("MessagingServiceSid"),
        "body": body,
        "status": "queued",
        "num_segments": str(max(1, -(-len(body) // 153))),
        "num_media": "0",
        "direction": "outbound-api",
        "api_version": "2010-04-01",
        "price": None,
        "error_code": None,
        "error_message": None,
        "date_created": formatdate(usegmt=True),
        "date_updated": formatdate(usegmt=True),
        "date_sent": None,
        "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
    }
    return ApiAnswer(201, resource)


def _basic_auth(call: ApiCall) -> str | None:
    scheme, _, value = call.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(value, validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
