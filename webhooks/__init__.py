"""Chat and social channels: one small module per platform, registered by its TYPE.

A platform module gives three pure pieces, and nothing else (shared/design.md):

- `verify(request, channel)`: the platform's documented signature check; raises
  `Rejected(401)` for a bad signature or a stale timestamp. Constant-time comparisons.
- `events(request, channel)`: the request cut into events, each with the platform's
  own id (the source key that makes a platform retry harmless) and the bytes to store;
  or a `Reply` the platform expects at once (Slack's url_verification challenge).
- `normalize(payload, channel)`: one stored event -> one InboundMessage, with its
  sender identity, conversation key, event kind and the fields an answer needs.

and optionally `handshake(request, channel)` for a GET subscription check (Meta's
hub.challenge, X's CRC). The web view (mailbot/web/webhooks.py) does the I/O: verify,
store each event durably, enqueue, answer 2xx.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mailbot.message import InboundMessage


@dataclass(frozen=True)
class ChannelConfig:
    """A configured channel with its secrets decrypted (store row: models.Channel)."""

    id: int
    type: str
    name: str
    secret: str  # verifies what comes in
    token: str  # what we answer with
    api_base: str  # the platform's public API base unless --api-base overrode it
    options: dict[str, str] = field(default_factory=dict)
    language: str | None = None


@dataclass(frozen=True)
class WebhookRequest:
    method: str
    # The URL the platform called: Twilio signs it. Behind a proxy it is
    # MAILBOT_PUBLIC_URL + path (mailbot/web/webhooks.py builds it).
    url: str
    headers: dict[str, str]  # names lower-cased
    query: dict[str, str]
    body: bytes
    form: dict[str, str]  # the parsed body when it is application/x-www-form-urlencoded
    received_at: float  # Unix time, for timestamp windows


@dataclass(frozen=True)
class WebhookEvent:
    event_id: str  # the platform's id for this event: unique per channel
    payload: bytes  # stored as Inbound.raw; normalize() reads it back


@dataclass(frozen=True)
class Reply:
    """An answer the platform expects in the response itself."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"

    @classmethod
    def json(cls, value: Any, status: int = 200) -> Reply:
        return cls(status, json.dumps(value).encode(), "application/json")


class Rejected(Exception):
    """The request is refused: 401 bad signature or stale, 400 malformed, 403 handshake."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class UnreadableEvent(Exception):
    """A stored event that normalize() cannot map: quarantined with its raw bytes."""


Verify = Callable[[WebhookRequest, ChannelConfig], None]
Events = Callable[[WebhookRequest, ChannelConfig], "list[WebhookEvent] | Reply"]
Normalize = Callable[[bytes, ChannelConfig], InboundMessage]
Handshake = Callable[[WebhookRequest, ChannelConfig], Reply]


@dataclass(frozen=True)
class ChannelType:
    name: str  # the TYPE in /webhooks/<type>/<name> and `mailbot channel add TYPE`
    verify: Verify
    events: Events
    normalize: Normalize
    handshake: Handshake | None = None
    default_api_base: str = ""


CHANNEL_TYPES: dict[str, ChannelType] = {}


def register(channel_type: ChannelType) -> ChannelType:
    CHANNEL_TYPES[channel_type.name] = channel_type
    return channel_type


def load_channel_types() -> dict[str, ChannelType]:
    """Import the platform modules so their registrations exist (never at import time)."""
    import importlib

    for module in PLATFORM_MODULES:
        importlib.import_module(f"webhooks.{module}")
    return CHANNEL_TYPES


# Modules register themselves when imported; forms are served by mailbot's own pages.
PLATFORM_MODULES = ("slack", "telegram", "whatsapp", "messenger", "twilio", "x", "generic", "form")
