"""Agents answering through the API, end to end on real servers: a reply reaches the
customer once, threaded under their last message with the reference in the subject; an
internal note never leaves; the customer's answer comes back to the ticket and reopens
it; the copy of our own reply in a support mailbox is never a ticket; a chat ticket is
answered in its conversation through the platform's API."""

from __future__ import annotations

import email.utils
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from mailbot.channels import ChannelSpec, add_channel
from mailbot.deliver import deliver
from mailbot.pipeline.refs import ref_from_reply_address
from mailbot.store.models import Mailbox, Message, OutboxEntry
from tests.api.conftest import Api
from tests.e2e.test_forms import _ref_on, _submit
from tests.fixtures.mail import Desk
from tests.fixtures.messages import customer_mail
from tests.fixtures.platforms import ChatDesk, as_bytes
from tests.fixtures.platforms import telegram as tg

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

REPLY = "Hola Ana, tu pedido salió ayer: llegará el jueves.\nUn saludo, Jane"


def _one_ticket(
    desk: Desk, support: tuple[str, str], message_id: str = "reply.1@mail.gmail.test"
) -> dict[str, Any]:
    desk.dovecot.append(*support, customer_mail(message_id))
    desk.run()
    [ticket] = desk.tickets()
    desk.smtp.wait_for(1)  # the acknowledgement
    return ticket


def _outbox(desk: Desk) -> list[OutboxEntry]:
    with desk.runtime.sessions() as session:
        return list(session.scalars(select(OutboxEntry).order_by(OutboxEntry.id)))


def test_a_reply_reaches_the_customer_once_threaded_under_their_message(
    api: Api, desk: Desk, support: tuple[str, str]
) -> None:
    ticket = _one_ticket(desk, support)
    ref = ticket["ref"]
    answer = api.client("writer").post(f"/tickets/{ref}/messages", json={"text": REPLY})
    assert answer.status_code == 201, answer.text
    stored = answer.json()
    assert stored["kind"] == "agent" and stored["text"] == REPLY and stored["channel"] == "email"
    assert stored["sender"] == {"type": "api", "value": "writer", "name": "writer"}
    assert stored["subject"] == f"Re: [#{ref}] Mi pedido no ha llegado"

    desk.work()
    ack, reply = desk.smtp.wait_for(2)
    assert reply.rcpt_tos == ["ana.garcia@gmail.test"]
    mail = reply.message
    assert email.utils.parseaddr(mail["From"])[1] == "support@acme.test"
    assert mail["Subject"] == f"Re: [#{ref}] Mi pedido no ha llegado"
    # RFC 5322 3.6.4: a reply names its parent in In-Reply-To and the chain in References.
    assert mail["In-Reply-To"] == "<reply.1@mail.gmail.test>"
    assert mail["References"].split()[-1] == "<reply.1@mail.gmail.test>"
    assert mail["Message-ID"] == f"<{stored['message_id']}>"
    assert ref_from_reply_address(desk.runtime.settings.secret_key, mail["Reply-To"]) == ref
    assert mail["Auto-Submitted"] is None  # a person's answer, not an automatic one (RFC 3834)
    assert mail.get_content().replace("\r\n", "\n").strip() == REPLY

    # Once: more workers, a recovered job, a second delivery attempt change nothing.
    [entry] = [e for e in _outbox(desk) if e.kind == "agent_reply"]
    assert entry.key.startswith("reply:") and entry.status == "sent"
    desk.work()
    assert deliver(desk.runtime, entry.id).status == "skipped"
    assert len(desk.smtp.received) == 2

    shown = api.client("reader").get(f"/tickets/{ref}").json()
    assert [m["kind"] for m in shown["messages"]] == ["customer", "agent"]
    assert shown["messages"][1] == stored
    assert shown["first_response_at"] is not None and shown["first_response_at"] == stored["received_at"]

    # A second reply keeps the first response time.
    second = api.client("writer").post(f"/tickets/{ref}/messages", json={"text": "¿Ha llegado?"})
    assert second.status_code == 201
    assert (
        api.client("reader").get(f"/tickets/{ref}").json()["first_response_at"] == shown["first_response_at"]
    )


