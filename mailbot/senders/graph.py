"""Calls to Meta's Graph API, shared by the WhatsApp, Messenger and Instagram senders.

Graph refuses with an HTTP 4xx and `{"error": {"message", "type", "code",
"error_subcode", "is_transient", "fbtrace_id"}}` (developers.facebook.com/docs/
graph-api/guides/error-handling). Throttling is such a 4xx too, not a 429: codes 4, 17,
32 and 613 (app, user, page and hourly call limits), and on WhatsApp 80007, 130429 and
131056 (account, throughput and per-recipient limits, in the Cloud API's error-code
reference). Those, and any error
Graph marks `is_transient`, mean "not now": the row is retried later. Everything else
(an expired token, a recipient outside the messaging window or unknown) will not
change by trying again.
"""

from __future__ import annotations

from typing import Any

import httpx

from mailbot.senders import PermanentFailure, TemporaryFailure
from mailbot.senders.http import Refused, call_api

THROTTLING_CODES = frozenset({4, 17, 32, 613, 80007, 130429, 131056})


class GraphRefused(PermanentFailure):
    """A refusal for good, with Graph's error code for the sender that reacts to one."""

    def __init__(self, message: str, code: int | None, subcode: int | None) -> None:
        super().__init__(message)
        self.code = code
        self.subcode = subcode


def post(http: httpx.Client, url: str, token: str, payload: dict[str, Any]) -> Any:
    """The JSON answer of an accepted POST; a TemporaryFailure or GraphRefused otherwise."""
    try:
        return call_api(http, "POST", url, json=payload, headers={"Authorization": f"Bearer {token}"})
    except Refused as refusal:
        error = refusal.answer.get("error") if isinstance(refusal.answer, dict) else None
        error = error if isinstance(error, dict) else {}
        code, subcode = _number(error.get("code")), _number(error.get("error_subcode"))
        message = f"Graph API error {code}: {error.get('message') or refusal}"
        if code in THROTTLING_CODES or error.get("is_transient") is True:
            raise TemporaryFailure(message, definite=True) from refusal
        raise GraphRefused(message, code, subcode) from refusal


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
