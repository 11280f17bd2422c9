"""XOAUTH2 token providers, the refresh one against a real local token endpoint."""

from __future__ import annotations

import json
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mailbot.sources.oauth import TOKEN_PROVIDERS, TokenUnavailable, access_token


@dataclass
class TokenEndpoint:
    """What the endpoint answers next, and the forms it was sent."""

    url: str
    status: int = 200
    answer: object = field(default_factory=dict)
    raw_answer: bytes | None = None
    forms: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture
def token_endpoint() -> Iterator[TokenEndpoint]:
    endpoint = TokenEndpoint(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length", "0"))
            form = urllib.parse.parse_qs(self.rfile.read(length).decode(), strict_parsing=True)
            endpoint.forms.append({name: values[0] for name, values in form.items()})
            body = endpoint.raw_answer
            if body is None:
                body = json.dumps(endpoint.answer).encode()
            self.send_response(endpoint.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    endpoint.url = f"http://127.0.0.1:{server.server_port}/token"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def refresh_secret(endpoint: TokenEndpoint, **extra: str) -> str:
    # A fresh refresh token per test: tokens are cached per secret for the process.
    return json.dumps(
        {
            "token_url": endpoint.url,
            "client_id": "client-1",
            "client_secret": "s3cret",
            "refresh_token": "rt-" + uuid.uuid4().hex,
            **extra,
        }
    )


def test_refresh_sends_the_refresh_token_grant(token_endpoint: TokenEndpoint) -> None:
    token_endpoint.answer = {"access_token": "ya29.first", "expires_in": 3600, "token_type": "Bearer"}
    secret = refresh_secret(token_endpoint, scope="https://mail.google.com/")
    assert access_token("refresh", secret) == "ya29.first"
    [form] = token_endpoint.forms
    assert form == {
        "grant_type": "refresh_token",
        "client_id": "client-1",
        "client_secret": "s3cret",
        "refresh_token": json.loads(secret)["refresh_token"],
        "scope": "https://mail.google.com/",
    }


def test_no_scope_is_sent_unless_configured(token_endpoint: TokenEndpoint) -> None:
    token_endpoint.answer = {"access_token": "t", "expires_in": 3600}
    access_token("refresh", refresh_secret(token_endpoint))
    assert "scope" not in token_endpoint.forms[0]


def test_a_token_is_reused_until_it_is_about_to_expire(token_endpoint: TokenEndpoint) -> None:
    token_endpoint.answer = {"access_token": "long-lived", "expires_in": 3600}
    secret = refresh_secret(token_endpoint)
    assert access_token("refresh", secret) == "long-lived"
    token_endpoint.answer = {"access_token": "second", "expires_in": 3600}
    assert access_token("refresh", secret) == "long-lived"
    assert len(token_endpoint.forms) == 1

    # One that expires within the safety margin is refreshed on every use.
    token_endpoint.answer = {"access_token": "short-1", "expires_in": 30}
    short = refresh_secret(token_endpoint)
    assert access_token("refresh", short) == "short-1"
    token_endpoint.answer = {"access_token": "short-2", "expires_in": 30}
    assert access_token("refresh", short) == "short-2"
    assert len(token_endpoint.forms) == 3


def test_a_cached_token_belongs_to_its_secret(token_endpoint: TokenEndpoint) -> None:
    token_endpoint.answer = {"access_token": "for-a", "expires_in": 3600}
    assert access_token("refresh", refresh_secret(token_endpoint)) == "for-a"
    token_endpoint.answer = {"access_token": "for-b", "expires_in": 3600}
    assert access_token("refresh", refresh_secret(token_endpoint)) == "for-b"


def test_an_error_answer_is_token_unavailable(token_endpoint: TokenEndpoint) -> None:
    token_endpoint.status = 400
    token_endpoint.answer = {"error": "invalid_grant", "error_description": "Token has been revoked."}
    with pytest.raises(TokenUnavailable, match="token endpoint"):
        access_token("refresh", refresh_secret(token_endpoint))


def test_an_answer_without_a_token_is_token_unavailable(token_endpoint: TokenEndpoint) -> None:
    token_endpoint.answer = {"error": "invalid_client"}
    with pytest.raises(TokenUnavailable, match="invalid_client"):
        access_token("refresh", refresh_secret(token_endpoint))


def test_an_answer_that_is_not_json_is_token_unavailable(token_endpoint: TokenEndpoint) -> None:
    token_endpoint.raw_answer = b"<html>502 Bad Gateway</html>"
    with pytest.raises(TokenUnavailable):
        access_token("refresh", refresh_secret(token_endpoint))


def test_an_endpoint_that_is_down_is_token_unavailable() -> None:
    secret = json.dumps({"token_url": "http://127.0.0.1:9/token", "refresh_token": uuid.uuid4().hex})
    with pytest.raises(TokenUnavailable, match="127.0.0.1:9"):
        access_token("refresh", secret)


def test_an_error_is_not_cached(token_endpoint: TokenEndpoint) -> None:
    secret = refresh_secret(token_endpoint)
    token_endpoint.answer = {"error": "temporarily_unavailable"}
    with pytest.raises(TokenUnavailable):
        access_token("refresh", secret)
    token_endpoint.answer = {"access_token": "recovered", "expires_in": 3600}
    assert access_token("refresh", secret) == "recovered"


@pytest.mark.parametrize(
    "secret, message",
    [
        ("not json", "must be JSON"),
        (json.dumps({"client_id": "x", "refresh_token": "y"}), "no token_url or known issuer"),
        (json.dumps({"issuer": "yahoo", "refresh_token": "y"}), "no token_url or known issuer"),
    ],
)
def test_a_bad_refresh_secret_is_token_unavailable(secret: str, message: str) -> None:
    with pytest.raises(TokenUnavailable, match=message):
        access_token("refresh", secret)


def test_the_static_provider_hands_the_secret_over_as_the_token() -> None:
    assert access_token("static", "ya29.minted-elsewhere") == "ya29.minted-elsewhere"


def test_an_unknown_provider_is_token_unavailable() -> None:
    with pytest.raises(TokenUnavailable, match="unknown OAuth token provider 'kerberos'"):
        access_token("kerberos", "x")


def test_both_providers_are_registered() -> None:
    assert {"static", "refresh"} <= set(TOKEN_PROVIDERS)


def test_refresh_secret_that_is_not_an_object_is_refused_clearly() -> None:
    with pytest.raises(TokenUnavailable, match="JSON object"):
        access_token("refresh", '["not", "an", "object"]')
