"""API tokens in the panel: admins create them (shown once) and revoke them, agents only
look; every change is in the audit log, never the token itself."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.api.tokens import READ, create_token, hash_token
from mailbot.store.panel_models import ApiToken, AuditEntry
from tests.panel.conftest import post


def _created_token(page: str) -> str:
    found = re.search(r'<code class="new-token">(mbt_[^<]+)</code>', page)
    assert found, page
    return found.group(1)


def _api(client: FlaskClient, token: str) -> int:
    return client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {token}"}).status_code


def test_an_admin_creates_a_token_shown_once_and_revokes_it(
    admin_client: FlaskClient, session: Session
) -> None:
    answer = post(admin_client, "/tokens", {"name": "crm-sync", "scope:tickets:read": "1"})
    assert answer.status_code == 201
    page = answer.get_data(as_text=True)
    token = _created_token(page)
    assert "shown this once" in page
    assert _api(admin_client, token) == 200

    listing = admin_client.get("/tokens").get_data(as_text=True)
    assert "crm-sync" in listing and token not in listing  # never again
    row = session.scalar(select(ApiToken).where(ApiToken.name == "crm-sync"))
    session.commit()
    assert row is not None and row.token_hash == hash_token(token) and row.scopes == "tickets:read"
    assert row.created_by == "admin@example.com" and f"{row.prefix}…" in listing

    assert post(admin_client, f"/tokens/{row.id}/revoke").status_code == 302
    assert _api(admin_client, token) == 401
    entries = list(session.scalars(select(AuditEntry).where(AuditEntry.action.like("api_token.%"))))
    session.commit()
    assert [(e.action, e.target, e.actor) for e in entries] == [
        ("api_token.create", "api_token:crm-sync", "admin@example.com"),
        ("api_token.revoke", "api_token:crm-sync", "admin@example.com"),
    ]
    for entry in entries:
        assert token not in (entry.before or "") + (entry.after or "")
        assert row.token_hash not in (entry.before or "") + (entry.after or "")


def test_a_token_needs_a_name_a_scope_and_a_name_of_its_own(admin_client: FlaskClient) -> None:
    no_scope = post(admin_client, "/tokens", {"name": "x"})
    assert no_scope.status_code == 422 and "tickets:read, tickets:write" in no_scope.get_data(as_text=True)
    assert post(admin_client, "/tokens", {"name": "crm", "scope:tickets:write": "1"}).status_code == 201
    twice = post(admin_client, "/tokens", {"name": "crm", "scope:tickets:read": "1"})
    assert twice.status_code == 422 and "already exists" in twice.get_data(as_text=True)
    bad_name = post(admin_client, "/tokens", {"name": "my token", "scope:tickets:read": "1"})
    assert bad_name.status_code == 422 and "new-token" not in bad_name.get_data(as_text=True)


def test_agents_see_tokens_but_cannot_make_or_revoke_them(agent_client: FlaskClient, sessions) -> None:  # type: ignore[no-untyped-def]
    with sessions.begin() as session:
        row, token = create_token(session, "helpdesk", (READ,), created_by="admin@example.com")
        row_id = row.id
    page = agent_client.get("/tokens").get_data(as_text=True)
    assert "helpdesk" in page and "/revoke" not in page and "Create a token" not in page
    assert post(agent_client, "/tokens", {"name": "mine", "scope:tickets:read": "1"}).status_code == 403
    assert post(agent_client, f"/tokens/{row_id}/revoke").status_code == 403
    assert _api(agent_client, token) == 200  # still valid
    with sessions() as session:
        assert [t.name for t in session.scalars(select(ApiToken))] == ["helpdesk"]
