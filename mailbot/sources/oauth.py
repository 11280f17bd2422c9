"""Access tokens for XOAUTH2 mailboxes (Gmail, Microsoft 365), from pluggable providers.

A provider is registered by name with @token_provider and turns the mailbox's stored
secret into an access token. `static` takes the secret as the token itself (tokens
minted elsewhere); `refresh` runs the OAuth 2.0 refresh-token grant (RFC 6749
section 6) against a token endpoint, which is how both Google and Microsoft issue
short-lived IMAP/SMTP tokens. Other flows plug in the same way.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

TOKEN_ENDPOINTS = {
    "google": "https://oauth2.googleapis.com/token",
    "microsoft": "https://login.microsoftonline.com/common/oauth2/v2.0/token",
}


class TokenUnavailable(Exception):
    pass


@dataclass
class CachedToken:
    value: str
    expires_at: float


TokenProvider = Callable[[str], str]
TOKEN_PROVIDERS: dict[str, TokenProvider] = {}
_cache: dict[str, CachedToken] = {}


def token_provider(name: str) -> Callable[[TokenProvider], TokenProvider]:
    def register(function: TokenProvider) -> TokenProvider:
        TOKEN_PROVIDERS[name] = function
        return function

    return register


def access_token(provider: str, secret: str) -> str:
    try:
        return TOKEN_PROVIDERS[provider](secret)
    except KeyError as error:
        raise TokenUnavailable(f"unknown OAuth token provider {provider!r}") from error


def forget_token(secret: str) -> None:
    """Drop a cached token the server refused (revoked before it expired)."""
    _cache.pop(secret, None)


@token_provider("static")
def static_token(secret: str) -> str:
    return secret


@token_provider("refresh")
def refreshed_token(secret: str) -> str:
    """secret is JSON: {"token_url" or "issuer": "google"|"microsoft", "client_id",
    "client_secret", "refresh_token", optional "scope"}."""
    try:
        config = json.loads(secret)
    except json.JSONDecodeError as error:
        raise TokenUnavailable("the refresh provider's secret must be JSON") from error
    if not isinstance(config, dict):
        raise TokenUnavailable("the refresh provider's secret must be a JSON object")
    cached = _cache.get(secret)
    if cached and cached.expires_at > time.time() + 60:
        return cached.value
    url = config.get("token_url") or TOKEN_ENDPOINTS.get(config.get("issuer", ""))
    if not url:
        raise TokenUnavailable("no token_url or known issuer in the refresh provider's secret")
    form = {
        "grant_type": "refresh_token",
        "client_id": config.get("client_id", ""),
        "client_secret": config.get("client_secret", ""),
        "refresh_token": config.get("refresh_token", ""),
    }
    if config.get("scope"):
        form["scope"] = config["scope"]
    request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
    except (OSError, json.JSONDecodeError) as error:
        raise TokenUnavailable(f"token endpoint {url} failed: {error}") from error
    if "access_token" not in answer:
        raise TokenUnavailable(f"token endpoint answered without a token: {answer.get('error')}")
    _cache[secret] = CachedToken(answer["access_token"], time.time() + float(answer.get("expires_in", 3600)))
    return str(answer["access_token"])
