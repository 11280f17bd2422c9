"""Every route of the web app, walked from its route map over real HTTP (werkzeug's server,
real Redis and SQLite): each is public by an explicit decision or needs a login and the
right role; every state change needs the CSRF token; no secret is ever rendered; a login
rotates the session; `next=` only leads within the site.

A route added without a decision here fails `test_every_route_has_a_decision`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.routing import Rule

from mailbot.api.tokens import create_token
from mailbot.channels import ChannelSpec, add_channel
from mailbot.delivery_targets import TargetSpec, add_target
from mailbot.mailboxes import MailboxSpec, add_mailbox
from mailbot.store.models import Attachment, Channel, Contact, DeliveryTarget, Inbound, Mailbox, Message
from mailbot.store.panel_models import ApiToken, User
from tests.fixtures.web import WebServer, serving
from tests.panel.conftest import ADMIN, AGENT, SECRET_KEY
from tests.panel.seed import add_failed_outbox, add_quarantined, add_ticket

# Reachable without a panel session, each for a reason: the login page itself, static
# files, machines' probes and Prometheus, platforms' webhooks (signed), customers' forms
# (CSRF token and rate limit) and signed feedback links, the API's own description (the
# rest of the API needs a token).
PUBLIC = {
    "auth.login",
    "static",
    "observability.healthz",
    "observability.readyz",
    "observability.metrics",
    "webhooks.receive",
    "forms.contact",
    "forms.callback",
    "api.openapi_document",
    "feedback.faq_answer",
    "feedback.satisfaction_answer",
}
# The REST API: a bearer token with a scope (tests/api/test_auth.py checks the scopes).
BEARER = {
    "api.list_tickets",
    "api.get_ticket",
    "api.update_ticket",
    "api.list_messages",
    "api.create_message",
    "api.create_handoff",
}
# Any logged-in user: agents read everything and work tickets, contacts and failures.
AGENT_ROUTES = {
    "auth.logout",
    "dashboard.index",
    "tickets.index",
    "tickets.show",
    "tickets.attachment",
    "tickets.reply",
    "tickets.split",
    "contacts.index",
    "contacts.show",
    "contacts.merge",
    "contacts.unmerge",
    "contacts.decide_suggestion",
    "failures.index",
    "failures.inbound_raw",
    "failures.retry_inbound",
    "failures.discard_inbound",
    "failures.retry_outbox",
    "failures.discard_outbox",
    "failures.retry_job",
    "failures.discard_job",
    "deliveries.index",
    "mailboxes.index",
    "mailboxes.new",
    "mailboxes.edit",
    "channels_admin.index",
    "channels_admin.new",
    "channels_admin.edit",
    "templates_admin.index",
    "templates_admin.edit",
    "templates_admin.preview",  # renders a draft, saves nothing
    "rules_admin.index",
    "api_tokens.index",
    "canned_admin.index",
    "canned_admin.submit",
    "canned_admin.import_lines",
    "canned_admin.delete",
    "handoffs.create",
    "faq_admin.index",
    "faq_admin.edit",
    "sla_admin.index",
}
# Administrators only: every change of configuration, and the audit log.
ADMIN_ROUTES = {
    "audit.index",
    "mailboxes.create",
    "mailboxes.update",
    "mailboxes.delete",
    "mailboxes.test_connection",
    "channels_admin.create",
    "channels_admin.update",
    "channels_admin.delete",
    "channels_admin.test_channel",
    "templates_admin.save",
    "templates_admin.reset",
    "templates_admin.new",
    "rules_admin.submit",  # saving; a dry run (action absent) is an agent's too
    "api_tokens.create",
    "api_tokens.revoke",
    "deliveries.add",
    "deliveries.remove",
    "faq_admin.import_entries",
    "faq_admin.save_phones",
    "faq_admin.save",
    "faq_admin.mark_reviewed",
    "faq_admin.delete",
    "sla_admin.save",
}
# What an admin-only POST carries to reach its role check (the rules page runs dry runs
# for agents and saves only for admins).
ADMIN_FORMS = {"rules_admin.submit": {"action": "save", "source": "[]"}}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
SECRETS = {
    "imap": "imap-Pa55-word-7f3a",
    "smtp": "smtp-Pa55-word-91c2",
    "slack_signing": "slack-signing-secret-4be1",
    "slack_token": "xoxb-slack-bot-token-77aa",
    "generic_hmac": "generic-hmac-key-5d0c",
    "meta_secret": "meta-app-secret-13f9",
    "meta_token": "meta-page-token-28d4",
    "verify_token": "meta-verify-token-c0de",
    "webhook_target": "delivery-webhook-secret-e9b7",
}


@dataclass(frozen=True)
class Seeded:
    values: dict[str, list[str]]  # URL argument -> values that name real rows
    forbidden: set[str]  # secrets and the stored forms of them


def methods_of(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def panel_rules(app: Flask) -> list[Rule]:
    return [r for r in app.url_map.iter_rules() if r.endpoint in AGENT_ROUTES | ADMIN_ROUTES]


def url_for_rule(rule: Rule, values: dict[str, list[str]], pick: int = 0) -> str:
    chosen = {name: values[name][min(pick, len(values[name]) - 1)] for name in rule.arguments}
    return rule.build(chosen, append_unknown=False)[1]  # type: ignore[index]


def urls_for_rule(rule: Rule, values: dict[str, list[str]]) -> list[str]:
    count = max((len(values[name]) for name in rule.arguments), default=1)
    return sorted({url_for_rule(rule, values, n) for n in range(count)})


@pytest.fixture
def seeded(app: Flask, session: Session) -> Seeded:
    mailbox = add_mailbox(
        session,
        MailboxSpec(
            name="support",
            imap_url=f"imaps://support%40acme.test:{SECRETS['imap']}@imap.acme.test:993/INBOX",
            smtp_url=f"smtps://support%40acme.test:{SECRETS['smtp']}@smtp.acme.test:465",
            address="support@acme.test",
        ),
        SECRET_KEY,
    )
    channels = [
        add_channel(
            session,
            ChannelSpec(
                type="slack", name="team", secret=SECRETS["slack_signing"], token=SECRETS["slack_token"]
            ),
            SECRET_KEY,
        ),
        add_channel(
            session, ChannelSpec(type="generic", name="app", secret=SECRETS["generic_hmac"]), SECRET_KEY
        ),
        add_channel(
            session,
            ChannelSpec(
                type="whatsapp",
                name="wa",
                secret=SECRETS["meta_secret"],
                token=SECRETS["meta_token"],
                options={"phone_number_id": "1555000", "verify_token": SECRETS["verify_token"]},
            ),
            SECRET_KEY,
        ),
        add_channel(session, ChannelSpec(type="form", name="contact"), SECRET_KEY),
    ]
    add_target(
        session,
        TargetSpec(
            queue="support",
            kind="webhook",
            address="https://hooks.acme.test/in",
            secret=SECRETS["webhook_target"],
        ),
        SECRET_KEY,
    )
    _, api_token = create_token(session, "reporting", ("tickets:read",), "admin@example.com")
    ticket = add_ticket(session, html="<p>Hello</p>")
    message = session.scalars(select(Message)).first()
    assert message is not None
    session.add(
        Attachment(message_id=message.id, filename="a.txt", content_type="text/plain", size=2, data=b"hi")
    )
    add_failed_outbox(session, ticket)
    add_quarantined(session)
    session.commit()

    forbidden = set(SECRETS.values()) | {api_token}
    forbidden |= set(session.scalars(select(ApiToken.token_hash)))
    forbidden |= {h for h in session.scalars(select(User.password_hash)) if h}
    for row in session.scalars(select(Mailbox)):
        forbidden |= {s for s in (row.imap_secret, row.smtp_secret) if s}
    for channel in session.scalars(select(Channel)):
        forbidden |= {s for s in (channel.secret, channel.token) if s}
    forbidden |= {t.secret for t in session.scalars(select(DeliveryTarget)) if t.secret}
    values = {
        "ref": [ticket.ref],
        "attachment_id": [str(i) for i in session.scalars(select(Attachment.id))],
        "channel_id": [str(c.id) for c in channels],
        "contact_id": [str(i) for i in session.scalars(select(Contact.id))],
        "merge_id": ["1"],
        "suggestion_id": ["1"],
        "inbound_id": [str(i) for i in session.scalars(select(Inbound.id))],
        "queue_name": ["inbound"],
        "job_id": ["no-such-job"],
        "outbox_id": ["1"],
        "mailbox_id": [str(mailbox.id)],
        "language": ["en", "es"],
        "token_id": [str(i) for i in session.scalars(select(ApiToken.id))],
        "name": ["contact"],
        "channel_type": ["generic"],
        "filename": ["panel.css"],
        "response_id": ["1"],
        "entry_id": ["no-such-entry"],
        "target_id": ["1"],
        "answer": ["yes"],
        "score": ["5"],
        "signature": ["not-a-signature"],
    }
    session.commit()
    return Seeded(values=values, forbidden=forbidden)


@pytest.fixture
def web(app: Flask) -> Iterator[WebServer]:
    with serving(app) as server:
        yield server


def csrf_of(browser: requests.Session, web: WebServer, path: str = "/login") -> str:
    page = browser.get(web.url(path), timeout=30).text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def logged_in(web: WebServer, email: str, password: str) -> requests.Session:
    browser = requests.Session()
    response = browser.post(
        web.url("/login"),
        data={"email": email, "password": password, "csrf_token": csrf_of(browser, web)},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text
    return browser


def test_every_route_has_a_decision(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    groups = [PUBLIC, BEARER, AGENT_ROUTES, ADMIN_ROUTES]
    undecided = endpoints - set().union(*groups)
    assert not undecided, f"routes with no access decision in this test: {sorted(undecided)}"
    assert sum(len(g) for g in groups) == len(set().union(*groups)), "an endpoint is in two groups"
    assert not set().union(*groups) - endpoints, "a decision for a route that no longer exists"


def test_anonymous_visitors_reach_only_the_public_routes(app: Flask, web: WebServer, seeded: Seeded) -> None:
    anonymous = requests.Session()
    for rule in panel_rules(app):
        url = url_for_rule(rule, seeded.values)
        for method in methods_of(rule):
            # A CSRF token of the visitor's own session: the login check alone must stop it.
            data = {"csrf_token": csrf_of(anonymous, web)} if method in UNSAFE else None
            response = anonymous.request(method, web.url(url), data=data, allow_redirects=False, timeout=30)
            assert response.status_code == 302, (method, url, response.status_code)
            assert response.headers["Location"].startswith("/login?next="), (method, url)
    for rule in app.url_map.iter_rules():
        if rule.endpoint in BEARER:
            for method in methods_of(rule):
                url = url_for_rule(rule, seeded.values)
                response = anonymous.request(method, web.url(url), json={}, allow_redirects=False, timeout=30)
                assert response.status_code == 401, (method, url)
                assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_agents_are_refused_every_admin_route(app: Flask, web: WebServer, seeded: Seeded) -> None:
    agent = logged_in(web, *AGENT)
    token = csrf_of(agent, web, "/")
    for rule in app.url_map.iter_rules():
        if rule.endpoint not in ADMIN_ROUTES:
            continue
        url = url_for_rule(rule, seeded.values)
        for method in methods_of(rule):
            data = {**ADMIN_FORMS.get(rule.endpoint, {}), "csrf_token": token} if method in UNSAFE else None
            response = agent.request(method, web.url(url), data=data, allow_redirects=False, timeout=30)
            assert response.status_code == 403, (method, url, response.status_code)
    # Still logged in, and allowed the agent's routes.
    assert agent.get(web.url("/tickets"), allow_redirects=False, timeout=30).status_code == 200


def test_every_state_change_needs_the_csrf_token(app: Flask, web: WebServer, seeded: Seeded) -> None:
    admin = logged_in(web, *ADMIN)
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in BEARER or rule.endpoint == "webhooks.receive":
            continue  # bearer tokens and platform signatures: no cookie is trusted there
        for method in set(methods_of(rule)) & UNSAFE:
            url = url_for_rule(rule, seeded.values)
            for data in ({}, {"csrf_token": "forged-" + "x" * 40}):
                response = admin.request(method, web.url(url), data=data, allow_redirects=False, timeout=30)
                assert response.status_code == 400, (method, url, data, response.status_code)
                checked += 1
    assert checked >= 2 * 30  # the walk did reach the panel's forms
    # None of it happened: still logged in (the logout was refused too).
    assert admin.get(web.url("/"), allow_redirects=False, timeout=30).status_code == 200


def test_no_secret_is_ever_rendered(app: Flask, web: WebServer, seeded: Seeded) -> None:
    admin = logged_in(web, *ADMIN)
    pages = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in methods_of(rule) or rule.endpoint in BEARER or rule.endpoint == "static":
            continue
        for url in urls_for_rule(rule, seeded.values):
            response = admin.get(web.url(url), allow_redirects=False, timeout=30)
            assert response.status_code < 500, (url, response.status_code)
            leaked = {s for s in seeded.forbidden if s in response.text}
            assert not leaked, f"{url} shows {leaked}"
            pages += 1
    assert pages >= 30
    # The API's answers too, with a token of the API's own.
    with requests.Session() as api:
        token = _new_token(app)
        api.headers["Authorization"] = f"Bearer {token}"
        for path in ("/api/v1/tickets", f"/api/v1/tickets/{seeded.values['ref'][0]}"):
            body = api.get(web.url(path), timeout=30)
            assert body.status_code == 200
            assert not {s for s in seeded.forbidden if s in body.text}


def _new_token(app: Flask) -> str:
    from mailbot.web.store import runtime

    with app.app_context(), runtime().sessions.begin() as session:
        _, token = create_token(session, "walker", ("tickets:read",), "admin@example.com")
    return token


def _sid_of(app: Flask, browser: requests.Session) -> str | None:
    cookie = browser.cookies.get("mailbot_session")
    if cookie is None:
        return None
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return serializer.loads(cookie).get("sid")


def test_login_rotates_the_session_so_a_planted_one_is_worthless(app: Flask, web: WebServer) -> None:
    # An attacker gets a real session of the site (an agent's, or an anonymous one) and
    # plants its cookie in the victim's browser; the victim then logs in as admin.
    attacker = logged_in(web, *AGENT)
    planted = attacker.cookies.get("mailbot_session")
    planted_sid = _sid_of(app, attacker)
    victim = requests.Session()
    victim.cookies.set("mailbot_session", planted, domain=_host(web), path="/")
    token = csrf_of(victim, web, "/")
    victim.post(
        web.url("/login"),
        data={"email": ADMIN[0], "password": ADMIN[1], "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert _sid_of(app, victim) not in (None, planted_sid)
    # The planted cookie is still only the agent's: it never became the admin's session.
    assert attacker.get(web.url("/audit"), allow_redirects=False, timeout=30).status_code == 403
    assert victim.get(web.url("/audit"), allow_redirects=False, timeout=30).status_code == 200

    anonymous = requests.Session()
    csrf_of(anonymous, web)  # a session cookie from the login page, before any login
    before = anonymous.cookies.get("mailbot_session")
    logged = logged_in_with(anonymous, web, *AGENT)
    assert logged.cookies.get("mailbot_session") != before
    replay = requests.Session()
    replay.cookies.set("mailbot_session", before, domain=_host(web), path="/")
    assert replay.get(web.url("/"), allow_redirects=False, timeout=30).status_code == 302


def _host(web: WebServer) -> str:
    return web.base_url.split("//", 1)[1].split(":", 1)[0]


def logged_in_with(browser: requests.Session, web: WebServer, email: str, password: str) -> requests.Session:
    response = browser.post(
        web.url("/login"),
        data={"email": email, "password": password, "csrf_token": csrf_of(browser, web)},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302
    return browser


HOSTILE_NEXT = [
    "//evil.test/",
    "https://evil.test/",
    "http:evil.test",
    "/\\evil.test",
    "\\\\evil.test",
    "/\\/evil.test",
    "/\t/evil.test",
    "/\n/evil.test",
    " //evil.test",
    "javascript:alert(1)",
]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_next_leads_only_to_a_path_of_this_site(web: WebServer, target: str, app: Flask) -> None:
    browser = requests.Session()
    response = browser.post(
        web.url("/login"),
        data={"email": ADMIN[0], "password": ADMIN[1], "next": target, "csrf_token": csrf_of(browser, web)},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    # What a browser would make of it: a path, never another host.
    assert location.startswith("/") and not location.startswith("//"), location
    assert "\\" not in location and not re.search(r"[\x00-\x20]", location), location
    assert location == "/", location  # refused: the dashboard, not a mangled copy of it


def test_an_encoded_line_break_in_next_stays_in_the_path(web: WebServer) -> None:
    browser = requests.Session()
    response = browser.post(
        web.url("/login"),
        data={
            "email": ADMIN[0],
            "password": ADMIN[1],
            "next": "/%0d%0aSet-Cookie:planted=1",
            "csrf_token": csrf_of(browser, web),
        },
        allow_redirects=False,
        timeout=30,
    )
    assert response.headers["Location"] == "/%0d%0aSet-Cookie:planted=1"  # a (missing) page of ours
    assert "planted" not in browser.cookies


def test_next_keeps_a_local_path_with_its_query(web: WebServer) -> None:
    browser = requests.Session()
    response = browser.post(
        web.url("/login"),
        data={
            "email": ADMIN[0],
            "password": ADMIN[1],
            "next": "/tickets?status=open",
            "csrf_token": csrf_of(browser, web),
        },
        allow_redirects=False,
        timeout=30,
    )
    assert response.headers["Location"] == "/tickets?status=open"
