"""WhatsApp Cloud API webhooks (developers.facebook.com/documentation/business-messaging/
whatsapp/webhooks/reference/messages, .../smb_message_echoes).

A body is `{"object": "whatsapp_business_account", "entry": [{"id": <WABA id>, "changes":
[{"field": ..., "value": {...}}]}]}`. A `messages` change carries `metadata.phone_number_id`
(which of the business's numbers it is about), `contacts[]` (profile names by `wa_id`),
and `messages[]` from customers or `statuses[]` of what we sent. `smb_message_echoes`
carries `message_echoes[]`: what the business itself sent from the WhatsApp Business app
(coexistence), so our own. Every item becomes one stored event; signature and handshake
are Meta's (meta.py).

Events for another number than the channel's `phone_number_id`: one app's webhook gets
the traffic of every number of the business accounts it is subscribed to. Such an event
is recorded under this channel as what it is *for this channel*: a notice about the
platform account (EVENT_STATUS), never a conversation of ours, with a parse warning
naming the number. Its ids are prefixed, so the channel that owns the number can still
record the same message as its own.
"""

from __future__ import annotations

from typing import Any

from mailbot.channels import DEFAULT_API_BASES
from mailbot.message import (
    EVENT_DELETE,
    EVENT_EDIT,
    EVENT_MEMBERSHIP,
    EVENT_MESSAGE,
    EVENT_REACTION,
    EVENT_STATUS,
    Attachment,
    InboundMessage,
)
from webhooks import (
    ChannelConfig,
    ChannelType,
    Rejected,
    UnreadableEvent,
    WebhookEvent,
    WebhookRequest,
    meta,
    register,
)
from webhooks.attachments import media_attachment
from webhooks.checks import compact_json, stored_object
from webhooks.fields import unix_time
from webhooks.media import placeholder
from webhooks.payload import derived_id, object_list, section, sections, text

TYPE = "whatsapp"
OBJECT = "whatsapp_business_account"
# Media message types and what a reader calls them; audio with `voice: true` is a voice note.
MEDIA_KINDS = {
    "image": "photo",
    "video": "video",
    "sticker": "sticker",
    "audio": "audio",
    "document": "document",
}


def events(request: WebhookRequest, channel: ChannelConfig) -> list[WebhookEvent]:
    found: list[WebhookEvent] = []
    for entry in meta.parse_body(request, (OBJECT,)):
        for change in object_list(entry, "changes"):
            value = change.get("value")
            if not isinstance(value, dict):
                raise Rejected(400, "a change without a value object")
            field = text(change, "field")
            context = {"entry_id": text(entry, "id"), "field": field, "metadata": section(value, "metadata")}
            before = len(found)
            contacts = sections(value, "contacts")
            for message in object_list(value, "messages"):
                event_id = _required_id(message, "message")
                sender = text(message, "from")
                contact = [c for c in contacts if text(c, "wa_id") == sender][:1]
                found.append(_event(event_id, context, "message", message, contacts=contact))
            for status in object_list(value, "statuses"):
                # One message of ours gets sent, delivered and read: one event each.
                event_id = f"status:{_required_id(status, 'status')}:{text(status, 'status')}"
                found.append(_event(event_id, context, "status", status))
            for echo in object_list(value, "message_echoes"):
                found.append(_event(_required_id(echo, "echo"), context, "echo", echo))
            if len(found) == before:
                # Anything else (template or quality updates, account notices, errors):
                # stored as a notice, so nothing the platform told us is lost.
                found.append(
                    _event(derived_id(f"notice:{field or 'unknown'}", change), context, "notice", value)
                )
    return found


def _required_id(item: dict[str, Any], what: str) -> str:
    event_id = text(item, "id")
    if not event_id:
        raise Rejected(400, f"a WhatsApp {what} without an id")
    return event_id


def _event(
    event_id: str, context: dict[str, Any], kind: str, item: dict[str, Any], **extra: Any
) -> WebhookEvent:
    return WebhookEvent(
        event_id, compact_json({"event_id": event_id, **context, "kind": kind, "item": item, **extra})
    )


def normalize(payload: bytes, channel: ChannelConfig) -> InboundMessage:
    data = stored_object(payload)
    kind = text(data, "kind")
    item = section(data, "item")
    number_id = text(section(data, "metadata"), "phone_number_id")
    ours = channel.options.get("phone_number_id", "")
    if kind == "notice":
        return _notice(data, f"WhatsApp {text(data, 'field') or 'account'} notice", number_id)
    if not number_id:
        raise UnreadableEvent("a WhatsApp event without metadata.phone_number_id")
    if ours and number_id != ours:
        return _notice(
            data,
            f"for WhatsApp number id {number_id}, not this channel's {ours}: recorded, never answered",
            number_id,
        )
    if kind == "status":
        return _status(item, number_id)
    if kind == "message":
        contact = (sections(data, "contacts") or [{}])[0]
        name = text(section(contact, "profile"), "name")
        return _message(item, number_id, customer=text(item, "from"), name=name, from_us=False)
    if kind == "echo":
        return _message(item, number_id, customer=text(item, "to"), name="", from_us=True)
    raise UnreadableEvent(f"unknown stored WhatsApp event kind {kind!r}")


