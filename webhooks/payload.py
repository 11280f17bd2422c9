"""Reading platform JSON defensively, and the bytes we store for one event.

Webhook bodies are untrusted: a field may be missing, null or of another type. The
readers here never raise on a wrong type (they answer "" or {}), so a normaliser says
plainly what it needs and raises UnreadableEvent only when that is really absent.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from webhooks import Rejected, UnreadableEvent


def parse_json(body: bytes) -> dict[str, Any]:
    """A request body that must be a JSON object; 400 otherwise."""
    try:
        value = json.loads(body)
    except ValueError as error:
        raise Rejected(400, f"body is not JSON: {error}") from error
    if not isinstance(value, dict):
        raise Rejected(400, "body is not a JSON object")
    return value


def object_list(container: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """A list of objects in a request body (absent: empty); anything else is a 400."""
    value = container.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise Rejected(400, f"{key} is not a list of objects")
    return value


def dump(value: dict[str, Any]) -> bytes:
    """The stored bytes of one event: compact JSON, exactly what normalize() reads back."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def load(payload: bytes) -> dict[str, Any]:
    try:
        value = json.loads(payload)
    except ValueError as error:
        raise UnreadableEvent(f"stored event is not JSON: {error}") from error
    if not isinstance(value, dict):
        raise UnreadableEvent("stored event is not a JSON object")
    return value


def derived_id(kind: str, item: Any) -> str:
    """An event id for an event that carries none of its own (receipts, reactions, notices).

    Platforms resend a failed delivery with the same body, so the same event always gets
    the same id and the store recognises the repeat."""
    canonical = json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{kind}:{hashlib.sha256(canonical.encode()).hexdigest()[:32]}"


def text(mapping: Any, key: str) -> str:
    """A string field, or "" when it is absent or not a scalar (ids may come as numbers)."""
    if not isinstance(mapping, dict):
        return ""
    value = mapping.get(key)
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, str | int):
        return str(value)
    return ""


def section(mapping: Any, key: str) -> dict[str, Any]:
    """A nested object, or {} when it is absent or not an object."""
    if not isinstance(mapping, dict):
        return {}
    value = mapping.get(key)
    return value if isinstance(value, dict) else {}


def sections(mapping: Any, key: str) -> list[dict[str, Any]]:
    """A nested list of objects, leaving out anything that is not an object."""
    if not isinstance(mapping, dict):
        return []
    value = mapping.get(key)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def from_unix(value: str, *, milliseconds: bool = False) -> datetime | None:
    """A platform timestamp (Unix seconds, or milliseconds) as an aware UTC datetime."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if milliseconds:
        number /= 1000
    try:
        return datetime.fromtimestamp(number, UTC)
    except (OverflowError, OSError, ValueError):
        return None