def test_an_internal_note_is_stored_and_never_sent(api: Api, desk: Desk, support: tuple[str, str]) -> None:
    ticket = _one_ticket(desk, support)
    answer = api.client("writer").post(
        f"/tickets/{ticket['ref']}/messages",
        json={"text": "Customer called, wants a refund.", "internal": True},
    )
    assert answer.status_code == 201
    note = answer.json()
    assert note["kind"] == "note" and note["message_id"] is None
    desk.work()
    assert len(desk.smtp.received) == 1  # only the acknowledgement, ever
    assert [e.kind for e in _outbox(desk)] == ["ack"]
    shown = api.client("reader").get(f"/tickets/{ticket['ref']}").json()
    assert [m["kind"] for m in shown["messages"]] == ["customer", "note"]
    assert shown["first_response_at"] is None  # a note answers nobody


def test_the_customers_answer_reopens_the_ticket_and_the_next_reply_follows_it(
    api: Api, desk: Desk, support: tuple[str, str]
) -> None:
    ref = _one_ticket(desk, support)["ref"]
    writer = api.client("writer")
    assert writer.post(f"/tickets/{ref}/messages", json={"text": REPLY}).status_code == 201
    assert writer.patch(f"/tickets/{ref}", json={"status": "pending"}).json()["status"] == "pending"
    desk.work()
    reply = desk.smtp.wait_for(2)[1]

    # Ana answers our reply the way her mail client does: a new Message-ID, In-Reply-To
    # our reply, References the whole chain.
    chain = f"{reply.message['References']} {reply.message['Message-ID']}"
    answer = customer_mail(
        "reply.2@mail.gmail.test",
        subject=f"Re: {reply.message['Subject']}",
        body="Gracias, ¿y el número de seguimiento?",
        extra_headers=f"In-Reply-To: {reply.message['Message-ID']}\r\nReferences: {chain}\r\n",
    )
    desk.dovecot.append(*support, answer)
    desk.run()
    [ticket] = desk.tickets()
    assert ticket["ref"] == ref and ticket["status"] == "open"
    assert [m["kind"] for m in ticket["messages"]] == ["customer", "agent", "customer"]
    assert len(desk.smtp.received) == 2  # joining the ticket is not acknowledged again

    assert writer.post(f"/tickets/{ref}/messages", json={"text": "ES123456789"}).status_code == 201
    desk.work()
    latest = desk.smtp.wait_for(3)[2].message
    assert latest["In-Reply-To"] == "<reply.2@mail.gmail.test>"  # the customer's last message
    assert latest["References"].split() == [*chain.split(), "<reply.2@mail.gmail.test>"]


def test_our_reply_landing_in_a_support_mailbox_is_not_a_ticket(
    api: Api, desk: Desk, support: tuple[str, str]
) -> None:
    ref = _one_ticket(desk, support)["ref"]
    assert api.client("writer").post(f"/tickets/{ref}/messages", json={"text": REPLY}).status_code == 201
    desk.work()
    sent = desk.smtp.wait_for(2)[1]
    desk.dovecot.append(*support, sent.raw)  # a copy (Bcc, a forwarding rule) comes back
    desk.run()
    [ticket] = desk.tickets()
    assert [m["kind"] for m in ticket["messages"]] == ["customer", "agent"]
    assert len(desk.smtp.received) == 2


def test_replies_that_cannot_be_delivered_are_refused_and_store_nothing(
    api: Api, desk: Desk, support: tuple[str, str], web_server
) -> None:  # type: ignore[no-untyped-def]
    writer = api.client("writer")
    assert writer.post("/tickets/MB-ZZZZZZ/messages", json={"text": "hello"}).status_code == 404

    ref = _one_ticket(desk, support)["ref"]
    for status in ("solved", "closed"):
        writer.patch(f"/tickets/{ref}", json={"status": status})
    closed = writer.post(f"/tickets/{ref}/messages", json={"text": "hello"})
    assert closed.status_code == 409 and "closed" in closed.json()["message"]
    assert (
        writer.post(f"/tickets/{ref}/messages", json={"text": "noted", "internal": True}).status_code == 201
    )

    # A call-back form with only a phone number: nobody to write to.
    with desk.runtime.sessions.begin() as session:
        add_channel(session, ChannelSpec(type="form", name="callme"), desk.runtime.settings.secret_key)
    with httpx.Client() as browser:
        page = _submit(
            browser, web_server.url("/forms/callme/callback"), {"name": "Marco", "phone": "+39 333 123 4567"}
        )
    callback_ref = _ref_on(page.text)
    desk.work()
    refused = writer.post(f"/tickets/{callback_ref}/messages", json={"text": "Ciao Marco"})
    assert refused.status_code == 409 and "phone number" in refused.json()["message"]

    # The mailbox the ticket came through is gone: no server to send from.
    other = _one_ticket_of(desk, support, "reply.gone@mail.outlook.test", "John <john@outlook.test>")
    with desk.runtime.sessions.begin() as session:
        session.delete(session.scalar(select(Mailbox)))
    gone = writer.post(f"/tickets/{other}/messages", json={"text": "hello"})
    assert gone.status_code == 409 and "mailbox" in gone.json()["message"]

    with desk.runtime.sessions() as session:
        kinds = list(session.scalars(select(Message.kind).where(Message.kind.in_(("agent", "note")))))
    assert kinds == ["note"]  # the refused replies left nothing behind
    # Solving the first ticket asked its one satisfaction question; nothing else was promised.
    assert [e.kind for e in _outbox(desk)] == ["ack", "satisfaction", "ack"]


