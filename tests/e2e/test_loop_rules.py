"""Every loop rule on an acknowledgement mailbot really sent: a customer's mail goes through
Dovecot, the pipeline, the outbox and the SMTP sender to the aiosmtpd sink; the bytes the sink
received come back into the mailbox as an echo, inside a bounce or inside a complaint report,
and must never be answered."""

from __future__ import annotations

import re
import time

import pytest

from mailbot.devservers.smtp_sink import ReceivedMail
from tests.fixtures.mail import Desk
from tests.fixtures.messages import (
    carrier_bounce,
    customer_mail,
    feedback_report,
    inbound_rows,
    outbox_rows,
    provider_complaint,
)


def _first_ack(desk: Desk, support: tuple[str, str]) -> ReceivedMail:
    user, password = support
    desk.dovecot.append(user, password, customer_mail("loop-src@mail.gmail.test"))
    desk.run()
    [ack] = desk.smtp.wait_for(1)
    assert ack.message["X-Mailbot-Outbox"].startswith("ack:MB-")
    return ack


def _feed_back(desk: Desk, support: tuple[str, str], raw: bytes) -> None:
    user, password = support
    desk.dovecot.append(user, password, raw)
    desk.run()
    time.sleep(0.2)  # time for a wrongly sent answer to reach the sink before counting


def _other_from(raw: bytes) -> bytes:
    rewritten = raw.replace(b"From: support@acme.test", b"From: lista@grupos.test", 1)
    assert rewritten != raw
    return rewritten


def _other_from_and_message_id(raw: bytes) -> bytes:
    rewritten = re.sub(
        rb"^Message-ID: <[^>]+>", b"Message-ID: <relay-1@gw.grupos.test>", _other_from(raw), flags=re.M
    )
    assert b"relay-1@gw.grupos.test" in rewritten
    return rewritten


@pytest.mark.parametrize(
    ("variant", "reason"),
    [
        (lambda raw: raw, "sent from our own address support@acme.test"),
        (_other_from, "is one we generated"),
        (_other_from_and_message_id, "carries our X-Mailbot-Outbox header (ack:MB-"),
    ],
    ids=["own-address", "own-message-id", "outbox-header"],
)
def test_our_sent_ack_coming_back_is_an_echo_by_each_rule(desk: Desk, support, variant, reason: str) -> None:
    ack = _first_ack(desk, support)
    _feed_back(desk, support, variant(ack.raw))

    first, echo = inbound_rows(desk.runtime)
    assert (echo.status, echo.verdict) == ("ignored", "own_echo")
    assert reason in (echo.verdict_reason or "")
    [ticket] = desk.tickets()
    assert len(ticket["messages"]) == 1
    assert len(desk.smtp.received) == 1


@pytest.mark.postgres
def test_carrier_bounce_quoting_our_sent_ack_marks_it_bounced(desk: Desk, support) -> None:
    ack = _first_ack(desk, support)
    _feed_back(desk, support, carrier_bounce(ack.raw))

    [entry] = outbox_rows(desk.runtime)
    assert entry.internet_message_id == str(ack.message["Message-ID"]).strip("<>")
    assert entry.status == "bounced"
    [ticket] = desk.tickets()
    assert [m["kind"] for m in ticket["messages"]] == ["customer", "bounce"]
    assert ticket["messages"][1]["from"] == "post_master@correo.operadora.test"
    assert len(desk.smtp.received) == 1


def test_notice_from_an_unknown_sender_quoting_our_sent_ack_marks_it_bounced(desk: Desk, support) -> None:
    # Neither a daemon name nor a null Return-Path: the wording and our own copy decide.
    ack = _first_ack(desk, support)
    notice = carrier_bounce(
        ack.raw,
        sender='"Zustellsystem" <zustellung@mx.web.test>',
        return_path="<zustellung@mx.web.test>",
        explanation="Ihre Nachricht konnte nicht zugestellt werden: das Postfach ist voll.\n",
    )
    _feed_back(desk, support, notice)

    [entry] = outbox_rows(desk.runtime)
    assert entry.status == "bounced"
    bounce = inbound_rows(desk.runtime)[1]
    assert bounce.verdict == "bounce" and "X-Mailbot-Outbox" in (bounce.verdict_reason or "")
    assert [m["kind"] for m in desk.tickets()[0]["messages"]] == ["customer", "bounce"]
    assert len(desk.smtp.received) == 1


@pytest.mark.postgres
@pytest.mark.parametrize("wrap", [feedback_report, provider_complaint], ids=["arf", "jmrp"])
def test_complaint_about_our_sent_ack_lands_on_its_ticket_unanswered(desk: Desk, support, wrap) -> None:
    ack = _first_ack(desk, support)
    acknowledged_at = desk.tickets()[0]["acknowledged_at"]
    _feed_back(desk, support, wrap(ack.raw))

    complaint = inbound_rows(desk.runtime)[1]
    assert (complaint.status, complaint.verdict) == ("processed", "auto_reply")
    assert "complaint" in (complaint.verdict_reason or "")
    [ticket] = desk.tickets()
    assert [m["kind"] for m in ticket["messages"]] == ["customer", "auto_reply"]
    assert ticket["acknowledged_at"] == acknowledged_at
    # The ack was delivered and called spam: it did not bounce.
    [entry] = outbox_rows(desk.runtime)
    assert entry.status == "sent"
    assert len(desk.smtp.received) == 1


def test_complaint_whose_copy_lost_its_message_id_finds_the_ticket_by_the_signed_reply_address(
    desk: Desk, support
) -> None:
    ack = _first_ack(desk, support)
    # Some feedback loops re-serialise the reported message; the Reply-To survives.
    copy = re.sub(rb"^Message-ID: <[^>]+>\r\n", b"", ack.raw, flags=re.M)
    assert b"Message-ID" not in copy and b"Reply-To: support+mb-" in copy
    _feed_back(desk, support, feedback_report(copy))

    [ticket] = desk.tickets()
    assert [m["kind"] for m in ticket["messages"]] == ["customer", "auto_reply"]
    assert len(desk.smtp.received) == 1


def test_a_forged_bounce_naming_only_our_unsigned_outbox_key_reaches_no_ticket(desk: Desk, support) -> None:
    ack = _first_ack(desk, support)
    key = str(ack.message["X-Mailbot-Outbox"])
    # The ref is public (it is in every subject): a copy that only claims the key is ours,
    # but names neither our Message-ID nor a signed reply address.
    forged_copy = (
        "From: support@acme.test\r\nTo: victim@example.test\r\nSubject: hello\r\n"
        f"Message-ID: <forged-1@attacker.test>\r\nX-Mailbot-Outbox: {key}\r\n\r\nhello\r\n"
    ).encode()
    _feed_back(desk, support, carrier_bounce(forged_copy))

    bounce = inbound_rows(desk.runtime)[1]
    assert (bounce.status, bounce.verdict, bounce.ticket_id) == ("processed", "bounce", None)
    [entry] = outbox_rows(desk.runtime)
    assert entry.status == "sent"
    assert [m["kind"] for m in desk.tickets()[0]["messages"]] == ["customer"]
    assert len(desk.smtp.received) == 1
