"""Channel configuration: the one place a channel is created, changed or read (CLI and panel)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.store.models import Channel
from mailbot.store.secrets import decrypt_secret, encrypt_secret
from webhooks import ChannelConfig

# The platforms' public API bases; `--api-base` points a channel elsewhere (a test
# server, a proxy). Forms answer by mail and have none.
DEFAULT_API_BASES = {
    "slack": "https://slack.com/api",
    "telegram": "https://api.telegram.org",
    "whatsapp": "https://graph.facebook.com/v21.0",
    "messenger": "https://graph.facebook.com/v21.0",
    "instagram": "https://graph.facebook.com/v21.0",
    "twilio": "https://api.twilio.com",
    "x": "https://api.x.com",
    "generic": "",
    "form": "",
}
CHANNEL_TYPES = tuple(DEFAULT_API_BASES)
# Options each type understands; anything else is refused so a typo is not silently ignored.
KNOWN_OPTIONS: dict[str, frozenset[str]] = {
    "slack": frozenset({"groups", "language", "bot_user_id"}),
    "telegram": frozenset({"groups", "language", "bot_username"}),
    "whatsapp": frozenset({"phone_number_id", "verify_token", "language", "template", "template_language"}),
    "messenger": frozenset({"verify_token", "language", "page_id"}),
    "instagram": frozenset({"verify_token", "language", "page_id"}),
    "twilio": frozenset({"from", "language", "template_sid"}),
    "x": frozenset({"account_id", "language"}),
    "generic": frozenset({"language", "mailbox"}),
    "form": frozenset({"mailbox", "language", "title"}),
}
GROUP_POLICIES = ("mentions", "all", "ignore")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


class ChannelConfigError(ValueError):
    pass


@dataclass(frozen=True)
class ChannelSpec:
    type: str
    name: str
    secret: str = ""
    token: str = ""
    api_base: str | None = None
    options: dict[str, str] = field(default_factory=dict)


def webhook_path(channel_type: str, name: str) -> str:
    return f"/forms/{name}" if channel_type == "form" else f"/webhooks/{channel_type}/{name}"


def validate_spec(spec: ChannelSpec, *, secret_stored: bool = False) -> None:
    if spec.type not in DEFAULT_API_BASES:
        raise ChannelConfigError(f"unknown channel type {spec.type!r}; one of {', '.join(CHANNEL_TYPES)}")
    if not _NAME.match(spec.name):
        raise ChannelConfigError(
            f"channel name {spec.name!r}: lower-case letters, digits, '-' and '_' (it is part of a URL)"
        )
    if spec.type != "form" and not spec.secret and not secret_stored:
        raise ChannelConfigError(f"a {spec.type} channel needs --secret to verify what it receives")
    unknown = set(spec.options) - KNOWN_OPTIONS[spec.type]
    if unknown:
        known = ", ".join(sorted(KNOWN_OPTIONS[spec.type]))
        raise ChannelConfigError(
            f"unknown option(s) {', '.join(sorted(unknown))} for {spec.type}; known: {known}"
        )
    groups = spec.options.get("groups")
    if groups is not None and groups not in GROUP_POLICIES:
        raise ChannelConfigError(f"groups={groups!r}: one of {', '.join(GROUP_POLICIES)}")
    if spec.api_base is not None and not re.match(r"^https?://[^\s/]+", spec.api_base):
        raise ChannelConfigError(f"--api-base {spec.api_base!r} is not an http(s) URL")
    if spec.type == "whatsapp" and not spec.options.get("phone_number_id"):
        raise ChannelConfigError("a whatsapp channel needs --option phone_number_id=...")
    if spec.type == "twilio" and not spec.options.get("from"):
        raise ChannelConfigError("a twilio channel needs --option from=+<our number>")
    if spec.type == "twilio" and spec.token and ":" not in spec.token:
        raise ChannelConfigError("a twilio --token is ACCOUNT_SID:AUTH_TOKEN")
    if spec.type == "x" and not spec.options.get("account_id"):
        raise ChannelConfigError("an x channel needs --option account_id=<our X user id>")


def add_channel(session: Session, spec: ChannelSpec, secret_key: str) -> Channel:
    validate_spec(spec)
    existing = session.scalar(select(Channel).where(Channel.type == spec.type, Channel.name == spec.name))
    if existing is not None:
        raise ChannelConfigError(f"a {spec.type} channel named {spec.name!r} already exists")
    channel = Channel(type=spec.type, name=spec.name)
    apply_spec(channel, spec, secret_key)
    session.add(channel)
    session.flush()
    return channel


def apply_spec(channel: Channel, spec: ChannelSpec, secret_key: str) -> None:
    """Write a validated spec onto a row; an empty secret or token keeps the stored one."""
    if spec.secret:
        channel.secret = encrypt_secret(secret_key, spec.secret)
    if spec.token:
        channel.token = encrypt_secret(secret_key, spec.token)
    channel.api_base = spec.api_base.rstrip("/") if spec.api_base else None
    channel.options = json.dumps(dict(sorted(spec.options.items())))


def channel_options(channel: Channel) -> dict[str, str]:
    try:
        value = json.loads(channel.options or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def config_of(channel: Channel, secret_key: str) -> ChannelConfig:
    options = channel_options(channel)
    return ChannelConfig(
        id=channel.id,
        type=channel.type,
        name=channel.name,
        secret=decrypt_secret(secret_key, channel.secret),
        token=decrypt_secret(secret_key, channel.token),
        api_base=(channel.api_base or DEFAULT_API_BASES.get(channel.type, "")).rstrip("/"),
        options=options,
        language=options.get("language"),
    )


def find_channel(session: Session, channel_type: str, name: str) -> Channel | None:
    return session.scalar(
        select(Channel).where(Channel.type == channel_type, Channel.name == name, Channel.enabled.is_(True))
    )


def load_config(session: Session, channel_id: int, secret_key: str) -> ChannelConfig | None:
    channel = session.get(Channel, channel_id)
    return config_of(channel, secret_key) if channel is not None else None
