"""Bearer tokens: 401 without one or with a wrong, malformed or revoked one, 403 without
the scope, the document open to all; tokens stored only as hashes; `mailbot token` as
scripts use it (the token alone on stdout)."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from mailbot.api.tokens import READ, WRITE, create_token, revoke_token
from mailbot.runtime import Runtime
from mailbot.store.panel_models import ApiToken
from tests.api.conftest import Api
from tests.e2e.test_cli_contract import mailbot, ok

pytestmark = pytest.mark.postgres

READS = [("GET", "/tickets"), ("GET", "/tickets/MB-AAAAAA"), ("GET", "/tickets/MB-AAAAAA/messages")]
WRITES = [("POST", "/tickets/MB-AAAAAA/messages"), ("PATCH", "/tickets/MB-AAAAAA")]


def test_the_document_needs_no_token(api: Api) -> None:
    answer = api.client(None).get("/openapi.json")
    assert answer.status_code == 200
    document = answer.json()
    assert document["openapi"].startswith("3.")
    assert document["components"]["securitySchemes"]["bearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "Scopes: tickets:read, tickets:write.",
    }
    # Every operation but the document asks for a token with its scope.
    scopes = {
        (method.upper(), path): op["security"]
        for path, ops in document["paths"].items()
        for method, op in ops.items()
    }
    assert scopes[("GET", "/api/v1/tickets")] == [{"bearerToken": [READ]}]
    assert scopes[("POST", "/api/v1/tickets/{ref}/messages")] == [{"bearerToken": [WRITE]}]
    assert scopes[("PATCH", "/api/v1/tickets/{ref}")] == [{"bearerToken": [WRITE]}]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer mbt_not-a-token-we-made", "Bearer", "Basic dXNlcjpwYXNz", "mbt_without_a_scheme"],
)
def test_no_token_or_a_wrong_one_is_401(api: Api, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    http = api.client(None, **headers)
    for method, path in READS + WRITES:
        answer = http.request(method, path, json={"text": "hello"} if method != "GET" else None)
        assert answer.status_code == 401, (method, path, answer.text)
        assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="mailbot"')
        assert answer.json()["error"] in {"unauthorized", "invalid_token"}
        # Refused before anything is read: an unknown ticket is not told apart from a real one.
        assert "MB-AAAAAA" not in answer.text


def test_the_scheme_name_is_case_insensitive(api: Api) -> None:
    # RFC 9110 section 11.1: auth-scheme names are case-insensitive.
    http = api.client(None, Authorization=f"bearer {api.tokens['reader']}")
    assert http.get("/tickets").status_code == 200


def test_a_token_without_the_scope_is_403(api: Api) -> None:
    reader, writer = api.client("reader"), api.client("writer")
    for method, path in WRITES:
        answer = reader.request(method, path, json={"text": "hello"})
        assert answer.status_code == 403, (method, path)
        assert answer.json()["error"] == "insufficient_scope"
        assert 'error="insufficient_scope", scope="tickets:write"' in answer.headers["WWW-Authenticate"]
    for method, path in READS:
        answer = writer.request(method, path)
        assert answer.status_code == 403, (method, path)
        assert f'scope="{READ}"' in answer.headers["WWW-Authenticate"]
    # With the scope, the same requests get past authentication: to the unknown ticket.
    assert api.client("both").get("/tickets/MB-AAAAAA").status_code == 404
    assert reader.get("/tickets").status_code == 200


def test_a_revoked_token_is_refused_at_once(api: Api, runtime: Runtime) -> None:
    http = api.client("reader")
    assert http.get("/tickets").status_code == 200
    with runtime.sessions.begin() as session:
        revoke_token(session, "reader")
    answer = http.get("/tickets")
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_token"


def test_tokens_are_stored_only_as_hashes(api: Api, runtime: Runtime) -> None:
    with runtime.sessions() as session:
        rows = {row.name: row for row in session.scalars(select(ApiToken))}
        dump = "\n".join(
            " ".join(str(value) for value in row)
            for row in session.execute(select(ApiToken.__table__)).all()  # every column, as stored
        )
    for name, token in api.tokens.items():
        assert token.startswith("mbt_") and len(token) >= 40
        assert token not in dump  # the token is nowhere in the table
        assert rows[name].token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token.startswith(rows[name].prefix) and len(rows[name].prefix) < len(token) // 3


def test_a_token_records_when_it_was_last_used(api: Api, runtime: Runtime) -> None:
    with runtime.sessions() as session:
        assert session.scalar(select(ApiToken.last_used_at).where(ApiToken.name == "reader")) is None
    assert api.client("reader").get("/tickets").status_code == 200
    with runtime.sessions() as session:
        assert session.scalar(select(ApiToken.last_used_at).where(ApiToken.name == "reader")) is not None
        assert session.scalar(select(ApiToken.last_used_at).where(ApiToken.name == "writer")) is None


def test_token_names_and_scopes_are_checked(runtime: Runtime) -> None:
    from mailbot.api.tokens import TokenError, parse_scopes

    assert parse_scopes("tickets:write, tickets:read") == (READ, WRITE)
    for bad in ("", "tickets:admin", "tickets:read,everything"):
        with pytest.raises(TokenError):
            parse_scopes(bad)
    with runtime.sessions.begin() as session:
        create_token(session, "crm", (READ,), "tests")
        with pytest.raises(TokenError, match="already exists"):
            create_token(session, "crm", (READ,), "tests")
        with pytest.raises(TokenError, match="token name"):
            create_token(session, "two words", (READ,), "tests")


def test_the_token_commands_as_a_script_uses_them(mailbot_env: dict[str, str], api: Api) -> None:
    created = ok(mailbot(mailbot_env, "token", "create", "helpdesk", "--scope", "tickets:read,tickets:write"))
    token = created.stdout.strip()
    assert created.stdout == token + "\n"  # the token and nothing else
    assert token.startswith("mbt_") and "helpdesk" in created.stderr
    http = api.client(token)
    assert http.get("/tickets").status_code == 200
    assert http.patch("/tickets/MB-AAAAAA", json={"queue": "billing"}).status_code == 404  # write: past auth

    read_only = ok(
        mailbot(mailbot_env, "token", "create", "reports", "--scope", "tickets:read")
    ).stdout.strip()
    assert api.client(read_only).patch("/tickets/MB-AAAAAA", json={"queue": "x"}).status_code == 403

    listed = ok(mailbot(mailbot_env, "token", "list", "--json")).stdout
    assert token not in listed and read_only not in listed
    assert '"helpdesk"' in listed

    ok(mailbot(mailbot_env, "token", "revoke", "helpdesk"))
    assert http.get("/tickets").status_code == 401

    for args, expected in (
        (("token", "create", "noscope"), "--scope"),  # the scope is required
        (("token", "create", "bad", "--scope", "tickets:delete"), "unknown scope"),
        (("token", "create", "reports", "--scope", "tickets:read"), "already exists"),
        (("token", "revoke", "helpdesk"), "no token named"),
    ):
        failed = mailbot(mailbot_env, *args)
        assert failed.returncode != 0 and failed.stdout == "", args
        assert expected in failed.stderr, (args, failed.stderr)