def _message(
    item: dict[str, Any], number_id: str, *, customer: str, name: str, from_us: bool
) -> InboundMessage:
    message_id = text(item, "id")
    if not customer or not message_id:
        raise UnreadableEvent("a WhatsApp message without its customer number or id")
    kind = text(item, "type")
    event, body = EVENT_MESSAGE, ""
    target: str | None = None
    attachments: list[Attachment] = []
    warnings: list[str] = []
    if kind == "reaction":
        reaction = section(item, "reaction")
        # An empty emoji is the customer taking the reaction back.
        event, target, body = EVENT_REACTION, text(reaction, "message_id") or None, text(reaction, "emoji")
    elif kind == "edit":
        edit = section(item, "edit")
        event, target = EVENT_EDIT, text(edit, "original_message_id") or None
        body, attachments, warnings = _content(section(edit, "message"))
    elif kind == "revoke":
        event, target = EVENT_DELETE, text(section(item, "revoke"), "original_message_id") or None
    elif kind in {"system", "request_welcome"}:
        # A customer changed their number, or opened the chat for the first time.
        event, body = EVENT_MEMBERSHIP, text(section(item, "system"), "body")
    else:
        body, attachments, warnings = _content(item)
    sender = _e164(text(item, "from")) if from_us else _e164(customer)
    context = section(item, "context")
    return InboundMessage(
        channel=TYPE,
        sender_type="whatsapp",
        sender_address=sender,
        sender_name=name,
        subject="",
        text=body,
        message_id=message_id,
        in_reply_to=[text(context, "id")] if text(context, "id") else [],
        date=unix_time(text(item, "timestamp")),
        attachments=attachments,
        parse_warnings=warnings,
        conversation_key=f"whatsapp:{number_id}:{_digits(customer)}",
        event=event,
        target_message_id=target,
        from_us=from_us,
        reply_fields={"to": _digits(customer)},
    )


def _content(item: dict[str, Any]) -> tuple[str, list[Attachment], list[str]]:
    """What a customer's message says: its text, media reference and placeholder."""
    kind = text(item, "type")
    if kind == "text":
        return text(section(item, "text"), "body"), [], []
    if kind in MEDIA_KINDS:
        media = section(item, kind)
        filename = text(media, "filename")
        reader_kind = "voice" if kind == "audio" and media.get("voice") is True else MEDIA_KINDS[kind]
        attachment = media_attachment(text(media, "id"), text(media, "mime_type"), filename)
        return text(media, "caption") or placeholder(reader_kind, filename), [attachment], []
    if kind == "location":
        location = section(item, "location")
        where = ", ".join(p for p in (text(location, "name"), text(location, "address")) if p)
        where = where or f"{location.get('latitude')}, {location.get('longitude')}"
        return f"[location: {where}]", [], []
    if kind == "contacts":
        names = [text(section(c, "name"), "formatted_name") for c in sections(item, "contacts")]
        shown = ", ".join(n for n in names if n)
        return (f"[contact: {shown}]" if shown else placeholder("contact")), [], []
    if kind == "interactive":
        # A tap on a reply button or a list row we offered: its title is what they chose.
        interactive = section(item, "interactive")
        reply = section(interactive, text(interactive, "type"))
        return text(reply, "title") or text(reply, "body") or "[reply]", [], []
    if kind == "button":
        # A quick-reply button of a template message.
        button = section(item, "button")
        return text(button, "text") or text(button, "payload"), [], []
    if kind == "order":
        return "[order]", [], []
    errors = "; ".join(f"({text(e, 'code')}) {text(e, 'title')}" for e in sections(item, "errors"))
    return (
        placeholder("unsupported message"),
        [],
        [f"WhatsApp message type {kind!r}: {errors or 'not supported'}"],
    )


def _status(item: dict[str, Any], number_id: str) -> InboundMessage:
    recipient = text(item, "recipient_id")
    state = text(item, "status")
    errors = "; ".join(f"({text(e, 'code')}) {text(e, 'title')}" for e in sections(item, "errors"))
    return InboundMessage(
        channel=TYPE,
        sender_type="whatsapp",
        sender_address=_e164(recipient) if recipient else "",
        sender_name="",
        subject="",
        text=f"{state}: {errors}" if errors else state,
        message_id=f"status:{text(item, 'id')}:{state}",
        date=unix_time(text(item, "timestamp")),
        conversation_key=f"whatsapp:{number_id}:{_digits(recipient)}" if recipient else "",
        event=EVENT_STATUS,
        # The message of ours the status is about (the wamid our sender recorded).
        target_message_id=text(item, "id") or None,
    )


def _notice(data: dict[str, Any], warning: str, number_id: str) -> InboundMessage:
    item = section(data, "item")
    customer = text(item, "from") or text(item, "recipient_id") or text(item, "to")
    return InboundMessage(
        channel=TYPE,
        sender_type="whatsapp",
        sender_address=_e164(customer) if customer else "",
        sender_name="",
        subject="",
        text="",
        message_id=f"notice:{text(data, 'event_id')}",
        date=unix_time(text(item, "timestamp")),
        parse_warnings=[warning],
        conversation_key=f"whatsapp:{number_id}:{_digits(customer)}" if number_id and customer else "",
        event=EVENT_STATUS,
    )


def _digits(number: str) -> str:
    return number.lstrip("+")


def _e164(number: str) -> str:
    """wa_id is the phone number in digits; identities are kept in E.164 across channels."""
    return "+" + _digits(number)


register(
    ChannelType(
        name=TYPE,
        verify=meta.verify,
        events=events,
        normalize=normalize,
        handshake=meta.handshake,
        default_api_base=DEFAULT_API_BASES[TYPE],
    )
)
