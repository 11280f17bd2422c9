"""The ticket list, its filters, and the ticket page with its context."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.panel.seed import XSS_HTML, XSS_SUBJECT, add_ticket


def test_ticket_list_and_filters(admin_client: FlaskClient, session: Session) -> None:
    add_ticket(session, "MB-AAAAAA", "Order missing")
    add_ticket(session, "MB-BBBBBB", "Invoice question", email="bob@example.org", acknowledged=True)
    session.commit()
    page = admin_client.get("/tickets").get_data(as_text=True)
    assert "MB-AAAAAA" in page and "MB-BBBBBB" in page
    page = admin_client.get("/tickets?q=invoice").get_data(as_text=True)
    assert "MB-BBBBBB" in page and "MB-AAAAAA" not in page
    page = admin_client.get("/tickets?q=bob@example").get_data(as_text=True)
    assert "MB-BBBBBB" in page and "MB-AAAAAA" not in page
    page = admin_client.get("/tickets?unacknowledged=1").get_data(as_text=True)
    assert "MB-AAAAAA" in page and "MB-BBBBBB" not in page
    assert "No tickets match" in admin_client.get("/tickets?status=closed").get_data(as_text=True)


def test_ticket_page_shows_conversation_and_context(agent_client: FlaskClient, session: Session) -> None:
    add_ticket(session, "MB-AAAAAA", "Order missing", text="Where is order 1234?")
    add_ticket(session, "MB-BBBBBB", "Earlier question")
    session.commit()
    page = agent_client.get("/tickets/mb-aaaaaa").get_data(as_text=True)
    assert "Where is order 1234?" in page
    assert "ana@example.net" in page
    assert "MB-BBBBBB" in page  # the contact's other ticket
    assert "a person wrote" in page  # why it was classified so


def test_unknown_ticket_is_404(agent_client: FlaskClient) -> None:
    assert agent_client.get("/tickets/MB-NOPE00").status_code == 404


def test_xss_in_subject_and_html_body_is_inert(agent_client: FlaskClient, session: Session) -> None:
    add_ticket(session, "MB-XSS000", XSS_SUBJECT, html=XSS_HTML)
    session.commit()
    for path in ("/tickets", "/tickets/MB-XSS000", "/"):
        page = agent_client.get(path).get_data(as_text=True)
        assert "<script>alert" not in page
        assert "onerror" not in page.replace("onerror=alert(1)&gt;", "")  # escaped text is fine
        assert "&lt;script&gt;alert(&#34;subject&#34;)&lt;/script&gt;" in page
    page = agent_client.get("/tickets/MB-XSS000").get_data(as_text=True)
    assert "<b>there</b>" in page  # harmless markup survives sanitising
    assert 'alert("body")' not in page
    assert "javascript:" not in page
    assert "onclick" not in page and "position:fixed" not in page
