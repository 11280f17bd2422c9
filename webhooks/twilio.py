"""SMS and WhatsApp through Twilio: incoming-message webhooks and status callbacks.

Twilio POSTs form parameters (www.twilio.com/docs/messaging/guides/webhook-request):
`MessageSid`, `AccountSid`, `From`, `To` (E.164, or `whatsapp:+<E.164>` for WhatsApp),
`Body`, `NumMedia` with `MediaUrl<n>`/`MediaContentType<n>`, and for WhatsApp
`ProfileName`, `WaId`, `Latitude`/`Longitude`, `ButtonText`. A status callback about a
message we sent carries `MessageStatus` (queued, sent, delivered, undelivered, failed,
read) and no `Body`.

Signature (www.twilio.com/docs/usage/webhooks/webhooks-security): `X-Twilio-Signature`
is the base64 HMAC-SHA1, keyed with the auth token, of the full URL Twilio called
followed by every POST parameter sorted by name, each as name then value with nothing
between. Only the exact URL verifies: behind a proxy the web view passes
MAILBOT_PUBLIC_URL + path. No timestamp is signed; a replay repeats a MessageSid the
store already holds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from mailbot.channels import DEFAULT_API_BASES
from mailbot.message import EVENT_MEMBERSHIP, EVENT_MESSAGE, EVENT_STATUS, Attachment, InboundMessage
from webhooks import (
    ChannelConfig,
    ChannelType,
    Rejected,
    UnreadableEvent,
    WebhookEvent,
    WebhookRequest,
    register,
)
from webhooks.attachments import kind_of_content_type, media_attachment
from webhooks.checks import compact_json, required_header, same_secret, stored_object
from webhooks.media import placeholder
from webhooks.payload import section, text

TYPE = "twilio"
SIGNATURE_HEADER = "x-twilio-signature"
# Messages a customer sends to a number, and never a status (those are about ours).
INBOUND_STATUSES = ("", "received", "receiving")
# Twilio's default opt-out keywords (support.twilio.com, "Twilio support for opt-out
# keywords (SMS STOP filtering)"): Twilio answers them itself and blocks further
# messages to a number that opted out, so they are never a customer message to answer.
OPT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "START", "YES", "UNSTOP", "HELP", "INFO"}
)
MAX_MEDIA = 10  # Twilio delivers at most 10 media items per message


def signature(token: str, url: str, params: dict[str, str]) -> str:
    signed = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()).decode()


def verify(request: WebhookRequest, channel: ChannelConfig) -> None:
    given = required_header(request, SIGNATURE_HEADER)
    params = request.form
    body_hash = request.query.get("bodySHA256")
    if body_hash is not None:
        # JSON webhooks: the URL (with bodySHA256 in it) is signed alone, and the body
        # is checked against the hash it carries.
        actual = hashlib.sha256(request.body).hexdigest()
        if not same_secret(actual, body_hash.lower()):
            raise Rejected(401, "bodySHA256 does not match the body")
        params = {}
    for url in _url_variants(request.url):
        if same_secret(signature(channel.secret, url, params), given):
            return
    raise Rejected(401, f"{SIGNATURE_HEADER} does not match the URL and parameters")


def _url_variants(url: str) -> list[str]:
    """The URL as called, and with the default port written out or left out.

    Twilio signs the URL as configured; a proxy or framework may add or drop `:443`, so
    Twilio's own validators accept either form (twilio-python RequestValidator)."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    variants = [url]
    if default is None or not parts.hostname:
        return variants
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    if parts.port is None:
        variants.append(urlunsplit(parts._replace(netloc=f"{prefix}{host}:{default}")))
    elif parts.port == default:
        variants.append(urlunsplit(parts._replace(netloc=f"{prefix}{host}")))
    return variants


def events(request: WebhookRequest, channel: ChannelConfig) -> list[WebhookEvent]:
    params = request.form
    if not params:
        raise Rejected(400, "no form parameters (Twilio posts application/x-www-form-urlencoded)")
    sid = params.get("MessageSid") or params.get("SmsMessageSid") or params.get("SmsSid") or ""
    if not sid:
        raise Rejected(400, "no MessageSid")
    status = _status_of(params)
    # A message of ours goes through queued, sent, delivered ...: one event per state.
    event_id = f"status:{sid}:{status}" if status is not None else sid
    return [WebhookEvent(event_id, compact_json({"event_id": event_id, "params": dict(params)}))]


