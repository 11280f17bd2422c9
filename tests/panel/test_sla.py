"""The SLA page: the policies in force (the built-in ones until a configuration is saved),
saving (admins only, with the CSRF token) that replaces the configuration and is audited,
a bad configuration refused with the reason, and escalations shown here and on the ticket."""

from __future__ import annotations

import json

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from mailbot.sla.store import export_config
from mailbot.store.models import Escalation
from mailbot.timeutil import utcnow
from tests.panel.conftest import csrf_from, post
from tests.panel.seed import add_ticket

SLA = {
    "timezone": "Europe/Madrid",
    "business_hours": {"mon": ["09:00", "18:00"], "tue": ["09:00", "18:00"]},
    "holidays": "ES",
    "policies": [
        {
            "name": "social",
            "channels": ["x", "whatsapp"],
            "priorities": ["urgent", "high"],
            "first_response_minutes": 120,
            "escalate": [{"after_minutes": 90, "notify": "mailto:leads@example.com", "raise_priority": True}],
        }
    ],
}


def stored(session: Session) -> dict:
    session.expire_all()
    try:
        return export_config(session)
    finally:
        session.rollback()


def test_the_built_in_policies_are_shown_until_one_is_saved(agent_client: FlaskClient) -> None:
    page = agent_client.get("/sla").get_data(as_text=True)
    assert ">mail-and-form<" in page and ">chat-and-social<" in page and "1440 min" in page
    assert "No ticket has been escalated." in page
    assert '<button type="submit">Save</button>' not in page  # agents look, admins change


def test_saving_replaces_the_configuration_and_is_audited(
    admin_client: FlaskClient, session: Session
) -> None:
    response = post(admin_client, "/sla", {"source": json.dumps(SLA)})
    assert response.status_code == 302
    assert stored(session) == SLA
    page = admin_client.get("/sla").get_data(as_text=True)
    assert "social" in page and "notify mailto:leads@example.com raise priority" in page
    assert "holidays ES" in page and "Europe/Madrid" in page
    assert "sla.import" in admin_client.get("/audit").get_data(as_text=True)


def test_a_bad_configuration_is_refused_with_the_reason_and_nothing_changes(
    admin_client: FlaskClient, session: Session
) -> None:
    for source, reason in [
        ("{", "not JSON"),
        (json.dumps({**SLA, "holidays": "Atlantis"}), "is not a country code"),
        (
            json.dumps({"policies": [{"name": "p", "first_response_minutes": 30, "channels": ["fax"]}]}),
            "unknown",
        ),
    ]:
        response = post(admin_client, "/sla", {"source": source})
        assert response.status_code == 422, source
        page = response.get_data(as_text=True)
        assert reason in page
        assert source.replace('"', "&#34;")[:20] in page  # what was typed stays in the textarea
    assert stored(session)["policies"][0]["name"] == "mail-and-form"


def test_agents_may_not_save(agent_client: FlaskClient, session: Session) -> None:
    assert post(agent_client, "/sla", {"source": json.dumps(SLA)}).status_code == 403
    assert stored(session)["policies"][0]["name"] == "mail-and-form"


def test_saving_without_the_csrf_token_is_refused(admin_client: FlaskClient, session: Session) -> None:
    csrf_from(admin_client)
    response = admin_client.post("/sla", data={"source": json.dumps(SLA)})
    assert response.status_code in (400, 403)
    assert stored(session)["policies"][0]["name"] == "mail-and-form"


def test_escalations_are_shown_on_the_page_and_the_ticket(
    agent_client: FlaskClient, session: Session
) -> None:
    ticket = add_ticket(session, "MB-LATE01", "Sin respuesta")
    session.add(
        Escalation(
            ticket_id=ticket.id,
            level=1,
            policy="social",
            at=utcnow(),
            actions="priority normal -> high; notified mailto:leads@example.com",
        )
    )
    session.commit()
    page = agent_client.get("/sla").get_data(as_text=True)
    assert ">MB-LATE01</a>" in page and "notified mailto:leads@example.com" in page
    shown = agent_client.get("/tickets/MB-LATE01").get_data(as_text=True)
    assert 'id="escalations"' in shown and "level 1 (social)" in shown
