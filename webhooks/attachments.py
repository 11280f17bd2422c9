"""Media that stays on the platform: an Attachment without bytes, with the reference
(the platform's media id or URL) to fetch it by, and what a reader calls it.

A customer who sends only a photo still wrote to us (issue 8): the message keeps the
media reference and a readable placeholder text (webhooks/media.py).
"""

from __future__ import annotations

import mimetypes
import posixpath
from urllib.parse import unquote, urlsplit

from mailbot.message import Attachment


def kind_of_content_type(content_type: str) -> str:
    """What a MIME type looks like to a reader: image/* is a photo, audio/* a voice note.

    Chat apps record voice notes as audio (WhatsApp audio/ogg; codecs=opus); an audio
    file sent as such is rare enough in support chats that "voice message" reads best."""
    major = content_type.split("/", 1)[0].strip().lower()
    if content_type.lower().startswith("image/gif"):
        return "animation"
    return {"image": "photo", "video": "video", "audio": "voice"}.get(major, "document")


def media_attachment(reference: str, content_type: str, filename: str = "") -> Attachment:
    """An attachment that stays on the platform: no bytes, only the reference to fetch it by."""
    content_type = content_type or "application/octet-stream"
    return Attachment(
        filename=filename or default_filename(content_type),
        content_type=content_type,
        size=0,
        data=None,
        reference=reference,
    )


def default_filename(content_type: str) -> str:
    kind = kind_of_content_type(content_type)
    base = {"photo": "photo", "animation": "animation", "video": "video", "voice": "voice"}.get(kind, "file")
    extension = mimetypes.guess_extension(content_type.split(";", 1)[0].strip()) or ""
    return base + extension


def filename_from_url(url: str) -> str:
    """The last path segment of a media URL when it looks like a file name ("invoice.pdf")."""
    name = unquote(posixpath.basename(urlsplit(url).path))
    return name if "." in name.strip(".") else ""
