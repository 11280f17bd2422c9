"""Readable stand-ins for media-only chat messages: "[photo]", "[voice message]",
"[document: invoice.pdf]".

A photo or a voice note with no caption is still a customer message (issue 8); the
ticket shows this text and keeps the platform's media reference in the attachment.
"""

from __future__ import annotations

MEDIA_LABELS = {
    "photo": "photo",
    "image": "image",
    "voice": "voice message",
    "audio": "audio",
    "video": "video",
    "video_note": "video message",
    "animation": "animation",
    "document": "document",
    "file": "file",
    "sticker": "sticker",
    "location": "location",
    "contact": "contact",
}


def placeholder(kind: str, name: str = "") -> str:
    label = MEDIA_LABELS.get(kind, kind)
    return f"[{label}: {name}]" if name else f"[{label}]"


def placeholder_text(placeholders: list[str]) -> str:
    return " ".join(placeholders)
