"""Delivery to agents and their replies, the decisions: the agent-reply address, whether
mail sent to it is relayed, the context block, the notification's text and the rule that
recognises a notification coming back; delivery targets' validation."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from mailbot.delivery_targets import DeliveryConfigError, TargetSpec, validate_target
from mailbot.mail.parse import parse_email
from mailbot.mail.quotes import split_reply
from mailbot.pipeline.agent_context import OtherTicket, TicketContext, context_lines
from mailbot.pipeline.classify import AUTO_REPLY, CUSTOMER, OWN_ECHO, Verdict, classify
from mailbot.pipeline.notify import notification_subject, notification_text, notify_key
from mailbot.pipeline.refs import (
    AgentAddress,
    agent_reply_address,
    parse_agent_reply_address,
    ref_from_reply_address,
    reply_address,
)
from mailbot.pipeline.relay import decide_agent_mail
from mailbot.senders.smtp import build_email
from mailbot.store.models import Message, OutboxEntry, Ticket

KEY = "unit-test-secret"
SUPPORT = "support@acme.test"


# -- the agent-reply address ------------------------------------------------------------


def test_the_agent_reply_address_names_its_ticket_and_verifies() -> None:
    address = agent_reply_address(KEY, SUPPORT, "MB-7K3Q9P")
    assert address.startswith("support+agent.mb-7k3q9p.") and address.endswith("@acme.test")
    assert parse_agent_reply_address(KEY, address) == AgentAddress("MB-7K3Q9P", True)
    assert parse_agent_reply_address(KEY, address.upper()) == AgentAddress("MB-7K3Q9P", True)


def test_the_agent_reply_address_is_not_the_customers_and_neither_stands_for_the_other() -> None:
    agent = agent_reply_address(KEY, SUPPORT, "MB-7K3Q9P")
    customer = reply_address(KEY, SUPPORT, "MB-7K3Q9P")
    assert agent != customer
    assert ref_from_reply_address(KEY, agent) is None  # never threads as the customer's reply
    assert parse_agent_reply_address(KEY, customer) is None
    assert parse_agent_reply_address(KEY, SUPPORT) is None


@pytest.mark.parametrize(
    "change",
    [
        lambda a: a.replace("mb-7k3q9p", "mb-7k3q9q"),  # another ticket, the same signature
        lambda a: re.sub(r"\.([0-9a-f])([0-9a-f]*)@", lambda m: f".{'0' if m[1] != '0' else '1'}{m[2]}@", a),
        lambda a: re.sub(r"\.[0-9a-f]+@", ".@", a),  # signature gone
        lambda a: re.sub(r"\.([0-9a-f]+)@", r".\1ff@", a),  # signature lengthened
    ],
)
def test_an_altered_agent_reply_address_still_names_a_ticket_but_does_not_verify(change) -> None:  # type: ignore[no-untyped-def]
    address = change(agent_reply_address(KEY, SUPPORT, "MB-7K3Q9P"))
    parsed = parse_agent_reply_address(KEY, address)
    assert parsed is not None and not parsed.verified
    assert parse_agent_reply_address("another-key", agent_reply_address(KEY, SUPPORT, "MB-7K3Q9P")) == (
        AgentAddress("MB-7K3Q9P", False)
    )


# -- relay or hold ----------------------------------------------------------------------

PERSON = Verdict(CUSTOMER, "person: no sign of automatic mail")
GOOD = AgentAddress("MB-7K3Q9P", True)


def _decide(**overrides):  # type: ignore[no-untyped-def]
    fields = {
        "verdict": PERSON,
        "sender": "jane@acme.test",
        "text": "It left today.",
        "is_agent": True,
        "customer_addresses": frozenset({"ana@gmail.test"}),
        "ticket_status": "open",
    }
    fields.update(overrides)
    address = fields.pop("address", GOOD)
    return decide_agent_mail(address, **fields)


def test_an_agents_reply_to_a_verified_address_is_relayed() -> None:
    decision = _decide()
    assert decision.relay and "jane@acme.test" in decision.reason


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"address": AgentAddress("MB-7K3Q9P", False)}, "not signed by us"),
        ({"is_agent": False, "sender": "bob@stranger.test"}, "bob@stranger.test is not a known agent"),
        # The customer is never an agent, even should their address also be a panel user's.
        ({"sender": "ana@gmail.test"}, "sent by the ticket's customer"),
        ({"verdict": Verdict(AUTO_REPLY, "Auto-Submitted: auto-replied (RFC 3834)")}, "automatic mail"),
        ({"ticket_status": "closed"}, "closed"),
        ({"text": "  \n"}, "nothing to relay"),
    ],
)
def test_anything_else_is_held_with_its_reason(overrides, reason: str) -> None:  # type: ignore[no-untyped-def]
    decision = _decide(**overrides)
    assert not decision.relay and reason in decision.reason


def test_a_forged_address_is_held_whoever_sends_it() -> None:
    # The signature is checked first: a known agent cannot vouch for a forged address.
    decision = _decide(address=AgentAddress("MB-7K3Q9P", False), is_agent=True)
    assert not decision.relay and "not signed" in decision.reason


# -- the context block and the notification ---------------------------------------------

DUE = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)


def _context(**overrides):  # type: ignore[no-untyped-def]
    fields = {
        "ref": "MB-7K3Q9P",
        "status": "open",
        "queue": "support",
        "priority": "high",
        "priority_why": "urgent, today",
        "customer_name": "Ana García",
        "customer_email": "ana@gmail.test",
        "identities": (("email", "ana@gmail.test"), ("telegram", "424242")),
        "open_tickets": (OtherTicket("MB-AAAAAA", "pending", "Invoice"),),
        "prior_tickets": (OtherTicket("MB-BBBBBB", "closed", "Login"),),
        "first_response_due_at": DUE,
    }
    fields.update(overrides)
    return TicketContext(**fields)


def test_the_context_block_says_who_what_else_how_urgent_and_by_when() -> None:
    assert context_lines(_context(matched_rule="billing words → billing", suggested_faq=("Refunds",))) == [
        "Ticket: MB-7K3Q9P (open, queue support)",
        "Customer: Ana García <ana@gmail.test>",
        "Identities: email ana@gmail.test, telegram 424242",
        "Open tickets: MB-AAAAAA (pending) Invoice",
        "Prior tickets: MB-BBBBBB (closed) Login",
        "Priority: high (because: urgent, today)",
        "Matched rule: billing words → billing",
        "First response due: 2026-12-01 13:00 UTC",
        "Suggested FAQ: Refunds",
    ]


def test_the_context_block_leaves_out_what_the_ticket_does_not_have() -> None:
    lines = context_lines(
        _context(
            customer_name="",
            customer_email=None,
            identities=(),
            open_tickets=(),
            prior_tickets=(),
            priority_why="",
            first_response_due_at=None,
        )
    )
    assert lines == [
        "Ticket: MB-7K3Q9P (open, queue support)",
        "Customer: unknown",
        "Open tickets: none other",
        "Priority: high",
    ]


def _ticket_and_message(subject: str = "Mi pedido no ha llegado", text: str = "¿Dónde está?") -> tuple:  # type: ignore[type-arg]
    ticket = Ticket(ref="MB-7K3Q9P", subject=subject, queue="support")
    message = Message(
        id=7,
        channel="email",
        from_address="ana@gmail.test",
        from_name="Ana García",
        text=text,
        received_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
    )
    return ticket, message


def test_the_notification_shows_the_message_then_the_context() -> None:
    ticket, message = _ticket_and_message()
    text = notification_text(ticket, message, context_lines(_context()), by_mail=True)
    head, block = text.split("\n-- \n")
    assert head.startswith("Ana García (ana@gmail.test) wrote on email, 2026-12-01 09:00 UTC:")
    assert "¿Dónde está?" in head and "Customer:" not in head
    assert block.startswith("Ticket: MB-7K3Q9P") and "Reply to this mail" in block
    assert notification_subject(ticket, message) == "[#MB-7K3Q9P] Mi pedido no ha llegado"
    assert notify_key(3, 7) == "notify:3:7"


def test_a_chat_message_has_no_subject_so_its_first_words_stand_in() -> None:
    ticket, message = _ticket_and_message(subject="", text="Hallo, meine Bestellung 4411 ist nicht da.")
    assert notification_subject(ticket, message) == "[#MB-7K3Q9P] Hallo, meine Bestellung 4411 ist nicht da."


def _built_notification() -> bytes:
    """The notification as the SMTP sender writes it (senders/smtp.py build_email)."""
    ticket, message = _ticket_and_message()
    entry = OutboxEntry(
        key="notify:3:7",
        kind="notification",
        channel="email",
        ticket_id=1,
        to_address="team@acme.test",
        from_address=SUPPORT,
        from_name="mailbot",
        reply_to=agent_reply_address(KEY, SUPPORT, "MB-7K3Q9P"),
        subject=notification_subject(ticket, message),
        body=notification_text(ticket, message, context_lines(_context()), by_mail=True),
        internet_message_id="mailbot.notify.3.7.abc@acme.test",
    )
    return build_email(entry)


def test_the_built_notification_is_automatic_and_marked() -> None:
    raw = _built_notification()
    assert b"Auto-Submitted: auto-generated" in raw
    assert b"X-Mailbot-Notification: notify:3:7" in raw
    assert b"From: mailbot <support@acme.test>" in raw


def test_a_notification_coming_back_is_our_echo_even_through_a_relay_that_rewrites_it() -> None:
    raw = _built_notification()
    # A list or forwarder that rewrites From and Message-ID and drops X-Mailbot-Outbox.
    relayed = re.sub(rb"^From: .*$", b"From: team@lists.acme.test", raw, flags=re.MULTILINE)
    relayed = re.sub(rb"^Message-ID: .*$", b"Message-ID: <gw-1@lists.acme.test>", relayed, flags=re.MULTILINE)
    relayed = re.sub(rb"^X-Mailbot-Outbox: .*\n", b"", relayed, flags=re.MULTILINE)
    assert b"X-Mailbot-Outbox" not in relayed and b"support@acme.test>" not in relayed.split(b"\n\n")[0]
    for candidate in (raw, relayed):
        verdict = classify(parse_email(candidate), (SUPPORT,))
        assert (verdict.kind, verdict.rule) == (OWN_ECHO, "own_notification")
        assert "notify:3:7" in verdict.reason


def test_an_agents_quoted_reply_loses_the_notification() -> None:
    # Quoted as Gmail and Thunderbird quote: an attribution line, then "> " lines.
    body = parse_email(_built_notification()).text
    quoted = "\n".join(f"> {line}" if line else ">" for line in body.splitlines())
    reply = f"It left today, Ana.\n\nOn Tue, 1 Dec 2026 at 09:01, mailbot <{SUPPORT}> wrote:\n{quoted}\n"
    assert split_reply(reply).new.strip() == "It left today, Ana."


# -- delivery targets -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        (TargetSpec("support", "email", "team@acme.test, other@acme.test"), "not one e-mail address"),
        (TargetSpec("support", "email", "Team <team@acme.test>"), "not one e-mail address"),
        (TargetSpec("Support Desk", "email", "team@acme.test"), "queue"),
        (TargetSpec("support", "sms", "+34600000000"), "unknown delivery kind"),
        (TargetSpec("support", "slack", "C0TEAM0001"), "--slack"),
        (TargetSpec("support", "slack", "#general", slack_channel="acme"), "not a Slack channel id"),
        (TargetSpec("support", "webhook", "crm.example.test/in", secret="s"), "not an http(s) URL"),
        (TargetSpec("support", "webhook", "https://crm.example.test/in"), "--secret"),
    ],
)
def test_a_target_that_cannot_work_is_refused_saying_why(spec: TargetSpec, says: str) -> None:
    with pytest.raises(DeliveryConfigError, match=re.escape(says)):
        validate_target(spec)


def test_targets_that_work_are_accepted() -> None:
    for spec in (
        TargetSpec("support", "email", "team@acme.test"),
        TargetSpec("billing", "slack", "C0TEAM0001", slack_channel="acme"),
        TargetSpec("support", "webhook", "https://crm.example.test/in?src=mailbot", secret="s"),
    ):
        validate_target(spec)
