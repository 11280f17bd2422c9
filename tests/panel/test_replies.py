"""Agents in the panel: the reply box answers the customer through the outbox (or adds a
note that never leaves), a held message says why it was not relayed, and the delivery
page lists each queue's targets and what was delivered to them."""

from __future__ import annotations

import hashlib

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailbot.delivery_targets import TargetSpec, add_target
from mailbot.mailboxes import MailboxSpec, add_mailbox
from mailbot.pipeline.process import Addresses, process_inbound
from mailbot.pipeline.refs import agent_reply_address
from mailbot.runtime import current_runtime
from mailbot.store.models import Inbound, Mailbox, Message, OutboxEntry
from mailbot.timeutil import utcnow
from tests.panel.conftest import AGENT, SECRET_KEY, post

CUSTOMER_MAIL = (
    "From: Ana Pérez <ana@example.net>\r\nTo: support@acme.test\r\n"
    "Subject: Where is my order?\r\nMessage-ID: <panel-order@example.net>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    "Hello, order 1234 has not arrived yet.\r\n"
)


def _file(sessions: sessionmaker[Session], raw: str) -> str:
    """Files `raw` into the support mailbox through the real pipeline; returns the ref."""
    with sessions.begin() as s:
        mailbox = s.scalar(select(Mailbox))
        if mailbox is None:
            spec = MailboxSpec(
                name="support",
                # Never connected to here: the panel only writes outbox rows.
                imap_url="imap://support:secret@127.0.0.1:9/INBOX",
                smtp_url="smtp://127.0.0.1:9",
                address="support@acme.test",
            )
            mailbox = add_mailbox(s, spec, SECRET_KEY)
        inbound = Inbound(
            source_key=f"test:{hashlib.sha256(raw.encode()).hexdigest()}",
            channel="email",
            mailbox_id=mailbox.id,
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


def test_the_reply_box_answers_the_customer_and_a_note_stays_inside(
    agent_client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    ref = _file(sessions, CUSTOMER_MAIL)
    page = agent_client.get(f"/tickets/{ref}").get_data(as_text=True)
    assert f'action="/tickets/{ref}/messages"' in page and "Reply to the customer" in page

    answer = post(agent_client, f"/tickets/{ref}/messages", {"text": "It left today, Ana."})
    assert answer.status_code == 302
    post(agent_client, f"/tickets/{ref}/messages", {"text": "Courier says Thursday.", "internal": "1"})
    assert "Write the reply first" in post(
        agent_client, f"/tickets/{ref}/messages", {"text": "  "}, follow_redirects=True
    ).get_data(as_text=True)

    with sessions() as s:
        messages = list(s.scalars(select(Message).order_by(Message.id)))
        rows = list(s.scalars(select(OutboxEntry).order_by(OutboxEntry.id)))
    assert [(m.kind, m.sender_type) for m in messages] == [
        ("customer", "email"),
        ("agent", "panel"),
        ("note", "panel"),
    ]
    assert messages[1].from_address == AGENT[0]
    [reply] = [r for r in rows if r.kind == "agent_reply"]  # the note was never promised to anyone
    assert reply.to_address == "ana@example.net" and reply.body == "It left today, Ana.\n"
    assert reply.in_reply_to == "panel-order@example.net" and ref in reply.subject
    page = agent_client.get(f"/tickets/{ref}").get_data(as_text=True)
    assert "It left today, Ana." in page and "Courier says Thursday." in page


def test_a_held_message_says_why_and_the_delivery_page_shows_the_log(
    agent_client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as s:
        add_target(s, TargetSpec(queue="support", kind="email", address="team@acme.test"), SECRET_KEY)
    ref = _file(sessions, CUSTOMER_MAIL)
    stranger = (
        "From: Mallory <mallory@evil.test>\r\n"
        f"To: {agent_reply_address(SECRET_KEY, 'support@acme.test', ref)}\r\n"
        f"Subject: Re: [#{ref}] Where is my order?\r\nMessage-ID: <mallory.1@evil.test>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Please refund to my account instead.\r\n"
    )
    assert _file(sessions, stranger) == ref
    page = agent_client.get(f"/tickets/{ref}").get_data(as_text=True)
    assert "Please refund to my account instead." in page
    assert "Not relayed to the customer: mallory@evil.test is not a known agent" in page

    log = agent_client.get("/deliveries").get_data(as_text=True)
    assert "team@acme.test" in log and f">{ref}</a>" in log and "pending" in log
    with sessions() as s:
        [row] = s.scalars(select(OutboxEntry).where(OutboxEntry.kind == "notification"))
        assert row.key.startswith("notify:") and row.to_address == "team@acme.test"
