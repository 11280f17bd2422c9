"""Dedupe: the same message seen twice (two mailboxes, a resync, a resend) is one message."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.message import InboundMessage
from mailbot.pipeline.subjects import normalize_subject
from mailbot.store.models import Message

_SPACE = re.compile(r"\s+")


def content_hash(msg: InboundMessage) -> str:
    """Same sender, subject, body and attachments: whitespace and case do not matter."""
    parts = [
        msg.channel,
        msg.sender_address.lower(),
        normalize_subject(msg.subject),
        _SPACE.sub(" ", msg.text).strip().casefold(),
        # Chat media stays on the platform (size 0, a generic name): its reference is
        # what tells two photos of one customer apart. Mail keeps its old hash.
        *sorted(
            f"{a.filename}:{a.size}" + (f":{a.reference}" if a.reference else "") for a in msg.attachments
        ),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def find_duplicate(
    session: Session, msg: InboundMessage, digest: str, now: datetime, window_seconds: int
) -> Message | None:
    if msg.message_id:
        same_id = session.scalar(select(Message).where(Message.internet_message_id == msg.message_id))
        if same_id is not None:
            return same_id
    return session.scalar(
        select(Message)
        .where(
            Message.content_hash == digest,
            Message.from_address == msg.sender_address.lower(),
            Message.received_at >= now - timedelta(seconds=window_seconds),
        )
        .limit(1)
    )
