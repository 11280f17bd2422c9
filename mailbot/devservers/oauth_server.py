"""A throwaway OAuth 2.0 issuer for XOAUTH2 tests: a token endpoint and an introspection
endpoint on one local HTTP server, run in a thread and owned by this object.

The token endpoint (RFC 6749 section 6) swaps a registered refresh token for a fresh
access token; the introspection endpoint (RFC 7662) tells a resource server such as
Dovecot's oauth2 passdb whether an access token is active and whose it is. Every
request is recorded so a test can check what each side sent.
"""

from __future__ import annotations

import json
import secrets
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mailbot.devservers.lifecycle import ThrowawayServer

TOKEN_LIFETIME_SECONDS = 3600


@dataclass(frozen=True)
class OAuthRequest:
    """One request as the server received it; *form* holds the first value of each field."""

    method: str
    path: str
    form: dict[str, str]
    headers: dict[str, str] = field(repr=False)


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    client_secret: str


class OAuthServer(ThrowawayServer):
    """Serves POST /token and POST /introspect on 127.0.0.1 until stop()."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.requests: list[OAuthRequest] = []
        self._clients: dict[str, OAuthClient] = {}
        self._refresh_tokens: dict[str, tuple[str, str]] = {}  # refresh token -> (client_id, user)
        self._access_tokens: dict[str, str] = {}  # active access token -> user
        self._issued: list[tuple[str, str]] = []  # (refresh token, access token) per grant
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> OAuthServer:
        if self._server is not None:
            raise RuntimeError("already started")
        self._server = ThreadingHTTPServer((self.host, 0), _handler_for(self))
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def token_url(self) -> str:
        return f"http://{self.host}:{self.port}/token"

    @property
    def introspection_url(self) -> str:
        return f"http://{self.host}:{self.port}/introspect"

    # -- issuing and revoking ----------------------------------------------

    def register_client(self) -> OAuthClient:
        client = OAuthClient(f"client-{secrets.token_hex(6)}", secrets.token_urlsafe(18))
        with self._lock:
            self._clients[client.client_id] = client
        return client

    def grant_refresh_token(self, client: OAuthClient, user: str) -> str:
        """A refresh token with which *client* may obtain access tokens for *user*."""
        token = "rt-" + secrets.token_urlsafe(24)
        with self._lock:
            self._refresh_tokens[token] = (client.client_id, user)
        return token

    def mint_access_token(self, user: str) -> str:
        """An active access token for *user*, as if issued through some other flow."""
        token = "at-" + secrets.token_urlsafe(24)
        with self._lock:
            self._access_tokens[token] = user
        return token

    def revoke(self, access_token: str) -> None:
        """From now on introspection reports *access_token* as inactive."""
        with self._lock:
            self._access_tokens.pop(access_token, None)

    def issued_tokens(self, refresh_token: str) -> list[str]:
        """Access tokens the token endpoint handed out for *refresh_token*, oldest first."""
        with self._lock:
            return [access for refresh, access in self._issued if refresh == refresh_token]

    def requests_to(self, path: str) -> list[OAuthRequest]:
        with self._lock:
            return [request for request in self.requests if request.path == path]

    # -- request handling (server threads) ---------------------------------

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type"}
        with self._lock:
            client = self._clients.get(form.get("client_id", ""))
            secret = form.get("client_secret", "")
            if client is None or not secrets.compare_digest(client.client_secret, secret):
                return 401, {"error": "invalid_client"}
            grant = self._refresh_tokens.get(form.get("refresh_token", ""))
            if grant is None or grant[0] != client.client_id:
                return 400, {"error": "invalid_grant"}
        access = self.mint_access_token(grant[1])
        with self._lock:
            self._issued.append((form["refresh_token"], access))
        return 200, {"access_token": access, "expires_in": TOKEN_LIFETIME_SECONDS, "token_type": "Bearer"}

    def _introspect(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        with self._lock:
            user = self._access_tokens.get(form.get("token", ""))
        if user is None:
            return 200, {"active": False}
        return 200, {"active": True, "username": user, "token_type": "Bearer"}

    def _handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, object]]:
        try:
            parsed = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
        except UnicodeDecodeError:
            parsed = {}
        form = {name: values[0] for name, values in parsed.items()}
        with self._lock:
            self.requests.append(OAuthRequest(method, path, form, headers))
        if method != "POST":
            return 405, {"error": "invalid_request"}
        if path == "/token":
            return self._token(form)
        if path == "/introspect":
            return self._introspect(form)
        return 404, {"error": "not_found"}


def _handler_for(owner: OAuthServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # Dovecot's HTTP client keeps connections open

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = urllib.parse.urlsplit(self.path).path
            status, answer = owner._handle(self.command, path, dict(self.headers.items()), body)
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_POST = _serve  # noqa: N815 (http.server's naming)
        do_GET = _serve  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    return Handler
