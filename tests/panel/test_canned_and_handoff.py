"""Agents in the panel: canned responses (saved, refused when a placeholder is unknown,
filled in on the ticket page in the ticket's language), hand-offs to a specialist
(the note stays inside, the customer is told once, in their language), and delivery
targets added and removed beside the log, secrets never rendered."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailbot.store.models import CannedResponse, DeliveryTarget, Message, OutboxEntry, Ticket
from mailbot.store.panel_models import AuditEntry
from tests.panel.conftest import ADMIN, AGENT, post
from tests.panel.test_replies import CUSTOMER_MAIL, _file

SPANISH_MAIL = (
    "From: Lucía Gómez <lucia@example.es>\r\nTo: support@acme.test\r\n"
    "Subject: Mi tarjeta está bloqueada\r\nMessage-ID: <panel-tarjeta@example.es>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    "Hola, mi tarjeta está bloqueada desde ayer y no puedo pagar nada. ¿Qué puedo hacer?\r\n"
)


def test_a_canned_response_is_saved_checked_and_filled_in_the_tickets_language(
    agent_client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    for language, text in (
        ("en", "Hello {customer_first_name}, your case {ref} is with {agent_name}."),
        ("es", "Hola {customer_first_name}: su caso {ref} lo lleva {agent_name}."),
    ):
        saved = post(agent_client, "/canned", {"name": "card-blocked", "language": language, "text": text})
        assert saved.status_code == 302
    refused = post(agent_client, "/canned", {"name": "oops", "language": "en", "text": "Hi {custmer_name}"})
    assert refused.status_code == 422 and "unknown placeholder {custmer_name}" in refused.get_data(
        as_text=True
    )

    ref = _file(sessions, SPANISH_MAIL)
    page = agent_client.get(f"/tickets/{ref}?canned=card-blocked").get_data(as_text=True)
    agent_name = AGENT[0].partition("@")[0]
    assert f"Hola Lucía: su caso {ref} lo lleva {agent_name}.</textarea>" in page
    english = _file(sessions, CUSTOMER_MAIL)
    page = agent_client.get(f"/tickets/{english}?canned=card-blocked").get_data(as_text=True)
    assert f"Hello Ana, your case {english} is with {agent_name}.</textarea>" in page

    with sessions() as s:
        assert s.scalar(select(CannedResponse).where(CannedResponse.name == "oops")) is None
        assert [a.action for a in s.scalars(select(AuditEntry))].count("canned.save") == 2


def test_pasted_json_lines_import_all_or_nothing(
    agent_client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    good = '{"name": "refund", "lang": "fr", "text": "Bonjour {customer_name}, le remboursement est parti."}'
    bad = '{"name": "refund", "lang": "de", "text": "Hallo {nobody}"}'
    refused = post(agent_client, "/canned/import", {"source": f"{good}\n{bad}\n"})
    assert refused.status_code == 422 and "line 2" in refused.get_data(as_text=True)
    with sessions() as s:
        assert list(s.scalars(select(CannedResponse))) == []
    assert post(agent_client, "/canned/import", {"source": good}).status_code == 302
    page = agent_client.get("/canned").get_data(as_text=True)
    assert "le remboursement est parti" in page


def test_a_handoff_moves_the_ticket_keeps_the_note_inside_and_tells_the_customer_once(
    agent_client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    ref = _file(sessions, SPANISH_MAIL)
    form = {"queue": "cards", "assignee": ADMIN[0], "note": "Tarjeta bloqueada por fraude: revisar."}
    assert post(agent_client, f"/tickets/{ref}/handoff", form).status_code == 302
    # The same hand-off again is refused: the ticket is already with them, nobody is told twice.
    again = post(agent_client, f"/tickets/{ref}/handoff", form, follow_redirects=True).get_data(as_text=True)
    assert "already with" in again
    unknown = post(
        agent_client, f"/tickets/{ref}/handoff", {"assignee": "nobody@acme.test"}, follow_redirects=True
    )
    assert "nobody@acme.test is not an agent" in unknown.get_data(as_text=True)

    with sessions() as s:
        ticket = s.scalar(select(Ticket).where(Ticket.ref == ref))
        assert ticket is not None and (ticket.queue, ticket.assignee) == ("cards", ADMIN[0])
        notes = list(s.scalars(select(Message).where(Message.kind == "note")))
        [notice] = s.scalars(select(OutboxEntry).where(OutboxEntry.kind == "handoff"))
    assert [n.text for n in notes] == [
        f"Handed to {ADMIN[0]} (cards): Tarjeta bloqueada por fraude: revisar."
    ]
    assert notice.to_address == "lucia@example.es" and notice.key.startswith("handoff:")
    assert "está ahora en manos de un especialista" in notice.body and ref in notice.body
    assert "fraude" not in notice.body and "cards" not in notice.body and ADMIN[0] not in notice.body
    assert notice.in_reply_to == "panel-tarjeta@example.es"
    page = agent_client.get(f"/tickets/{ref}").get_data(as_text=True)
    assert f"{ADMIN[0]} · queue cards" in page and "support → " in page


def test_delivery_targets_are_added_and_removed_by_an_admin_and_secrets_never_shown(
    admin_client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    secret = "whsec-never-rendered-7f3a"
    added = post(
        admin_client,
        "/deliveries",
        {"queue": "billing", "kind": "webhook", "address": "https://crm.acme.test/hook", "secret": secret},
    )
    assert added.status_code == 302
    refused = post(
        admin_client,
        "/deliveries",
        {"queue": "billing", "kind": "webhook", "address": "ftp://x", "secret": secret},
    )
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "is not an http(s) URL" in body and secret not in body
    assert (
        post(
            admin_client, "/deliveries", {"queue": "billing", "kind": "email", "address": "team@acme.test"}
        ).status_code
        == 302
    )
    page = admin_client.get("/deliveries").get_data(as_text=True)
    assert "https://crm.acme.test/hook" in page and "team@acme.test" in page and secret not in page
    with sessions() as s:
        rows = {t.kind: t for t in s.scalars(select(DeliveryTarget))}
        assert rows["webhook"].secret and secret not in rows["webhook"].secret  # encrypted at rest
        webhook_id = rows["webhook"].id
    assert post(admin_client, f"/deliveries/{webhook_id}/delete").status_code == 302
    with sessions() as s:
        assert [t.kind for t in s.scalars(select(DeliveryTarget))] == ["email"]
        audit = [(a.action, a.before or "", a.after or "") for a in s.scalars(select(AuditEntry))]
    assert [a[0] for a in audit] == ["delivery.add", "delivery.add", "delivery.remove"]
    assert all(secret not in before + after for _, before, after in audit)


def test_agents_see_the_delivery_targets_but_cannot_change_them(
    agent_client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    assert "Add a target" not in agent_client.get("/deliveries").get_data(as_text=True)
    answer = post(
        agent_client, "/deliveries", {"queue": "support", "kind": "email", "address": "x@acme.test"}
    )
    assert answer.status_code == 403
    with sessions() as s:
        assert list(s.scalars(select(DeliveryTarget))) == []
