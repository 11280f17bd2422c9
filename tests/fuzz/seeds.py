"""Real-looking inputs for every parser of untrusted bytes, for the property tests and
the fuzz target to mutate: the mail corpus, and each platform's payloads as the platform
fixtures build them (written from the platforms' docs, not from our parsers)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from mailbot.message import InboundMessage
from mailbot.pipeline.normalizers import NormalizeSettings, normalize_inbound
from mailbot.pipeline.storable import keep_within
from tests.fixtures.platforms import as_bytes, channel_config, webhook_request
from tests.fixtures.platforms import generic as generic_fx
from tests.fixtures.platforms import meta as meta_fx
from tests.fixtures.platforms import slack as slack_fx
from tests.fixtures.platforms import telegram as telegram_fx
from tests.fixtures.platforms import twilio as twilio_fx
from tests.fixtures.platforms import x as x_fx
from webhooks import ChannelConfig, Rejected, Reply, UnreadableEvent, WebhookEvent, load_channel_types

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def mail_seeds() -> list[bytes]:
    return [path.read_bytes() for path in sorted(CORPUS.glob("*.eml"))]


def nested_mail(depth: int) -> bytes:
    """A mail whose text part sits inside `depth` multiparts, each inside the last."""
    opening = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i) for i in range(depth)
    )
    closing = b"".join(b"\r\n--b%d--\r\n" % i for i in reversed(range(depth)))
    return (
        b"From: a@example.com\r\nSubject: deep\r\n"
        + opening
        + b"Content-Type: text/plain\r\n\r\nhola\r\n"
        + closing
    )


CHANNELS: dict[str, ChannelConfig] = {
    "slack": channel_config("slack", secret=slack_fx.SIGNING_SECRET, token=slack_fx.BOT_TOKEN),
    "telegram": channel_config(
        "telegram", secret=telegram_fx.SECRET_TOKEN, options={"bot_username": telegram_fx.BOT_USERNAME}
    ),
    "whatsapp": channel_config(
        "whatsapp", secret=meta_fx.APP_SECRET, options={"phone_number_id": meta_fx.PHONE_NUMBER_ID}
    ),
    "messenger": channel_config("messenger", secret=meta_fx.APP_SECRET),
    "instagram": channel_config("instagram", secret=meta_fx.APP_SECRET),
    "twilio": channel_config("twilio", secret=twilio_fx.AUTH_TOKEN, options={"from": twilio_fx.OUR_NUMBER}),
    "x": channel_config("x", secret=x_fx.CONSUMER_SECRET),
    "generic": channel_config("generic", secret=generic_fx.SECRET, name="shop"),
}


def _json_seeds() -> dict[str, list[Any]]:
    original = slack_fx.message("Hola, no me llega el pedido")
    return {
        "slack": [
            slack_fx.envelope(original),
            slack_fx.envelope(slack_fx.message_changed(original, "editado")),
            slack_fx.envelope(slack_fx.app_mention("<@U0BOT> ayuda")),
            slack_fx.envelope(slack_fx.file_share()),
            slack_fx.envelope(slack_fx.reaction_added("1.2")),
        ],
        "telegram": [
            telegram_fx.update("message", telegram_fx.message("Olá, preciso de ajuda")),
            telegram_fx.update("edited_message", telegram_fx.message("editada")),
            telegram_fx.update("message", telegram_fx.mention_in_group(f"@{telegram_fx.BOT_USERNAME} ajuda")),
        ],
        "whatsapp": [
            meta_fx.whatsapp_body(meta_fx.messages_change(meta_fx.wa_text("Ciao, il pacco?"))),
            meta_fx.whatsapp_body(meta_fx.messages_change(meta_fx.wa_image("foto"))),
            meta_fx.whatsapp_body(meta_fx.statuses_change(meta_fx.wa_status("wamid.X"))),
        ],
        "messenger": [
            meta_fx.messaging_body(meta_fx.ms_text("Bonjour")),
            meta_fx.messaging_body(meta_fx.ms_read()),
        ],
        "instagram": [
            meta_fx.messaging_body(
                meta_fx.ms_text("Hallo", person=meta_fx.IGSID, account=meta_fx.IG_ACCOUNT_ID),
                obj="instagram",
                account=meta_fx.IG_ACCOUNT_ID,
            )
        ],
        "x": [x_fx.dm("Hi, my order?"), x_fx.mentions(x_fx.tweet("@AcmeSupport help")), x_fx.typing()],
        "generic": [generic_fx.submission()],
    }


@dataclass(frozen=True)
class Seed:
    channel_type: str
    body: bytes


def webhook_seeds() -> list[Seed]:
    seeds = [
        Seed(kind, as_bytes(payload)) for kind, payloads in _json_seeds().items() for payload in payloads
    ]
    seeds += [
        Seed("twilio", twilio_fx.encoded(params))
        for params in (twilio_fx.sms("Hola"), twilio_fx.whatsapp("Olá"), twilio_fx.mms(("image/jpeg", "u")))
    ]
    return seeds


def read_webhook(channel_type: str, body: bytes, *, detect_language: bool = True) -> Iterator[InboundMessage]:
    """A body as the web view hands it over (its signature taken as checked), cut into
    events and each event normalised, as the worker would. Raises only what the product
    answers with: Rejected at the edge (an HTTP status), UnreadableEvent (quarantine)."""
    kind = load_channel_types()[channel_type]
    channel = CHANNELS[channel_type]
    request = webhook_request(body, {"content-type": "application/json"})
    if channel_type == "twilio":
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        request = type(request)(request.method, request.url, request.headers, {}, body, form, 0.0)
    found: list[WebhookEvent] | Reply = kind.events(request, channel)
    if isinstance(found, Reply):
        return
    for event in found:
        if detect_language:
            yield normalize_inbound(event.payload, channel_type, channel, NORMALIZE)
        else:  # the fuzzer's way: the same mapping and clean-up, a hundred times faster
            yield keep_within(kind.normalize(event.payload, channel), NORMALIZE.limits)


NORMALIZE = NormalizeSettings(
    staff_domains=frozenset({"acme.test"}), default_language="en", max_attachment_bytes=1 << 20
)


def store_unsafe(msg: InboundMessage) -> list[str]:
    """The text fields of a normalised message that the store would refuse (NUL, lone
    surrogates), by name: what every parser's output must never hold."""
    bad = []
    for name, value in vars(msg).items():
        for text in _strings(value):
            if "\x00" in text or any("\ud800" <= ch <= "\udfff" for ch in text):
                bad.append(name)
                break
    return bad


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif hasattr(value, "__dataclass_fields__"):
        yield from _strings(vars(value))


EXPECTED_ERRORS = (Rejected, UnreadableEvent)


def mutate_json(value: Any, path: list[int], replacement: Any) -> Any:
    """`value` with the node `path` leads to (indices into containers' items, wrapping
    around) replaced: a real payload with one hostile part."""
    if not path or not isinstance(value, dict | list) or not value:
        return replacement
    index, rest = path[0], path[1:]
    if isinstance(value, dict):
        key = list(value)[index % len(value)]
        return {**value, key: mutate_json(value[key], rest, replacement)}
    position = index % len(value)
    return [*value[:position], mutate_json(value[position], rest, replacement), *value[position + 1 :]]


def as_json_seed(seed: Seed) -> Any | None:
    try:
        return json.loads(seed.body)
    except ValueError:
        return None
