"""WhatsApp's 24-hour customer-care window, end to end: a customer writes over a signed
webhook, a day passes (the stored message is moved 25 hours back), and an agent answers
in the panel over real HTTP. With an approved template configured the fake Graph API
receives one `type: template` message naming the ticket; without one nothing is sent
and the reply is kept on the ticket with the reason, shown on the ticket page. Inside
the window the reply goes as text."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from mailbot.channels import ChannelSpec
from mailbot.store.models import Message, OutboxEntry
from mailbot.timeutil import utcnow
from mailbot.web.passwords import create_user
from tests.fixtures.platforms import ChatDesk, as_bytes
from tests.fixtures.platforms import meta as fx

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PATH = "/webhooks/whatsapp/acme"
AGENT = ("jane@acme.test", "correct horse battery staple")
ANSWER = "Hola Lucía, su pedido 4411 sale hoy."


def _desk(chat_desk: ChatDesk, **options: str) -> ChatDesk:
    chat_desk.api.credentials["meta"] = fx.ACCESS_TOKEN
    chat_desk.add_channel(
        ChannelSpec(
            "whatsapp",
            "acme",
            secret=fx.APP_SECRET,
            token=fx.ACCESS_TOKEN,
            api_base=chat_desk.api.base("meta"),
            options={
                "phone_number_id": fx.PHONE_NUMBER_ID,
                "verify_token": fx.VERIFY_TOKEN,
                "language": "es",
                **options,
            },
        )
    )
    with chat_desk.runtime.sessions.begin() as session:
        create_user(session, *AGENT, "agent")
    return chat_desk


def _ticket_a_day_old(desk: ChatDesk, hours: float = 25) -> str:
    body = as_bytes(fx.whatsapp_body(fx.messages_change(fx.wa_text("Hola, mi pedido 4411 no ha llegado."))))
    assert desk.post(PATH, body, fx.headers(body)).status_code == 200
    desk.work()
    [ticket] = desk.tickets()
    with desk.runtime.sessions.begin() as session:
        session.execute(update(Message).values(received_at=utcnow() - timedelta(hours=hours)))
    return str(ticket["ref"])


def _panel_reply(desk: ChatDesk, ref: str, text: str) -> str:
    """Signs in and answers in the reply box as an agent would; returns the ticket page."""
    with httpx.Client(base_url=desk.web.url(""), follow_redirects=True, timeout=30) as panel:
        login = panel.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', login)
        assert token
        panel.post("/login", data={"email": AGENT[0], "password": AGENT[1], "csrf_token": token.group(1)})
        page = panel.get(f"/tickets/{ref}").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token
        return panel.post(f"/tickets/{ref}/messages", data={"text": text, "csrf_token": token.group(1)}).text


def test_after_the_window_a_reply_goes_as_the_approved_template_once(chat_desk: ChatDesk) -> None:
    desk = _desk(chat_desk, template="case_update", template_language="es")
    ref = _ticket_a_day_old(desk)
    page = _panel_reply(desk, ref, ANSWER)
    assert "Reply sent to the customer." in page
    desk.work()
    desk.work()
    calls = [c for c in desk.api.calls_to("meta") if c.json.get("type") == "template"]
    [call] = calls
    assert call.status == 200 and call.json["to"] == fx.CUSTOMER_WA_ID
    assert call.json["template"] == {
        "name": "case_update",
        "language": {"code": "es"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": ref}]}],
    }
    with desk.runtime.sessions() as session:
        [reply] = session.scalars(select(OutboxEntry).where(OutboxEntry.kind == "agent_reply"))
        assert reply.status == "sent" and (reply.external_id or "").startswith("wamid.")


def test_after_the_window_without_a_template_the_reply_is_held_with_its_reason(chat_desk: ChatDesk) -> None:
    desk = _desk(chat_desk)
    ref = _ticket_a_day_old(desk)
    calls_before = len(desk.api.calls_to("meta"))  # the acknowledgement
    page = _panel_reply(desk, ref, ANSWER)
    assert "Kept on the ticket, not sent: outside WhatsApp&#39;s 24-hour customer-care window" in page
    assert "no approved template configured" in page and ANSWER in page
    desk.work()
    assert len(desk.api.calls_to("meta")) == calls_before
    with desk.runtime.sessions() as session:
        assert list(session.scalars(select(OutboxEntry).where(OutboxEntry.kind == "agent_reply"))) == []
        [held] = session.scalars(select(Message).where(Message.kind == "held"))
        assert held.text == ANSWER and "24-hour" in held.reason
    [ticket] = desk.tickets()
    assert ticket["first_response_at"] is None  # nothing reached the customer


def test_inside_the_window_the_reply_goes_as_text(chat_desk: ChatDesk) -> None:
    desk = _desk(chat_desk, template="case_update")
    ref = _ticket_a_day_old(desk, hours=23)
    assert "Reply sent to the customer." in _panel_reply(desk, ref, ANSWER)
    desk.work()
    [call] = [
        c for c in desk.api.calls_to("meta") if c.json.get("text", {}).get("body", "").startswith(ANSWER)
    ]
    assert call.json["type"] == "text" and call.status == 200
    assert not [c for c in desk.api.calls_to("meta") if c.json.get("type") == "template"]
