"""The Rules page: the list in order, a dry run on recent tickets that saves nothing,
saving (admins only) that replaces the rules and is audited, bad JSON refused."""

from __future__ import annotations

import json

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from mailbot.rules import export_rules
from tests.panel.conftest import post
from tests.panel.seed import add_ticket

RULES = [
    {"name": "orders", "if": {"words": ["order"]}, "then": {"queue": "orders", "tags": ["order"]}},
    {"name": "invoices", "if": {"words": ["invoice"]}, "then": {"queue": "billing"}},
]


def stored_rules(session: Session) -> list[dict]:
    """The rules as stored now, the read transaction ended at once (SQLite's write lock)."""
    session.expire_all()
    try:
        return export_rules(session)
    finally:
        session.rollback()


def seed(session: Session) -> None:
    add_ticket(session, "MB-ORDER1", "My order has not arrived", text="Where is my order 1234?")
    add_ticket(session, "MB-OTHER1", "Password", email="luis@example.net", text="I forgot my password")
    session.commit()


def test_a_dry_run_shows_what_would_match_and_saves_nothing(
    agent_client: FlaskClient, session: Session
) -> None:
    seed(session)
    response = post(agent_client, "/rules", {"source": json.dumps(RULES), "action": "dry-run"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 recent tickets, nothing saved" in page
    assert "orders: 1" in page and ">MB-ORDER1</a>" in page and "MB-OTHER1" not in page
    assert "orders: words: order" in page
    assert stored_rules(session) == []


def test_saving_replaces_the_rules_and_is_audited(admin_client: FlaskClient, session: Session) -> None:
    assert post(admin_client, "/rules", {"source": json.dumps(RULES), "action": "save"}).status_code == 302
    assert stored_rules(session) == RULES
    listing = admin_client.get("/rules").get_data(as_text=True)
    assert listing.index(">orders<") < listing.index(">invoices<")
    assert (
        post(admin_client, "/rules", {"source": json.dumps(RULES[1:]), "action": "save"}).status_code == 302
    )
    assert stored_rules(session) == RULES[1:]
    audit = admin_client.get("/audit").get_data(as_text=True)
    assert audit.count("rules.import") == 2


def test_agents_may_not_save(agent_client: FlaskClient, session: Session) -> None:
    response = post(agent_client, "/rules", {"source": json.dumps(RULES), "action": "save"})
    assert response.status_code == 403
    assert stored_rules(session) == []


def test_bad_rules_are_refused_with_the_reason(admin_client: FlaskClient, session: Session) -> None:
    for source, reason in [
        ("[{", "not JSON"),
        (json.dumps([{"name": "x", "then": {"priority": "asap"}}]), "priority must be one of"),
    ]:
        for action in ("save", "dry-run"):
            response = post(admin_client, "/rules", {"source": source, "action": action})
            assert response.status_code == 422, (source, action)
            assert reason in response.get_data(as_text=True)
    assert stored_rules(session) == []


def test_the_ticket_page_shows_queue_and_rule(agent_client: FlaskClient, session: Session) -> None:
    ticket = add_ticket(session, "MB-ROUTE1")
    ticket.queue, ticket.matched_rule, ticket.routing_reason = "orders", "orders", "orders: words: order"
    ticket.tags, ticket.context = ["order"], {"attributes": {"plan": "gold"}, "channels": ["email"]}
    session.commit()
    page = agent_client.get("/tickets/MB-ROUTE1").get_data(as_text=True)
    triage = page[page.index('id="triage"') :]
    assert "orders: words: order" in triage and "plan: gold" in triage and "<dd>order</dd>" in triage
