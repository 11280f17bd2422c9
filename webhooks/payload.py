"""Cutting a webhook body into events, and reading its fields without trusting them.

Built on fields.py's readers (a wrong type reads as empty, never as a crash) and
checks.py's JSON helpers; what is here is what Meta's and X's batched bodies add: lists
of events that must be lists of objects, and ids for events that carry none.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from webhooks import Rejected
from webhooks.fields import mapping, string, unix_time


def object_list(container: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """A list of events in a request body (absent or null: none); anything else is a 400."""
    value = container.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise Rejected(400, f"{key} is not a list of objects")
    return value


def derived_id(kind: str, item: Any) -> str:
    """An event id for an event that carries none of its own (receipts, reactions, notices).

    Platforms resend a failed delivery with the same body, so the same event always gets
    the same id and the store recognises the repeat."""
    canonical = json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{kind}:{digest[:32]}"


def text(container: Any, key: str) -> str:
    """A string field of an object; ids that come as JSON numbers read as their digits."""
    value = mapping(container).get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return string(value)


def section(container: Any, key: str) -> dict[str, Any]:
    """A nested object, or {} when it is absent or not an object."""
    return mapping(mapping(container).get(key))


def sections(container: Any, key: str) -> list[dict[str, Any]]:
    """A nested list of objects, leaving out anything that is not an object."""
    value = mapping(container).get(key)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def unix_millis(value: Any) -> datetime | None:
    """Meta's and X's timestamps in milliseconds since the epoch."""
    try:
        return unix_time(float(value) / 1000)
    except (TypeError, ValueError):
        return None
