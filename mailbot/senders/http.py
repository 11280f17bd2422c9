"""One HTTP call to a platform's API, with its answer mapped onto the outbox's failures.

Every chat sender goes through `call_api`, so the meaning of an HTTP answer is decided
in one place:
- 2xx: accepted. The caller reads the platform's message id from the JSON.
- 429 or 5xx: the platform answered and took nothing; retry later, no sooner than its
  Retry-After (RFC 9110 §10.2.3; Slack and Twilio send it on 429, X sends the Unix
  time its window reopens in x-rate-limit-reset).
- Any other 4xx: it will never succeed (a bad token, a recipient that blocked us):
  that entry fails alone and shows in the panel's failures. It is raised as `Refused`,
  with the platform's error JSON, for the senders whose platform puts a "not now" in
  the body of a 4xx (Meta's throttling codes).
- No answer: refused or unreachable before anything was sent is a plain retry; a
  timeout or a dropped connection after the request went out is not definite, so
  the outbox marks the row `uncertain` instead of sending it twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from mailbot.senders import PermanentFailure, TemporaryFailure
from mailbot.timeutil import utcnow

log = logging.getLogger("mailbot.outbox")

API_TIMEOUT_SECONDS = 15.0


class Refused(PermanentFailure):
    """A 4xx answer, with the platform's own error JSON (`answer`, None if it had none):
    Meta answers throttling and a closed 24-hour window with HTTP 400 and a code in the
    body, which its senders read to decide."""

    def __init__(self, message: str, status: int, answer: Any) -> None:
        super().__init__(message)
        self.status = status
        self.answer = answer


def client() -> httpx.Client:
    """One client per delivery batch: connections are reused across its entries."""
    return httpx.Client(timeout=API_TIMEOUT_SECONDS, follow_redirects=False)


def call_api(
    http: httpx.Client,
    method: str,
    url: str,
    *,
    json: Any = None,
    data: dict[str, str] | None = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    retry_after_in_body: Callable[[Any], float | None] | None = None,
) -> Any:
    """The decoded JSON answer of an accepted call (None if it had no JSON body).

    `content`: the exact bytes to send, when they are signed (the generic channel).
    `retry_after_in_body`: reads the wait from a refusal's JSON when the platform puts
    it there instead of a Retry-After header (Telegram's parameters.retry_after)."""
    try:
        response = http.request(
            method, url, json=json, data=data, content=content, headers=headers, auth=auth
        )
    except (httpx.ConnectError, httpx.ConnectTimeout) as error:
        # Nothing reached the platform.
        raise TemporaryFailure(f"{_host(url)} unreachable: {error}", definite=True) from error
    except httpx.HTTPError as error:
        raise TemporaryFailure(f"{_host(url)}: no answer ({type(error).__name__}: {error})") from error
    if response.status_code == 429 or response.status_code >= 500:
        retry_after = retry_after_seconds(response.headers.get("retry-after"))
        if retry_after is None:
            retry_after = reset_after_seconds(response.headers.get("x-rate-limit-reset"))
        if retry_after is None and retry_after_in_body is not None:
            retry_after = retry_after_in_body(_json_or_none(response))
        raise TemporaryFailure(
            f"{_host(url)} answered HTTP {response.status_code}: {_excerpt(response)}",
            definite=True,
            retry_after=retry_after,
        )
    if response.status_code >= 400:
        raise Refused(
            f"{_host(url)} refused it: HTTP {response.status_code}: {_excerpt(response)}",
            response.status_code,
            _json_or_none(response),
        )
    return _json_or_none(response)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json() if response.content else None
    except ValueError:
        return None


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - utcnow()).total_seconds(), 0.0)


def reset_after_seconds(value: str | None) -> float | None:
    """X says when its rate-limit window reopens, as Unix seconds in x-rate-limit-reset
    (docs.x.com/fundamentals/rate-limits), instead of a Retry-After."""
    if not value or not value.strip().isdigit():
        return None
    return max(float(value.strip()) - utcnow().timestamp(), 0.0)


def _host(url: str) -> str:
    return httpx.URL(url).host or url


def _excerpt(response: httpx.Response) -> str:
    return response.text[:300].replace("\n", " ")