def _one_ticket_of(desk: Desk, support: tuple[str, str], message_id: str, sender: str) -> str:
    desk.dovecot.append(*support, customer_mail(message_id, sender=sender, subject="Where is my parcel?"))
    desk.run()
    return next(t["ref"] for t in desk.tickets() if t["contact"]["email"] == email.utils.parseaddr(sender)[1])


def test_text_that_is_not_a_message_is_refused(api: Api, desk: Desk, support: tuple[str, str]) -> None:
    ref = _one_ticket(desk, support)["ref"]
    writer = api.client("writer")
    for body in (
        {},
        {"text": ""},
        {"text": "   \n\t "},
        {"text": 42},
        {"text": "hello", "internal": "yes"},
        {"text": "hello", "internal": 1},
        {"text": "hello", "to": "someone@else.test"},
        {"text": "nul\u0000byte"},
        {"text": "x" * 50_001},
    ):
        answer = writer.post(f"/tickets/{ref}/messages", json=body)
        assert answer.status_code == 422, body
    assert writer.post(f"/tickets/{ref}/messages", content=b"text=hi").status_code == 400
    assert [m["kind"] for m in desk.tickets()[0]["messages"]] == ["customer"]


@pytest.fixture
def telegram_desk(chat_desk: ChatDesk) -> ChatDesk:
    chat_desk.api.credentials["telegram"] = tg.BOT_TOKEN
    chat_desk.add_channel(
        ChannelSpec(
            "telegram",
            "acme",
            secret=tg.SECRET_TOKEN,
            token=tg.BOT_TOKEN,
            api_base=chat_desk.api.base("telegram"),
            options={"bot_username": tg.BOT_USERNAME},
        )
    )
    return chat_desk


def test_a_chat_ticket_is_answered_in_its_conversation(api: Api, telegram_desk: ChatDesk) -> None:
    desk = telegram_desk
    first = tg.message("Hallo, meine Bestellung 4411 ist nicht da.")
    later = tg.message("Die Sendungsnummer ist DE123456789")
    for body in (first, later):
        assert (
            desk.post(
                "/webhooks/telegram/acme", as_bytes(tg.update("message", body)), tg.headers()
            ).status_code
            == 200
        )
        desk.work()
    [ticket] = desk.tickets()
    answer = api.client("writer").post(f"/tickets/{ticket['ref']}/messages", json={"text": "Ist unterwegs!"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["channel"] == "telegram" and answer.json()["kind"] == "agent"

    # The row: same kind of promise as the acknowledgement, fields from the customer's
    # last message's conversation.
    [ack, reply] = desk.outbox()
    assert reply.kind == "agent_reply" and reply.key.startswith("reply:") and reply.channel == "telegram"
    assert reply.channel_id == ack.channel_id
    assert reply.fields["chat_id"] == str(tg.CUSTOMER["id"]) and reply.fields["ticket_ref"] == ticket["ref"]
    assert reply.in_reply_to == ticket["messages"][1]["message_id"]

    desk.work()
    desk.work()
    ack_call, reply_call = desk.api.calls_to("telegram")  # one acknowledgement, one reply: once each
    assert reply_call.json["chat_id"] == tg.CUSTOMER["id"]
    assert reply_call.json["text"] == "Ist unterwegs!\n"
    [sent] = [e for e in desk.outbox() if e.kind == "agent_reply"]
    assert sent.status == "sent"