def _status_of(params: dict[str, str]) -> str | None:
    """The state a status callback reports, or None for a customer's message."""
    status = params.get("MessageStatus") or params.get("SmsStatus") or ""
    if status.lower() not in INBOUND_STATUSES:
        return status
    if "Body" not in params and "NumMedia" not in params:
        return status or "unknown"
    return None


def normalize(payload: bytes, channel: ChannelConfig) -> InboundMessage:
    data = stored_object(payload)
    params = {k: v for k, v in section(data, "params").items() if isinstance(v, str)}
    sid = params.get("MessageSid") or params.get("SmsMessageSid") or params.get("SmsSid") or ""
    sender, ours = params.get("From", "").strip(), params.get("To", "").strip()
    if not sid or not sender or not ours:
        raise UnreadableEvent("a Twilio message without MessageSid, From or To")
    status = _status_of(params)
    if status is not None:
        # About a message we sent: its customer is To.
        sender, ours = ours, sender
    sender_type, address = _identity(sender)
    route = "whatsapp" if sender_type == "whatsapp" else "sms"
    common: dict[str, Any] = {
        "channel": TYPE,
        "sender_type": sender_type,
        "sender_address": address,
        "subject": "",
        "conversation_key": f"twilio:{route}:{_identity(ours)[1]}:{address}",
    }
    if status is not None:
        error = params.get("ErrorCode", "")
        return InboundMessage(
            **common,
            sender_name="",
            text=f"{status}: error {error}" if error else status,
            message_id=text(data, "event_id"),
            event=EVENT_STATUS,
            target_message_id=sid,  # the sid our sender recorded as the external id
        )
    body, attachments = _content(params)
    opt_out = params.get("OptOutType", "") or (
        body.strip().upper() if route == "sms" and body.strip().upper() in OPT_KEYWORDS else ""
    )
    replied_to = params.get("OriginalRepliedMessageSid", "")
    return InboundMessage(
        **common,
        sender_name=params.get("ProfileName", ""),
        text=body,
        message_id=sid,
        in_reply_to=[replied_to] if replied_to else [],
        attachments=attachments,
        # Opt-out keywords change what we may send, they ask nothing (Twilio answers them).
        event=EVENT_MEMBERSHIP if opt_out else EVENT_MESSAGE,
        # Answer from the number the customer wrote to, to the address as Twilio gave it.
        reply_fields={"to": sender, "from": ours},
    )


def _identity(address: str) -> tuple[str, str]:
    """(sender type, E.164 number) of a Twilio address: `whatsapp:+34...` or `+34...`."""
    scheme, _, rest = address.partition(":")
    if rest and scheme == "whatsapp":
        return "whatsapp", rest.strip()
    if rest and scheme == "messenger":
        return "messenger", rest.strip()
    return "phone", address.replace(" ", "")


def _content(params: dict[str, str]) -> tuple[str, list[Attachment]]:
    body = params.get("Body", "")
    attachments: list[Attachment] = []
    labels: list[str] = []
    try:
        count = min(int(params.get("NumMedia", "0") or 0), MAX_MEDIA)
    except ValueError:
        count = 0
    for index in range(count):
        url = params.get(f"MediaUrl{index}", "")
        if not url:
            continue
        content_type = params.get(f"MediaContentType{index}", "")
        attachments.append(media_attachment(url, content_type))
        labels.append(placeholder(kind_of_content_type(content_type)))
    if params.get("Latitude") and params.get("Longitude"):
        where = params.get("Label") or params.get("Address") or f"{params['Latitude']}, {params['Longitude']}"
        labels.append(f"[location: {where}]")
    if not body.strip():
        # A quick-reply button tap on WhatsApp carries its text apart from Body.
        body = params.get("ButtonText", "") or " ".join(labels)
    return body, attachments


register(
    ChannelType(
        name=TYPE,
        verify=verify,
        events=events,
        normalize=normalize,
        default_api_base=DEFAULT_API_BASES[TYPE],
    )
)
