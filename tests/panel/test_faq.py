"""The FAQ page: entries with their answers and flags, import and edit (admins only, the
same checks as `mailbot faq import`, audited), mark reviewed, phones per language."""

from __future__ import annotations

import json
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.store.faq_models import FaqEntry, FaqFeedback, SupportPhone
from mailbot.timeutil import utcnow
from tests.panel.conftest import post
from tests.panel.seed import add_ticket

LINES = "\n".join(
    json.dumps(e, ensure_ascii=False)
    for e in (
        {"id": "en-card", "lang": "en", "question": "My card is blocked", "answer": "Unblock it in the app."},
        {"id": "es-card", "lang": "es", "question": "Tarjeta bloqueada", "answer": "Desbloquéala en la app."},
    )
)


def stored(session: Session) -> dict[str, FaqEntry]:
    session.expire_all()
    try:
        return {e.id: e for e in session.scalars(select(FaqEntry))}
    finally:
        session.commit()


def test_import_lists_entries_and_is_audited(admin_client: FlaskClient, session: Session) -> None:
    assert post(admin_client, "/faq/import", {"source": LINES}).status_code == 302
    assert sorted(stored(session)) == ["en-card", "es-card"]
    page = admin_client.get("/faq").get_data(as_text=True)
    assert 'data-entry="en-card"' in page and "Tarjeta bloqueada" in page
    assert "faq.import" in admin_client.get("/audit").get_data(as_text=True)


def test_a_bad_import_is_refused_whole_with_the_line(admin_client: FlaskClient, session: Session) -> None:
    response = post(admin_client, "/faq/import", {"source": LINES + '\n{"id": "x"}'})
    assert response.status_code == 422
    assert "line 3" in response.get_data(as_text=True)
    assert stored(session) == {}


def test_agents_may_look_but_not_change(agent_client: FlaskClient, session: Session) -> None:
    assert agent_client.get("/faq").status_code == 200
    assert post(agent_client, "/faq/import", {"source": LINES}).status_code == 403
    assert post(agent_client, "/faq/phones", {"phone_es": "+34 900 000 000"}).status_code == 403
    assert stored(session) == {}


def test_a_form_without_the_csrf_token_is_refused(admin_client: FlaskClient, session: Session) -> None:
    assert admin_client.post("/faq/import", data={"source": LINES}).status_code in (400, 403)
    assert stored(session) == {}


def test_editing_checks_like_an_import_and_counts_as_a_review(
    admin_client: FlaskClient, session: Session
) -> None:
    post(admin_client, "/faq/import", {"source": LINES})
    bad = post(admin_client, "/faq/en-card", {"lang": "en", "question": "Q", "answer": "A", "url": "ftp://x"})
    assert bad.status_code == 422 and "http(s) URL" in bad.get_data(as_text=True)
    old = utcnow() - timedelta(days=400)
    with session.begin():
        session.get(FaqEntry, "en-card").reviewed_at = old  # type: ignore[union-attr]
    assert "not reviewed for 400 days" in admin_client.get("/faq?flagged=1").get_data(as_text=True)
    data = {"lang": "en", "question": "Card blocked?", "answer": "Use the app.", "url": "https://h.test/c"}
    assert post(admin_client, "/faq/en-card", data).status_code == 302
    entry = stored(session)["en-card"]
    assert (entry.question, entry.url) == ("Card blocked?", "https://h.test/c")
    assert 'data-entry="en-card"' not in admin_client.get("/faq?flagged=1").get_data(as_text=True)


def test_entries_rated_unhelpful_again_and_again_are_flagged_until_reviewed(
    admin_client: FlaskClient, session: Session
) -> None:
    post(admin_client, "/faq/import", {"source": LINES})
    with session.begin():
        for n in range(3):
            ticket = add_ticket(session, f"MB-FAQ00{n + 2}", email=f"c{n}@example.net")
            session.add(
                FaqFeedback(ticket_id=ticket.id, entry_id="es-card", helpful=False, answered_at=utcnow())
            )
    flagged = admin_client.get("/faq?flagged=1").get_data(as_text=True)
    assert 'data-entry="es-card"' in flagged and "rated unhelpful 3 times" in flagged
    assert 'data-entry="en-card"' not in flagged
    assert post(admin_client, "/faq/es-card/reviewed").status_code == 302
    assert 'data-entry="es-card"' not in admin_client.get("/faq?flagged=1").get_data(as_text=True)


def test_phones_per_language(admin_client: FlaskClient, session: Session) -> None:
    assert (
        post(admin_client, "/faq/phones", {"phone_es": "+34 900 123 456", "phone_it": ""}).status_code == 302
    )
    assert post(admin_client, "/faq/phones", {"phone_it": "<script>"}).status_code == 302  # refused, flashed
    session.expire_all()
    phones = {p.language: p.phone for p in session.scalars(select(SupportPhone))}
    session.commit()
    assert phones == {"es": "+34 900 123 456"}
    assert 'value="+34 900 123 456"' in admin_client.get("/faq").get_data(as_text=True)
