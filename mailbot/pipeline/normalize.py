"""Normalise: raw bytes from any source -> one InboundMessage, sender resolved, language known."""

from __future__ import annotations

from dataclasses import replace

from mailbot.language import detect_language
from mailbot.limits import Limits
from mailbot.mail.addresses import NamedAddress, display_name_warning
from mailbot.mail.forwarded import find_forwarded
from mailbot.mail.parse import parse_email
from mailbot.mail.quotes import split_reply
from mailbot.message import ForwardedOrigin, InboundMessage
from mailbot.pipeline.storable import keep_within

DEFAULT_LIMITS = Limits()

MAX_FORWARD_DEPTH = 5


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def normalize_email(
    raw: bytes,
    *,
    staff_domains: frozenset[str],
    default_language: str,
    max_attachment_bytes: int,
    limits: Limits = DEFAULT_LIMITS,
) -> InboundMessage:
    msg = parse_email(
        raw,
        max_attachment_bytes=max_attachment_bytes,
        max_message_bytes=limits.max_message_bytes,
        max_mime_depth=limits.max_mime_depth,
        max_html_read_chars=limits.max_html_read_chars,
    )
    msg = keep_within(msg, limits)
    msg = resolve_forwarded_sender(msg, staff_domains)
    msg = keep_forwarded_text(msg)
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
    # What colleagues wrote above their forwards is for the agents, not the customer's
    # words: kept apart (forward_note), never in the text the ticket and language go by.
    notes = [msg.text.strip()]
    # customer -> staff A -> staff B: look through the colleagues' forwards for the customer.
    for _ in range(MAX_FORWARD_DEPTH):
        if domain_of(origin.address) not in staff_domains:
            break
        inner = find_forwarded("Fwd: " + origin.subject, origin.text)
        if inner is None:
            return msg  # an internal forward between colleagues: keep the forwarder
        earlier = split_reply(origin.text).new.strip()
        if earlier:
            notes.append(f"{origin.name or origin.address} wrote:\n{earlier}")
        origin = inner
    else:
        return msg
    parts = split_reply(origin.text)
    note = "\n\n".join(n for n in notes if n)
    spoof = display_name_warning(NamedAddress(origin.address, origin.name, origin.claimed_address))
    return replace(
        msg,
        sender_address=origin.address.lower(),
        sender_name=origin.name,
        subject=origin.subject or msg.subject,
        text=parts.new,
        quoted_text=parts.quoted,
        signature=parts.signature,
        headers={**msg.headers, "x-mailbot-forwarded-by": msg.sender_address},
        warnings=msg.warnings + ([spoof] if spoof else []),
        forwarded_by=msg.sender_address,
        forward_note=note,
    )


def keep_forwarded_text(msg: InboundMessage) -> InboundMessage:
    """A customer who forwards a message without a word of their own means the forwarded
    message: it is what they are telling us, so it becomes the text.

    Every client's forward marker (Thunderbird's "-------- Forwarded Message --------",
    Gmail's, Apple Mail's "Begin forwarded message:", Outlook's From:/Sent: block) reads as
    a quote to split_reply, and a forward sent as an attachment has no text at all, so
    without this the message would be stored empty. The origin stays in `forwarded`.
    """
    origin = msg.forwarded
    if origin is None or msg.forwarded_by is not None or msg.text.strip():
        return msg
    parts = split_reply(origin.text)
    if not parts.new.strip():
        return msg if not origin.text.strip() else replace(msg, text=origin.text.strip("\n"))
    return replace(msg, text=parts.new, quoted_text=parts.quoted, signature=msg.signature or parts.signature)


def forwarded_origin_of(msg: InboundMessage) -> ForwardedOrigin | None:
    """The message a customer forwarded to us (None for a staff forward: its origin is
    already the sender)."""
    return msg.forwarded if msg.forwarded_by is None else None
