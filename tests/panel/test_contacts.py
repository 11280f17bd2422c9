"""Contacts: search, page, merge."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.store.models import Contact, ContactIdentity, Ticket
from tests.panel.conftest import post
from tests.panel.seed import add_ticket


def test_contacts_list_search_and_page(agent_client: FlaskClient, session: Session) -> None:
    ticket = add_ticket(session, "MB-AAAAAA", email="ana@example.net")
    add_ticket(session, "MB-BBBBBB", email="bob@example.org")
    contact_id = ticket.contact_id
    session.commit()
    page = agent_client.get("/contacts?q=bob").get_data(as_text=True)
    assert "bob@example.org" in page and "ana@example.net" not in page
    page = agent_client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert "MB-AAAAAA" in page and "email: ana@example.net" in page
    assert agent_client.get("/contacts/99999").status_code == 404


def test_merge_moves_tickets_and_identities(agent_client: FlaskClient, session: Session) -> None:
    keep = add_ticket(session, "MB-AAAAAA", email="ana@example.net").contact_id
    gone = add_ticket(session, "MB-BBBBBB", email="ana.perez@work.example").contact_id
    session.commit()
    response = post(agent_client, f"/contacts/{keep}/merge", {"other": "ana.perez@work.example"})
    assert response.status_code == 302
    assert session.get(Contact, gone) is None
    assert {t.ref for t in session.scalars(select(Ticket).where(Ticket.contact_id == keep))} == {
        "MB-AAAAAA",
        "MB-BBBBBB",
    }
    handles = set(session.scalars(select(ContactIdentity.handle).where(ContactIdentity.contact_id == keep)))
    session.commit()
    assert handles == {"ana@example.net", "ana.perez@work.example"}
    page = agent_client.get(f"/contacts/{keep}").get_data(as_text=True)
    assert "merged into this one" in page


def test_merge_with_unknown_or_self_is_refused(agent_client: FlaskClient, session: Session) -> None:
    keep = add_ticket(session, "MB-AAAAAA").contact_id
    session.commit()
    for other in ("nobody@example.com", str(keep)):
        post(agent_client, f"/contacts/{keep}/merge", {"other": other})
        assert "No other contact" in agent_client.get(f"/contacts/{keep}").get_data(as_text=True)
