"""Normalise: raw bytes from any source -> one InboundMessage, sender resolved, language known."""

from __future__ import annotations

from dataclasses import replace

from mailbot.language import detect_language
from mailbot.mail.parse import parse_email
from mailbot.mail.quotes import split_reply
from mailbot.message import InboundMessage


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def normalize_email(
    raw: bytes,
    *,
    staff_domains: frozenset[str],
    default_language: str,
    max_attachment_bytes: int,
) -> InboundMessage:
    msg = parse_email(raw, max_attachment_bytes=max_attachment_bytes)
    msg = resolve_forwarded_sender(msg, staff_domains)
    language = detect_language(msg.text, default=default_language)
    return replace(msg, language=language)


def resolve_forwarded_sender(msg: InboundMessage, staff_domains: frozenset[str]) -> InboundMessage:
    """A staff member forwarding a customer's mail makes a ticket for the customer.

    Only staff forwards are rewritten: a customer forwarding someone else's mail to us
    is still the customer (peers.md, complaint 5).
    """
    origin = msg.forwarded
    if origin is None or domain_of(msg.sender_address) not in staff_domains:
        return msg
    if domain_of(origin.address) in staff_domains:
        return msg  # an internal forward chain: keep the forwarder
    parts = split_reply(origin.text)
    note = msg.text.strip()
    return replace(
        msg,
        sender_address=origin.address.lower(),
        sender_name=origin.name,
        subject=origin.subject or msg.subject,
        text=parts.new,
        quoted_text=parts.quoted,
        signature=parts.signature,
        headers={**msg.headers, "x-mailbot-forwarded-by": msg.sender_address},
        parse_warnings=msg.parse_warnings
        + ([f"staff note from {msg.sender_address}: {note}"] if note else []),
    )
