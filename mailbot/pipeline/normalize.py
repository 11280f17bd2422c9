"""Normalise: raw bytes from any source -> one InboundMessage, sender resolved, language known."""

from __future__ import annotations

from dataclasses import replace

from mailbot.language import detect_language
from mailbot.mail.forwarded import find_forwarded
from mailbot.mail.parse import parse_email
from mailbot.mail.quotes import split_reply
from mailbot.message import InboundMessage

MAX_FORWARD_DEPTH = 5


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
    # customer -> staff A -> staff B: look through the colleagues' forwards for the customer.
    for _ in range(MAX_FORWARD_DEPTH):
        if domain_of(origin.address) not in staff_domains:
            break
        inner = find_forwarded("Fwd: " + origin.subject, origin.text)
        if inner is None:
            return msg  # an internal forward between colleagues: keep the forwarder
        origin = inner
    else:
        return msg
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
