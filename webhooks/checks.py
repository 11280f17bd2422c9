"""The checks several platforms' webhooks share: a required header, a timestamp inside its
window, an HMAC compared in constant time, a body that is a JSON object.

Each platform module says which of them its documentation asks for; the decisions stay
pure (a WebhookRequest in, a value or a `Rejected` out).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from webhooks import Rejected, UnreadableEvent, WebhookRequest

# Slack and the generic channel both refuse requests signed more than five minutes
# from now, so a captured request cannot be replayed later (Slack, "Verifying requests
# from Slack": "the request timestamp is more than five minutes from local time").
TIMESTAMP_WINDOW_SECONDS = 5 * 60


def required_header(request: WebhookRequest, name: str) -> str:
    value = request.headers.get(name.lower(), "").strip()
    if not value:
        raise Rejected(401, f"missing {name} header")
    return value


def fresh_timestamp(value: str, received_at: float, window: int = TIMESTAMP_WINDOW_SECONDS) -> int:
    """The Unix timestamp a request was signed at, refused when outside the window either way."""
    if not value.isdigit():
        raise Rejected(401, f"timestamp {value[:20]!r} is not Unix seconds")
    timestamp = int(value)
    if abs(received_at - timestamp) > window:
        offset = int(received_at - timestamp)
        raise Rejected(401, f"timestamp is {offset} s off, outside the {window} s window")
    return timestamp


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def same_secret(expected: str, given: str) -> bool:
    """Constant-time equality: the time taken says nothing about how much matched."""
    return hmac.compare_digest(expected.encode(), given.encode())


def json_object(request: WebhookRequest) -> dict[str, Any]:
    """The request body as a JSON object; 400 for anything else."""
    try:
        value = json.loads(request.body)
    except ValueError as error:
        raise Rejected(400, f"body is not JSON: {error}") from error
    except RecursionError as error:  # [[[[... a thousand deep: the decoder's stack, not ours
        raise Rejected(400, "body is JSON nested too deeply to read") from error
    if not isinstance(value, dict):
        raise Rejected(400, "body is not a JSON object")
    return value


def stored_object(payload: bytes) -> dict[str, Any]:
    """A stored event read back for normalize(); UnreadableEvent when it is not an object."""
    try:
        value = json.loads(payload)
    except ValueError as error:
        raise UnreadableEvent(f"stored event is not JSON: {error}") from error
    except RecursionError as error:
        raise UnreadableEvent("stored event is JSON nested too deeply to read") from error
    if not isinstance(value, dict):
        raise UnreadableEvent("stored event is not a JSON object")
    return value


def compact_json(value: Any) -> bytes:
    """One event's bytes to store: stable, so a platform retry stores the same thing."""
    # A lone surrogate ("\ud800" is valid JSON, not valid Unicode) is kept as it came:
    # json.loads reads the bytes back with surrogatepass, and normalise replaces it.
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return text.encode("utf-8", "surrogatepass")
