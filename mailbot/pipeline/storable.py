"""Normalise's last word on any message: what is kept fits the limits and the store.

Whatever a parser made of hostile bytes, the text fields of an InboundMessage must go
into PostgreSQL and SQLite and be read by an agent: no NUL (PostgreSQL's text refuses
it), no lone surrogate (no UTF-8 encoder accepts one; JSON's "\\ud800" makes them), and
no text so long that language detection, similarity and the panel crawl. What is cut
stays in the raw message, and the agent is told (limits.py).
"""

from __future__ import annotations

import re
from dataclasses import fields, is_dataclass, replace
from typing import Any

from mailbot.limits import Limits
from mailbot.message import InboundMessage
from mailbot.store.models import Attachment, Contact, ContactIdentity, Message

_SURROGATE = re.compile(r"[\ud800-\udfff]")


def store_safe(value: str) -> str:
    if value.isascii():
        return value.replace("\x00", "") if "\x00" in value else value
    return _SURROGATE.sub("\ufffd", value.replace("\x00", ""))


def _safe(value: Any) -> Any:
    if isinstance(value, str):
        return store_safe(value)
    if isinstance(value, list):
        return [_safe(item) for item in value]
    if isinstance(value, dict):
        return {_safe(key): _safe(item) for key, item in value.items()}
    if is_dataclass(value) and not isinstance(value, type):
        # A forwarded origin or an enclosed copy: their addresses and ids are queried.
        return replace(value, **{f.name: _safe(getattr(value, f.name)) for f in fields(value)})
    return value


# The fields a message carries into the store (attachments are bytes, dates are dates).
_TEXT_FIELDS = (
    "sender_address", "sender_name", "subject", "text", "quoted_text", "signature", "html",
    "message_id", "in_reply_to", "references", "recipients", "headers", "return_path",
    "content_type", "conversation_key", "target_message_id", "reply_fields", "warnings",
    "parse_warnings", "forwarded_by", "forward_note", "bounced_message_id", "reserved_ref",
    "forwarded", "enclosed",
)  # fmt: skip


def _width(column: Any) -> int:
    """A column's VARCHAR length: PostgreSQL refuses a longer value (SQLite does not care)."""
    length = column.type.length
    assert isinstance(length, int)
    return length


def _fit(value: str, column: Any) -> str:
    return value[: _width(column)]


def _fit_optional(value: str | None, column: Any) -> str | None:
    return None if value is None else _fit(store_safe(value), column)


def keep_within(msg: InboundMessage, limits: Limits) -> InboundMessage:
    changes: dict[str, Any] = {name: _safe(getattr(msg, name)) for name in _TEXT_FIELDS}
    # Identifiers and names go into columns of a fixed width; no real sender, Message-ID
    # (RFC 5322: a line of 998) or filename is longer, a hostile one must not stop filing.
    changes["sender_name"] = _fit(changes["sender_name"], Message.from_name)
    changes["sender_address"] = _fit(changes["sender_address"], Message.from_address)
    changes["message_id"] = _fit_optional(changes["message_id"], Message.internet_message_id)
    changes["conversation_key"] = _fit(changes["conversation_key"], Message.conversation_key)
    changes["forwarded_by"] = _fit_optional(changes["forwarded_by"], Message.forwarded_by)
    if changes["forwarded"] is not None:
        origin = changes["forwarded"]
        changes["forwarded"] = replace(
            origin, address=_fit(origin.address, Message.forwarded_from), name=_fit(origin.name, Contact.name)
        )
    changes["claimed_identities"] = [
        replace(
            i,
            value=_fit(store_safe(i.value), ContactIdentity.handle),
            name=_fit(store_safe(i.name), Contact.name),
        )
        for i in msg.claimed_identities
    ]
    changes["attachments"] = [
        replace(
            a,
            filename=_fit(store_safe(a.filename), Attachment.filename),
            content_type=_fit(store_safe(a.content_type), Attachment.content_type),
            reference=_fit_optional(a.reference, Attachment.reference),
        )
        for a in msg.attachments
    ]
    cut: list[str] = []
    for name, limit in (
        ("text", limits.max_text_chars),
        ("quoted_text", limits.max_text_chars),
        ("html", limits.max_html_chars),
    ):
        value = changes[name]
        if value is not None and len(value) > limit:
            changes[name] = value[:limit]
            cut.append(f"{name.replace('_', ' ')} ({len(value)} characters)")
    if cut:
        changes["warnings"] = [
            *changes["warnings"],
            f"Cut to the limit of what is kept: {', '.join(cut)}; the raw message holds all of it.",
        ]
    return replace(msg, **changes)
