"""Contacts: search, page, merge."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.store.models import Contact, ContactIdentity, Ticket
from mailbot.store.panel_models import AuditEntry
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


def test_a_link_suggestion_is_shown_merged_and_the_merge_undone(
    agent_client: FlaskClient, session: Session
) -> None:
    from mailbot.pipeline.identify import Suggestion, suggest_links
    from mailbot.store.models import ContactMerge, IdentitySuggestion

    keep = add_ticket(session, "MB-AAAAAA", email="ana@example.net").contact_id
    other = add_ticket(session, "MB-BBBBBB", email="ana.perez@work.example").contact_id
    suggest_links(session, other, [Suggestion(keep, "same phone +34600111222")])
    session.commit()
    page = agent_client.get(f"/contacts/{keep}").get_data(as_text=True)
    assert "Maybe the same person" in page and "same phone +34600111222" in page
    [suggestion_id] = session.scalars(select(IdentitySuggestion.id)).all()
    session.commit()  # SQLite: the panel writes next
    response = post(
        agent_client,
        f"/contacts/suggestions/{suggestion_id}",
        {"action": "merge", "contact_id": str(keep)},
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Contact, other) is None
    [merge_id] = session.scalars(select(ContactMerge.id)).all()
    session.commit()
    page = agent_client.get(f"/contacts/{keep}").get_data(as_text=True)
    assert f"Merge #{merge_id}" in page and "Maybe the same person" not in page

    response = post(agent_client, f"/contacts/{keep}/unmerge/{merge_id}")
    assert response.status_code == 302
    session.expire_all()
    refs = {t.ref: t.contact_id for t in session.scalars(select(Ticket))}
    assert refs["MB-AAAAAA"] == keep and refs["MB-BBBBBB"] != keep  # a contact of its own again
    restored = session.get(Contact, refs["MB-BBBBBB"])
    assert restored is not None and restored.email == "ana.perez@work.example"
    assert [i.handle for i in restored.identities] == ["ana.perez@work.example"]
    actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["contact.merge", "contact.unmerge"]


def test_a_dismissed_suggestion_is_no_longer_shown(agent_client: FlaskClient, session: Session) -> None:
    from mailbot.pipeline.identify import Suggestion, suggest_links
    from mailbot.store.models import IdentitySuggestion

    keep = add_ticket(session, "MB-AAAAAA", email="ana@example.net").contact_id
    other = add_ticket(session, "MB-BBBBBB", email="luis@example.org").contact_id
    suggest_links(session, keep, [Suggestion(other, "same email shared@example.org")])
    session.commit()
    [suggestion_id] = session.scalars(select(IdentitySuggestion.id)).all()
    session.commit()  # SQLite: the panel writes next
    post(
        agent_client, f"/contacts/suggestions/{suggestion_id}", {"action": "dismiss", "contact_id": str(keep)}
    )
    page = agent_client.get(f"/contacts/{keep}").get_data(as_text=True)
    assert "Suggestion dismissed" in page and "same email shared@example.org" not in page
    assert session.get(Contact, other) is not None
