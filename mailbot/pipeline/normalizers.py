"""Normalise, for every channel: stored raw bytes -> one InboundMessage.

The normaliser is picked by `Inbound.channel`: mail goes through the MIME parser
(normalize.py), every other channel through its platform module's `normalize`
(webhooks/<type>.py, registered in webhooks.CHANNEL_TYPES). Language is detected here
for all of them, on what the sender newly wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from mailbot.language import detect_language
from mailbot.limits import Limits
from mailbot.message import EVENT_MESSAGE, InboundMessage
from mailbot.pipeline.normalize import DEFAULT_LIMITS, normalize_email
from mailbot.pipeline.storable import keep_within
from webhooks import CHANNEL_TYPES, ChannelConfig, UnreadableEvent, load_channel_types


@dataclass(frozen=True)
class NormalizeSettings:
    staff_domains: frozenset[str]
    default_language: str
    max_attachment_bytes: int
    limits: Limits = DEFAULT_LIMITS


def normalize_inbound(
    raw: bytes, channel_type: str, channel: ChannelConfig | None, settings: NormalizeSettings
) -> InboundMessage:
    if channel_type == "email":
        return normalize_email(
            raw,
            staff_domains=settings.staff_domains,
            default_language=settings.default_language,
            max_attachment_bytes=settings.max_attachment_bytes,
            limits=settings.limits,
        )
    kind = load_channel_types().get(channel_type) or CHANNEL_TYPES.get(channel_type)
    if kind is None:
        raise UnreadableEvent(f"no normaliser for channel {channel_type!r}")
    if channel is None:
        raise UnreadableEvent(f"the {channel_type} channel this event came in on no longer exists")
    msg = keep_within(kind.normalize(raw, channel), settings.limits)
    if msg.event != EVENT_MESSAGE or not msg.text.strip():
        return replace(msg, language=msg.language or channel.language or settings.default_language)
    default = channel.language or settings.default_language
    return replace(msg, language=msg.language or detect_language(msg.text, default=default))
