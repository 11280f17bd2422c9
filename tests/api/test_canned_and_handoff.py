"""Canned responses and hand-offs through the API, end to end on real servers: a canned
reply reaches the customer once, filled in their language; a hand-off moves the ticket,
keeps its note inside, and the customer is told once, in Spanish, threaded under their
mail; refusals are answered as the document says."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from mailbot.canned import CannedSpec, save
from mailbot.delivery_targets import TargetSpec, add_target
from mailbot.store.models import OutboxEntry
from mailbot.web.passwords import create_user
from tests.api.conftest import Api
from tests.api.test_replies import _one_ticket
from tests.fixtures.mail import Desk

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SPECIALIST = "li@acme.test"
TEAM = "shipping-team@acme.test"


def _settle(desk: Desk, expected: int) -> list:  # type: ignore[type-arg]
    """Everything at the sink once the workers ran twice: a second run must send nothing more."""
    desk.work()
    mails = desk.smtp.wait_for(expected)
    desk.work()
    time.sleep(0.5)
    assert len(desk.smtp.received) == expected
    return mails


def test_a_canned_reply_is_filled_in_the_customers_language_and_sent_once(
    api: Api, desk: Desk, support: tuple[str, str]
) -> None:
    with desk.runtime.sessions.begin() as session:
        save(session, CannedSpec("shipping", "en", "Hello {customer_first_name}, order news for {ref}."))
        save(
            session, CannedSpec("shipping", "es", "Hola {customer_first_name}: su pedido ({ref}) salió ayer.")
        )
    ticket = _one_ticket(desk, support)
    ref = ticket["ref"]
    http = api.client("writer")
    answer = http.post(f"/tickets/{ref}/messages", json={"canned": "shipping", "text": "Un saludo, Jane"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["text"] == f"Hola Ana: su pedido ({ref}) salió ayer.\n\nUn saludo, Jane"

    unknown = http.post(f"/tickets/{ref}/messages", json={"canned": "no-such-answer"})
    assert unknown.status_code == 409 and unknown.json()["error"] == "unknown_canned_response"
    assert http.post(f"/tickets/{ref}/messages", json={"internal": True}).status_code == 422

    _, reply = _settle(desk, 2)
    assert reply.rcpt_tos == ["ana.garcia@gmail.test"]
    assert f"Hola Ana: su pedido ({ref}) salió ayer." in reply.message.get_content()


def test_a_handoff_tells_the_customer_once_and_the_ticket_shows_who_has_it(
    api: Api, desk: Desk, support: tuple[str, str]
) -> None:
    with desk.runtime.sessions.begin() as session:
        create_user(session, SPECIALIST, "specialist password 1", "agent")
        add_target(
            session,
            TargetSpec(queue="shipping", kind="email", address=TEAM),
            desk.runtime.settings.secret_key,
        )
    ticket = _one_ticket(desk, support)
    ref = ticket["ref"]
    http = api.client("both")
    body = {"queue": "shipping", "assignee": SPECIALIST, "note": "Courier lost it: file a claim."}
    made = http.post(f"/tickets/{ref}/handoff", json=body)
    assert made.status_code == 201, made.text
    assert made.json() | {"at": None} == {
        "ref": ref,
        "from_queue": "support",
        "queue": "shipping",
        "from_assignee": None,
        "assignee": SPECIALIST,
        "note": "Courier lost it: file a claim.",
        "handed_by": "both",
        "at": None,
        "customer_told": True,
        "not_told_reason": None,
    }
    again = http.post(f"/tickets/{ref}/handoff", json=body)
    assert again.status_code == 409 and "already with" in again.json()["message"]
    assert http.post(f"/tickets/{ref}/handoff", json={"note": "who?"}).status_code == 422
    assert http.post("/tickets/MB-NOSUCH/handoff", json=body).status_code == 404

    now = http.get(f"/tickets/{ref}").json()
    assert (now["queue"], now["assignee"]) == ("shipping", SPECIALIST)
    [note] = [m for m in now["messages"] if m["kind"] == "note"]
    assert "Courier lost it" in note["text"]

    mails = _settle(desk, 3)  # the acknowledgement, the customer's notice, the specialists' notification
    [notice] = [m for m in mails[1:] if m.rcpt_tos == ["ana.garcia@gmail.test"]]
    [team] = [m for m in mails if m.rcpt_tos == [TEAM]]
    team_text = team.message.get_content()
    assert "Courier lost it: file a claim." in team_text and ref in team.message["Subject"]
    assert team.message["Reply-To"] != notice.message["Reply-To"]  # the agent-reply address
    text = notice.message.get_content()
    assert "está ahora en manos de un especialista" in text and ref in text
    assert "Courier" not in text and SPECIALIST not in text and "shipping" not in text
    assert notice.message["In-Reply-To"] == "<reply.1@mail.gmail.test>"
    assert notice.message["Auto-Submitted"] == "auto-generated"
    assert ref in notice.message["Subject"]
    with desk.runtime.sessions() as session:
        [row] = session.scalars(select(OutboxEntry).where(OutboxEntry.kind == "handoff"))
        assert row.status == "sent" and row.key.startswith("handoff:")
        [told] = session.scalars(select(OutboxEntry).where(OutboxEntry.kind == "notification"))
        assert told.status == "sent" and told.to_address == TEAM
