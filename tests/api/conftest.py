"""Fixtures for the REST API: the app over real HTTP, tokens of each scope made the way
`mailbot token create` makes them, and an httpx client per token."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from mailbot.api.tokens import READ, WRITE, create_token
from mailbot.runtime import Runtime
from tests.fixtures.web import WebServer

SCOPES_BY_NAME = {"reader": (READ,), "writer": (WRITE,), "both": (READ, WRITE)}


@dataclass
class Api:
    server: WebServer
    tokens: dict[str, str]
    _clients: list[httpx.Client] = field(default_factory=list)

    def client(self, token: str | None = "both", **headers: str) -> httpx.Client:
        """A client for /api/v1 sending `token` (a name in `tokens`, or the token itself)."""
        if token is not None:
            headers["Authorization"] = f"Bearer {self.tokens.get(token, token)}"
        http = httpx.Client(base_url=self.server.url("/api/v1"), headers=headers, timeout=30)
        self._clients.append(http)
        return http


@pytest.fixture
def api(runtime: Runtime, web_server: WebServer) -> Iterator[Api]:
    tokens = {}
    with runtime.sessions.begin() as session:
        for name, scopes in SCOPES_BY_NAME.items():
            tokens[name] = create_token(session, name, scopes, created_by="tests")[1]
    found = Api(web_server, tokens)
    yield found
    for http in found._clients:
        http.close()
