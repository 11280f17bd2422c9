"""Defensive readers for platform JSON: a field of the wrong type reads as empty, never
as a crash (a payload is untrusted input, shared/design.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def unix_time(value: Any) -> datetime | None:
    """Unix seconds as an int, a float or a numeric string (Slack's "1355517523.000005")."""
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value) if isinstance(value, int | float | str) and value != "" else None
        return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None
    except (ValueError, OverflowError, OSError):
        return None
