"""Meta's Graph API as far as mailbot uses it: WhatsApp Cloud API messages and the
Messenger / Instagram Send API, one handler for both (one Graph API, one token check).

- `POST /<phone_number_id>/messages` (developers.facebook.com/documentation/
  business-messaging/whatsapp/messages/text-messages, .../template-messages): answered
  `{"messaging_product", "contacts": [{"input", "wa_id"}], "messages": [{"id": wamid}]}`.
- `POST /me/messages` (developers.facebook.com/docs/messenger-platform/reference/
  send-api): answered `{"recipient_id", "message_id"}`.

Refusals are Graph errors, `{"error": {"message", "type", "code", "fbtrace_id"}}`: 401
with code 190 for a missing or wrong token, 400 with code 100 for a malformed call.
"""

from __future__ import annotations

import base64
import re
import secrets
from typing import Any

from mailbot.devservers.platform_api import ApiAnswer, ApiCall, ApiRefusal, PlatformApi, platform_handler

MAX_WHATSAPP_TEXT = 4096  # characters of text.body
MAX_MESSENGER_TEXT = 2000  # UTF-8 characters of message.text
WHATSAPP_KEYS = frozenset(
    {
        "messaging_product",
        "recipient_type",
        "to",
        "type",
        "text",
        "template",
        "context",
        "biz_opaque_callback_data",
    }
)
MESSAGING_TYPES = frozenset({"RESPONSE", "UPDATE", "MESSAGE_TAG"})
_PHONE = re.compile(r"^\+?[1-9][0-9]{6,14}$")


def _graph_error(status: int, code: int, message: str, kind: str = "OAuthException") -> ApiRefusal:
    return ApiRefusal(
        status,
        {"error": {"message": message, "type": kind, "code": code, "fbtrace_id": secrets.token_hex(8)}},
    )


def _invalid(message: str) -> ApiRefusal:
    return _graph_error(400, 100, f"(#100) {message}")


@platform_handler("meta")
def graph_api(api: PlatformApi, call: ApiCall) -> ApiAnswer:
    token = api.credentials.get("meta")
    if not token or call.headers.get("authorization") != f"Bearer {token}":
        raise _graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
    node, _, edge = call.path.strip("/").partition("/")
    if call.method != "POST" or edge != "messages":
        raise _graph_error(400, 100, f"Unsupported {call.method.lower()} request.", "GraphMethodException")
    if not isinstance(call.json, dict):
        raise _invalid("The request body must be a JSON object")
    if node == "me":
        return _messenger(api, call.json)
    if not node.isdigit():
        raise _graph_error(400, 100, f"Unsupported post request. Object with ID '{node}' does not exist")
    return _whatsapp(api, call.json)


def _whatsapp(api: PlatformApi, payload: dict[str, Any]) -> ApiAnswer:
    unknown = set(payload) - WHATSAPP_KEYS
    if unknown:
        raise _invalid(f"Param {sorted(unknown)[0]} is not a valid parameter")
    if payload.get("messaging_product") != "whatsapp":
        raise _invalid("The parameter messaging_product is required.")
    if payload.get("recipient_type", "individual") != "individual":
        raise _invalid("recipient_type must be individual")
    to = payload.get("to")
    if not isinstance(to, str) or not _PHONE.match(to):
        raise _invalid("The parameter to is required and must be a phone number or WhatsApp ID.")
    kind = payload.get("type", "text")
    if kind == "text":
        text = payload.get("text")
        if not isinstance(text, dict):
            raise _invalid("The parameter text is required.")
        body = text.get("body")
        if not isinstance(body, str) or not body.strip():
            raise _invalid("The parameter text['body'] is required.")
        if len(body) > MAX_WHATSAPP_TEXT:
            raise _invalid(f"text['body'] is longer than {MAX_WHATSAPP_TEXT} characters")
        if not isinstance(text.get("preview_url", False), bool):
            raise _invalid("text['preview_url'] must be a boolean")
    elif kind == "template":
        _check_template(payload.get("template"))
    else:
        raise _invalid(f"type {kind!r} is not supported by this server")
    wamid = "wamid." + base64.b64encode(f"HBgL{to.lstrip('+')}{api.new_id()}".encode()).decode()
    sent: dict[str, Any] = {"id": wamid}
    if kind == "template":
        sent["message_status"] = "accepted"
    contact = {"input": to, "wa_id": to.lstrip("+")}
    return ApiAnswer(200, {"messaging_product": "whatsapp", "contacts": [contact], "messages": [sent]})


def _check_template(template: Any) -> None:
    if not isinstance(template, dict) or not isinstance(template.get("name"), str) or not template["name"]:
        raise _invalid("The parameter template['name'] is required.")
    language = template.get("language")
    if not isinstance(language, dict) or not isinstance(language.get("code"), str) or not language["code"]:
        raise _invalid("The parameter template['language']['code'] is required.")
    components = template.get("components", [])
    if not isinstance(components, list) or not all(isinstance(c, dict) and c.get("type") for c in components):
        raise _invalid("template['components'] must be a list of components with a type")
    for component in components:
        for parameter in component.get("parameters", []):
            if (
                not isinstance(parameter, dict)
                or parameter.get("type") != "text"
                or not parameter.get("text")
            ):
                raise _invalid("a template text parameter needs a non-empty text")


def _messenger(api: PlatformApi, payload: dict[str, Any]) -> ApiAnswer:
    recipient = payload.get("recipient")
    recipient_id = recipient.get("id") if isinstance(recipient, dict) else None
    if not isinstance(recipient_id, str) or not recipient_id.isdigit():
        raise _invalid("The parameter recipient is required")
    messaging_type = payload.get("messaging_type")
    if messaging_type not in MESSAGING_TYPES:
        raise _invalid("The parameter messaging_type is required")
    if messaging_type == "MESSAGE_TAG" and not payload.get("tag"):
        raise _invalid("A MESSAGE_TAG message needs a tag")
    message = payload.get("message")
    text = message.get("text") if isinstance(message, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise _invalid("The parameter message['text'] must be a non-empty string")
    if len(text) > MAX_MESSENGER_TEXT:
        raise _invalid(f"Length of param message[text] must be less than or equal to {MAX_MESSENGER_TEXT}")
    return ApiAnswer(200, {"recipient_id": recipient_id, "message_id": f"m_{secrets.token_urlsafe(24)}"})
