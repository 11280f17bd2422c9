"""The ticket list, its filters, and the ticket page with its context."""

from __future__ import annotations

import hashlib

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.pipeline.process import Addresses, process_inbound
from mailbot.runtime import current_runtime
from mailbot.store.models import Inbound, OutboxEntry, Ticket
from mailbot.timeutil import utcnow
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


STAFF_FORWARD = (
    "From: Lucia Ortega <lucia.ortega@acme.test>\r\nTo: support@acme.test\r\n"
    "Subject: Fwd: Mi reserva\r\nMessage-ID: <panel-fw@acme.test>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    "Este cliente es VIP, atendedle hoy mismo.\r\n\r\n"
    "---------- Forwarded message ---------\r\n"
    "From: pedro.sanz@gmail.test <mallory@evil.test>\r\n"
    "Subject: Mi reserva\r\n\r\n"
    "Hola, no encuentro la confirmación de mi reserva para el viernes.\r\n"
)


def _file(sessions, raw: str) -> str:  # type: ignore[no-untyped-def]
    """Files `raw` through the real pipeline, as the worker would; returns the ticket ref."""
    with sessions.begin() as s:
        inbound = Inbound(
            source_key=f"test:{hashlib.sha256(raw.encode()).hexdigest()}",
            channel="email",
            raw=raw.encode(),
            raw_sha256=hashlib.sha256(raw.encode()).hexdigest(),
            arrived_at=utcnow(),
        )
        s.add(inbound)
        s.flush()
        inbound_id = inbound.id
    addresses = Addresses(own=frozenset({"support@acme.test"}), staff_domains=frozenset({"acme.test"}))
    outcome = process_inbound(current_runtime(), inbound_id, addresses)
    assert outcome.status == "processed" and outcome.ticket_ref, outcome
    return outcome.ticket_ref


def test_ticket_page_shows_the_staff_note_and_the_spoof_warning(agent_client: FlaskClient, sessions) -> None:  # type: ignore[no-untyped-def]
    ref = _file(sessions, STAFF_FORWARD)
    page = agent_client.get(f"/tickets/{ref}").get_data(as_text=True)
    assert "no encuentro la confirmación" in page  # the customer's words are the message
    assert "Forwarded by lucia.ortega@acme.test" in page
    assert "Este cliente es VIP, atendedle hoy mismo." in page  # the colleague's note, kept
    assert "Warning:" in page and "pedro.sanz@gmail.test" in page and "mallory@evil.test" in page
    with sessions() as s:
        ticket = s.scalar(select(Ticket).where(Ticket.ref == ref))
        assert ticket is not None and ticket.contact.email == "mallory@evil.test"
        assert ticket.contact.name == ""  # never named after the address it poses as
        assert [e.to_address for e in s.scalars(select(OutboxEntry))] == ["mallory@evil.test"]


def test_ticket_page_shows_each_messages_channel(agent_client: FlaskClient, sessions) -> None:  # type: ignore[no-untyped-def]
    from mailbot.channels import ChannelSpec, add_channel
    from mailbot.runtime import current_runtime
    from mailbot.worker import run_worker
    from tests.fixtures.platforms import as_bytes
    from tests.fixtures.platforms import generic as fx
    from tests.panel.conftest import SECRET_KEY

    spec = ChannelSpec("generic", "crm", secret=fx.SECRET, api_base="http://127.0.0.1:9")
    with sessions.begin() as s:
        add_channel(s, spec, SECRET_KEY)
    body = as_bytes(fx.submission("Hola, la app no me deja pagar con Bizum"))
    answer = agent_client.post("/webhooks/generic/crm", data=body, headers=fx.signed_headers(body))
    assert answer.status_code == 200
    run_worker(current_runtime(), burst=True)
    with sessions() as s:
        ticket = s.scalar(select(Ticket))
        assert ticket is not None
        ref = ticket.ref
    page = agent_client.get(f"/tickets/{ref}").get_data(as_text=True)
    assert "no me deja pagar con Bizum" in page
    assert "via generic" in page


def test_a_message_is_split_into_a_new_ticket_from_the_ticket_page(
    agent_client: FlaskClient, sessions
) -> None:  # type: ignore[no-untyped-def]
    from mailbot.channels import ChannelSpec, add_channel
    from mailbot.worker import run_worker
    from tests.fixtures.platforms import as_bytes
    from tests.fixtures.platforms import generic as fx
    from tests.panel.conftest import SECRET_KEY, post

    with sessions.begin() as s:
        add_channel(
            s, ChannelSpec("generic", "crm", secret=fx.SECRET, api_base="http://127.0.0.1:9"), SECRET_KEY
        )
    for event_id, text in (
        ("e-1", "La app no me deja pagar con Bizum"),
        ("e-2", "Otra cosa: cambiad mi dirección"),
    ):
        body = as_bytes(fx.submission(text, event_id=event_id, conversation_id="conv-split"))
        assert (
            agent_client.post("/webhooks/generic/crm", data=body, headers=fx.signed_headers(body)).status_code
            == 200
        )
        run_worker(current_runtime(), burst=True)
    with sessions() as s:
        [ticket] = s.scalars(select(Ticket)).all()
        ref, outbox_before = ticket.ref, len(s.scalars(select(OutboxEntry)).all())
    page = agent_client.get(f"/tickets/{ref}").get_data(as_text=True)
    assert "On this ticket because: same conversation · confidence 1.00" in page
    assert "Split into a new ticket" in page

    response = post(agent_client, f"/tickets/{ref}/split", {"message_id": "crm:e-2"})
    assert response.status_code == 302
    new_ref = response.headers["Location"].rsplit("/", 1)[1]
    assert new_ref != ref
    page = agent_client.get(f"/tickets/{new_ref}").get_data(as_text=True)
    assert "cambiad mi dirección" in page and f"split out of {ref}" in page
    with sessions() as s:
        assert len(s.scalars(select(OutboxEntry)).all()) == outbox_before  # nothing sent for the split
    post(agent_client, f"/tickets/{ref}/split", {"message_id": "crm:nope"})
    assert f"ticket {ref} has no message crm:nope" in agent_client.get(f"/tickets/{ref}").get_data(
        as_text=True
    )
