"""Per queue, where new customer messages are delivered to agents: an e-mail address, a
Slack channel, or a signed webhook. `mailbot delivery add|list|remove` and the panel
edit them; pipeline/notify.py reads them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.channels import find_channel
from mailbot.mail.addresses import parse_address_list
from mailbot.store.models import DeliveryTarget
from mailbot.store.read_once import read_once
from mailbot.store.secrets import encrypt_secret

KINDS = ("email", "slack", "webhook")
# A Slack conversation id: C (public), G (private, legacy) or D (direct) and upper-case
# alphanumerics (api.slack.com/types/conversation).
SLACK_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
_QUEUE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


class DeliveryConfigError(ValueError):
    """A delivery target that cannot work as given; the message says what to fix."""


@dataclass(frozen=True)
class TargetSpec:
    queue: str
    kind: str  # one of KINDS
    address: str  # e-mail address, Slack channel id, or webhook URL
    slack_channel: str = ""  # the configured mailbot Slack channel's name
    secret: str = ""  # webhook: the HMAC key


def validate_target(spec: TargetSpec) -> None:
    if not _QUEUE.match(spec.queue):
        raise DeliveryConfigError(f"queue {spec.queue!r}: lower-case letters, digits, '-' and '_'")
    if spec.kind not in KINDS:
        raise DeliveryConfigError(f"unknown delivery kind {spec.kind!r}; one of {', '.join(KINDS)}")
    if spec.kind == "email":
        parsed = parse_address_list(spec.address)
        if len(parsed) != 1 or parsed[0].address != spec.address.strip().lower():
            raise DeliveryConfigError(f"--email {spec.address!r} is not one e-mail address")
    if spec.kind == "slack":
        if not spec.slack_channel:
            raise DeliveryConfigError("--slack names the configured Slack channel to post through")
        if not SLACK_CHANNEL_ID.match(spec.address):
            raise DeliveryConfigError(f"--channel-id {spec.address!r} is not a Slack channel id (C0123ABCD)")
    if spec.kind == "webhook":
        if not re.match(r"^https?://[^\s/]+\S*$", spec.address):
            raise DeliveryConfigError(f"--webhook {spec.address!r} is not an http(s) URL")
        if not spec.secret:
            raise DeliveryConfigError("a webhook target needs --secret to sign what it is sent")


def add_target(session: Session, spec: TargetSpec, secret_key: str) -> DeliveryTarget:
    validate_target(spec)
    address = spec.address.strip().lower() if spec.kind == "email" else spec.address.strip()
    channel_id = None
    if spec.kind == "slack":
        channel = find_channel(session, "slack", spec.slack_channel)
        if channel is None:
            raise DeliveryConfigError(
                f"no slack channel named {spec.slack_channel!r}: add it first (mailbot channel add slack ...)"
            )
        channel_id = channel.id
    existing = session.scalar(
        select(DeliveryTarget).where(
            DeliveryTarget.queue == spec.queue,
            DeliveryTarget.kind == spec.kind,
            DeliveryTarget.address == address,
        )
    )
    if existing is not None:
        raise DeliveryConfigError(f"queue {spec.queue} already delivers to {spec.kind} {address}")
    target = DeliveryTarget(
        queue=spec.queue,
        kind=spec.kind,
        address=address,
        channel_id=channel_id,
        secret=encrypt_secret(secret_key, spec.secret) if spec.secret else "",
    )
    session.add(target)
    session.flush()
    return target


@read_once
def targets_of(session: Session, queue: str) -> list[DeliveryTarget]:
    return list(
        session.scalars(
            select(DeliveryTarget)
            .where(DeliveryTarget.queue == queue, DeliveryTarget.enabled.is_(True))
            .order_by(DeliveryTarget.id)
        )
    )


def all_targets(session: Session) -> list[DeliveryTarget]:
    return list(session.scalars(select(DeliveryTarget).order_by(DeliveryTarget.queue, DeliveryTarget.id)))


def describe(target: DeliveryTarget) -> str:
    """How a person reads a target: `email team@acme.test`, `webhook https://...`."""
    return f"{target.kind} {target.address}"
