"""Login, logout, sessions, CSRF, roles and the login rate limit."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.panel.conftest import ADMIN, AGENT, csrf_from, log_in, post

PAGES = [
    "/",
    "/tickets",
    "/tickets/MB-7K3Q9P",
    "/mailboxes",
    "/mailboxes/new",
    "/mailboxes/1",
    "/templates",
    "/templates/en",
    "/contacts",
    "/contacts/1",
    "/failures",
    "/audit",
    "/failures/inbound/1/raw",
    "/attachments/1",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_sends_anonymous_visitors_to_login(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_login_page_has_labelled_email_and_password_fields(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert '<label for="email">Email</label>' in page
    assert '<label for="password">Password</label>' in page


def test_login_then_dashboard_then_logout(client: FlaskClient) -> None:
    log_in(client, *ADMIN)
    assert "Dashboard" in client.get("/").get_data(as_text=True)
    response = post(client, "/logout")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_logout_invalidates_a_copied_session_cookie(app, client: FlaskClient) -> None:  # type: ignore[no-untyped-def]
    log_in(client, *ADMIN)
    cookie = client.get_cookie("mailbot_session")
    assert cookie is not None
    post(client, "/logout")
    thief = app.test_client()
    thief.set_cookie("mailbot_session", cookie.value)
    assert thief.get("/").status_code == 302


def test_wrong_password_is_refused(client: FlaskClient) -> None:
    response = client.post(
        "/login", data={"email": ADMIN[0], "password": "wrong", "csrf_token": csrf_from(client)}
    )
    assert response.status_code == 401
    assert response.mimetype == "text/html"  # a page, not its source shown as text
    assert "Wrong e-mail or password" in response.get_data(as_text=True)


def test_login_is_rate_limited_per_ip_and_email(client: FlaskClient) -> None:
    for _ in range(5):
        client.post("/login", data={"email": ADMIN[0], "password": "wrong", "csrf_token": csrf_from(client)})
    # Even the right password is refused while locked: a guesser learns nothing.
    response = client.post(
        "/login", data={"email": ADMIN[0], "password": ADMIN[1], "csrf_token": csrf_from(client)}
    )
    assert response.status_code == 429
    # Another account from the same address is not locked.
    log_in(client, *AGENT)


def test_login_without_csrf_token_is_rejected(client: FlaskClient) -> None:
    response = client.post("/login", data={"email": ADMIN[0], "password": ADMIN[1]})
    assert response.status_code == 400


def test_post_without_csrf_token_is_rejected(admin_client: FlaskClient) -> None:
    assert admin_client.post("/logout").status_code == 400
    assert admin_client.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    assert admin_client.get("/").status_code == 200  # still logged in


def test_csrf_token_changes_at_login(client: FlaskClient) -> None:
    before = csrf_from(client)
    log_in(client, *ADMIN)
    assert csrf_from(client) != before


def test_next_parameter_only_redirects_within_the_site(client: FlaskClient) -> None:
    response = client.post(
        "/login",
        data={
            "email": ADMIN[0],
            "password": ADMIN[1],
            "next": "//evil.example/",
            "csrf_token": csrf_from(client),
        },
    )
    assert response.headers["Location"] == "/"


def test_session_cookie_flags(client: FlaskClient) -> None:
    client.post("/login", data={"email": ADMIN[0], "password": ADMIN[1], "csrf_token": csrf_from(client)})
    cookie = client.get_cookie("mailbot_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"


def test_secure_cookie_is_configurable(monkeypatch: pytest.MonkeyPatch, panel_env: str) -> None:
    from mailbot.web import create_app

    monkeypatch.setenv("MAILBOT_COOKIE_SECURE", "1")
    assert create_app().config["SESSION_COOKIE_SECURE"] is True
    monkeypatch.setenv("MAILBOT_COOKIE_SECURE", "0")
    assert create_app().config["SESSION_COOKIE_SECURE"] is False


def test_pages_forbid_inline_script(admin_client: FlaskClient) -> None:
    policy = admin_client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy


def test_agent_cannot_see_the_audit_log(agent_client: FlaskClient) -> None:
    assert agent_client.get("/audit").status_code == 403
