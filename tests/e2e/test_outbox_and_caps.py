"""The answering side end to end: permanent SMTP failures, rate caps and the burst hold,
our own echoes, bounces of our acknowledgements, quarantine, and which replies may join
a ticket."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

import pytest
from sqlalchemy import select

from mailbot.pipeline.process import process_inbound
from mailbot.pipeline.ratecap import ack_cap_reason, burst_reason
from mailbot.pipeline.refs import reply_address
from mailbot.runtime import Runtime
from mailbot.store.models import Contact, Inbound, Message, OutboxEntry, Ticket
from tests.fixtures.mail import Desk
from tests.fixtures.messages import (
    alerts,
    customer_mail,
    delivery_report,
    inbound_rows,
    message_rows,
    outbox_rows,
)

PERSON = "Pablo Ruiz <pablo.ruiz@cliente.test>"


def settle() -> None:
    """Time for a wrongly sent message to reach the sink before asserting there is none."""
    time.sleep(0.2)


# -- permanent failure ----------------------------------------------------------


@pytest.mark.postgres
def test_permanent_smtp_failure_fails_the_row_alerts_and_is_not_retried(desk: Desk, support) -> None:
    user, password = support
    desk.smtp.fail_with = "550 5.1.1 no such user"
    desk.dovecot.append(user, password, customer_mail("perm1@mail.gmail.test"))
    desk.run()

    [entry] = outbox_rows(desk.runtime)
    assert entry.status == "failed"
    assert entry.attempts == 1
    assert "550" in (entry.last_error or "")
    [alert] = alerts(desk.runtime, "outbox_failed")
    assert entry.key in alert.detail and "ana.garcia@gmail.test" in alert.detail
    assert desk.tickets()[0]["acknowledged_at"] is None

    # Nothing brings it back: not a later worker, not recovery, not the SMTP server healing.
    desk.smtp.fail_with = None
    with desk.runtime.sessions.begin() as session:
        session.get_one(OutboxEntry, entry.id).next_attempt_at = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    desk.run()
    [entry] = outbox_rows(desk.runtime)
    assert (entry.status, entry.attempts) == ("failed", 1)
    settle()
    assert desk.smtp.received == []


# -- rate caps and the burst hold ------------------------------------------------


def test_one_sender_gets_at_most_ten_acknowledgements_in_the_window(desk: Desk, support) -> None:
    user, password = support
    for n in range(12):
        desk.dovecot.append(
            user,
            password,
            customer_mail(
                f"cap{n}@mail.cliente.test",
                sender=PERSON,
                subject=f"Consulta número {n}",
                body=f"Tengo una pregunta distinta, la número {n}, sobre mi cuenta.",
            ),
        )
    desk.run()

    tickets = desk.tickets()
    assert len(tickets) == 12  # every message is still a ticket
    acks = desk.smtp.wait_for(10)
    settle()
    assert len(desk.smtp.received) == 10
    assert {tuple(a.rcpt_tos) for a in acks} == {("pablo.ruiz@cliente.test",)}
    assert [t["acknowledged_at"] is not None for t in tickets] == [True] * 10 + [False] * 2
    assert len(outbox_rows(desk.runtime)) == 10
    with desk.runtime.sessions() as session:
        reasons = [m.reason for m in session.scalars(select(Message).order_by(Message.id))]
    assert reasons[:10] == ["new ticket"] * 10


def test_same_subject_is_acknowledged_twice_then_capped_even_after_closing(desk: Desk, support) -> None:
    user, password = support

    def write_and_close(n: int) -> None:
        desk.dovecot.append(
            user,
            password,
            customer_mail(
                f"subj{n}@mail.cliente.test",
                sender=PERSON,
                subject="Factura de marzo",
                body=f"Sigo sin recibir la factura de marzo (intento {n}).",
            ),
        )
        desk.run()
        with desk.runtime.sessions.begin() as session:  # an agent closes it
            for ticket in session.scalars(select(Ticket)):
                ticket.status = "closed"

    for n in range(3):
        write_and_close(n)

    # A closed ticket is not continued: each message opened a new one...
    assert len(desk.tickets()) == 3
    # ...but only two acknowledgements go out for one subject in the window.
    desk.smtp.wait_for(2)
    settle()
    assert len(desk.smtp.received) == 2
    assert [t["acknowledged_at"] is not None for t in desk.tickets()] == [True, True, False]


def _runtime_with(runtime: Runtime, **changes: int) -> Runtime:
    settings = dataclasses.replace(runtime.settings, **changes)  # type: ignore[arg-type]
    return dataclasses.replace(runtime, settings=settings)


def test_a_bursting_sender_is_held_for_review_without_an_ack(desk: Desk, support) -> None:
    # The threshold is not configurable from the environment, so the pipeline runs in
    # this process with a lowered one instead of through the worker.
    user, password = support
    strict = _runtime_with(desk.runtime, burst_hold_threshold=3)
    for n in range(5):
        desk.dovecot.append(
            user,
            password,
            customer_mail(
                f"burst{n}@mail.cliente.test",
                sender=PERSON,
                subject=f"Pedido {n}",
                body=f"Mensaje automático de mi sistema número {n}.",
            ),
        )
    desk.poll()
    outcomes = [process_inbound(strict, row.id) for row in inbound_rows(desk.runtime)]

    assert [o.status for o in outcomes] == ["processed"] * 5
    # Three messages are already on file when the fourth is filed.
    assert [bool(o.outbox_ids) for o in outcomes] == [True, True, True, False, False]
    with desk.runtime.sessions() as session:
        tickets = list(session.scalars(select(Ticket).order_by(Ticket.id)))
        assert [t.held_for_review for t in tickets] == [False, False, False, True, True]
        assert "held for review" in (tickets[3].hold_reason or "")
    assert "held for review" in outcomes[3].reason


def test_rate_cap_decisions_count_only_the_window(desk: Desk, support) -> None:
    runtime = _runtime_with(
        desk.runtime, ack_cap_per_address=3, ack_cap_per_subject=1, burst_hold_threshold=2
    )
    settings = runtime.settings
    now = dt.datetime.now(dt.UTC)
    window = dt.timedelta(seconds=settings.ack_cap_window_seconds)
    address = "pablo.ruiz@cliente.test"
    with runtime.sessions.begin() as session:
        contact = Contact(name="Pablo", email=address)
        session.add(contact)
        session.flush()
        ticket = Ticket(ref="MB-AAAAAA", channel="email", contact_id=contact.id)
        session.add(ticket)
        session.flush()

        def ack(n: int, subject: str, age: dt.timedelta) -> None:
            session.add(
                OutboxEntry(
                    key=f"ack:test{n}",
                    kind="ack",
                    to_address=address,
                    from_address="support@acme.test",
                    subject=subject,
                    body="",
                    internet_message_id=f"ack{n}@acme.test",
                    normalized_subject=subject,
                    created_at=now - age,
                )
            )

        def message(n: int, age: dt.timedelta) -> None:
            session.add(
                Message(
                    ticket_id=ticket.id,
                    kind="customer",
                    from_address=address,
                    content_hash=f"h{n}",
                    received_at=now - age,
                )
            )

        ack(1, "factura", dt.timedelta(minutes=5))
        ack(2, "factura", window + dt.timedelta(minutes=1))  # outside the window
        ack(3, "envío", dt.timedelta(minutes=10))
        message(1, dt.timedelta(minutes=1))
        message(2, window + dt.timedelta(minutes=1))
        session.flush()

        assert "1 acknowledgements for this subject" in (
            ack_cap_reason(session, address, "factura", settings, now) or ""
        )
        assert ack_cap_reason(session, address, "devolución", settings, now) is None
        assert ack_cap_reason(session, "otra@cliente.test", "factura", settings, now) is None
        # A subject-less ticket is not capped by subject (every blank subject is not one matter).
        assert ack_cap_reason(session, address, "", settings, now) is None
        assert burst_reason(session, address, settings, now) is None  # one in the window

        ack(4, "cambio", dt.timedelta(minutes=1))
        message(3, dt.timedelta(seconds=30))
        session.flush()
        assert "3 acknowledgements to pablo.ruiz@cliente.test" in (
            ack_cap_reason(session, address, "devolución", settings, now) or ""
        )
        assert "2 messages from pablo.ruiz@cliente.test" in (
            burst_reason(session, address, settings, now) or ""
        )
        # Only acknowledgements count towards the caps, not agents' replies.
        for n in range(5):
            session.add(
                OutboxEntry(
                    key=f"reply:test{n}",
                    kind="agent_reply",
                    to_address="otra@cliente.test",
                    from_address="support@acme.test",
                    subject="x",
                    body="",
                    internet_message_id=f"reply{n}@acme.test",
                    normalized_subject="x",
                    created_at=now,
                )
            )
        session.flush()
        assert ack_cap_reason(session, "otra@cliente.test", "x", settings, now) is None


# -- our own echo ---------------------------------------------------------------


def test_our_own_acknowledgement_coming_back_is_ignored(desk: Desk, support) -> None:
    user, password = support
    desk.dovecot.append(user, password, customer_mail("echo-src@mail.gmail.test"))
    desk.run()
    [ack] = desk.smtp.wait_for(1)

    # A copy of what we sent lands in the support mailbox (a Bcc, a list, a forward rule).
    desk.dovecot.append(user, password, ack.raw)
    # The same, but through a list that rewrites From: only the Message-ID is left to tell.
    rewritten = ack.raw.replace(b"From: support@acme.test", b"From: lista@grupos.test", 1)
    assert rewritten != ack.raw
    desk.dovecot.append(user, password, rewritten)
    desk.run()

    statuses = [r.status for r in inbound_rows(desk.runtime)]
    assert statuses == ["processed", "ignored", "ignored"]
    [ticket] = desk.tickets()
    assert len(ticket["messages"]) == 1
    settle()
    assert len(desk.smtp.received) == 1


# -- bounce of our acknowledgement ----------------------------------------------


@pytest.mark.postgres
def test_bounce_of_our_ack_marks_it_bounced_and_lands_on_the_ticket(desk: Desk, support) -> None:
    user, password = support
    desk.dovecot.append(user, password, customer_mail("b-src@mail.gmail.test"))
    desk.run()
    [ack] = desk.smtp.wait_for(1)
    ack_id = str(ack.message["Message-ID"]).strip("<>")

    desk.dovecot.append(
        user,
        password,
        delivery_report(
            bounced_message_id=ack_id,
            bounced_to="ana.garcia@gmail.test",
            bounced_subject=str(ack.message["Subject"]),
        ),
    )
    desk.run()

    [entry] = outbox_rows(desk.runtime)
    assert entry.internet_message_id == ack_id
    assert entry.status == "bounced"
    assert "bounced" in (entry.last_error or "")
    [ticket] = desk.tickets()
    assert [m["kind"] for m in ticket["messages"]] == ["customer", "bounce"]
    assert ticket["messages"][1]["from"] == "mailer-daemon@mx.gmail.test"
    settle()
    assert len(desk.smtp.received) == 1  # nothing to MAILER-DAEMON


# -- quarantine -----------------------------------------------------------------


def test_garbage_is_quarantined_with_its_bytes_and_the_queue_goes_on(desk: Desk, support) -> None:
    user, password = support
    garbage = b"\xff\xfe\xfd GARBAGE \x80\x81 with no header lines at all\r\n\xc3\x28 more junk\r\n"
    desk.dovecot.append(user, password, garbage)
    desk.dovecot.append(user, password, customer_mail("after-garbage@mail.gmail.test"))
    desk.run()

    bad, good = inbound_rows(desk.runtime)
    assert bad.status == "quarantined"
    assert bad.error and "unparseable" in bad.error
    assert bad.raw == garbage
    assert bad.ticket_id is None
    assert good.status == "processed"
    [ticket] = desk.tickets()
    assert ticket["messages"][0]["message_id"] == "after-garbage@mail.gmail.test"
    assert len(desk.smtp.wait_for(1)) == 1

    desk.run()  # quarantined stays quarantined: not retried, not answered
    assert inbound_rows(desk.runtime)[0].status == "quarantined"
    settle()
    assert len(desk.smtp.received) == 1


# -- which replies may join a ticket --------------------------------------------


@pytest.mark.postgres
def test_reply_to_the_signed_reply_address_joins_the_ticket(desk: Desk, support) -> None:
    user, password = support
    desk.dovecot.append(user, password, customer_mail("token-src@mail.gmail.test"))
    desk.run()
    [ack] = desk.smtp.wait_for(1)
    [ticket] = desk.tickets()
    reply_to = str(ack.message["Reply-To"])
    assert reply_to == reply_address(desk.runtime.settings.secret_key, "support@acme.test", ticket["ref"])

    # No In-Reply-To, no reference anywhere, another subject: only the address says where.
    desk.dovecot.append(
        user,
        password,
        customer_mail(
            "token-reply@mail.gmail.test",
            to=reply_to,
            subject="Una cosa más",
            body="Se me olvidó deciros que vivo en un tercer piso sin ascensor.",
        ),
    )
    desk.run()

    [ticket] = desk.tickets()
    assert [m["message_id"] for m in ticket["messages"]] == [
        "token-src@mail.gmail.test",
        "token-reply@mail.gmail.test",
    ]
    assert message_rows(desk.runtime)[1].reason == "threaded by signed reply address"
    settle()
    assert len(desk.smtp.received) == 1


def test_a_forged_reply_token_opens_a_new_ticket(desk: Desk, support) -> None:
    user, password = support
    desk.dovecot.append(user, password, customer_mail("forge-src@mail.gmail.test"))
    desk.run()
    [ticket] = desk.tickets()
    forged = f"support+{ticket['ref'].lower()}.00000000@acme.test"
    desk.dovecot.append(
        user,
        password,
        customer_mail(
            "forge@mail.yahoo.test",
            sender="Eva <eva@yahoo.test>",
            to=forged,
            subject="Quiero ver este ticket",
            body="Dejadme entrar en ese ticket, por favor.",
        ),
    )
    desk.run()
    assert len(desk.tickets()) == 2
    assert [len(t["messages"]) for t in desk.tickets()] == [1, 1]


def test_a_stranger_quoting_someones_ref_gets_a_new_ticket(desk: Desk, support) -> None:
    user, password = support
    desk.dovecot.append(user, password, customer_mail("owner@mail.gmail.test"))
    desk.run()
    [owner_ticket] = desk.tickets()
    ref = owner_ticket["ref"]

    desk.dovecot.append(
        user,
        password,
        customer_mail(
            "stranger@mail.yahoo.test",
            sender="Eva Martín <eva.martin@yahoo.test>",
            subject=f"Re: [#{ref}] Mi pedido no ha llegado",
            body="Hola, yo también tengo un problema con un pedido que no llega.",
        ),
    )
    desk.run()

    tickets = {t["contact"]["email"]: t for t in desk.tickets()}
    assert set(tickets) == {"ana.garcia@gmail.test", "eva.martin@yahoo.test"}
    assert tickets["eva.martin@yahoo.test"]["ref"] != ref
    assert len(tickets["ana.garcia@gmail.test"]["messages"]) == 1
    # The stranger is a person with a new ticket, so they are answered, on their own ref.
    acks = desk.smtp.wait_for(2)
    assert acks[1].rcpt_tos == ["eva.martin@yahoo.test"]
    assert f"[#{tickets['eva.martin@yahoo.test']['ref']}]" in str(acks[1].message["Subject"])

    # The ticket's own contact may use the bare reference with any subject.
    desk.dovecot.append(
        user,
        password,
        customer_mail(
            "owner-again@mail.gmail.test",
            subject=f"Sobre {ref}",
            body="Os escribo de nuevo por lo del pedido.",
        ),
    )
    desk.run()
    by_ref = {t["ref"]: t for t in desk.tickets()}
    assert len(by_ref) == 2
    assert [m["message_id"] for m in by_ref[ref]["messages"]] == [
        "owner@mail.gmail.test",
        "owner-again@mail.gmail.test",
    ]


def test_a_colleague_at_the_same_company_may_use_the_reference(desk: Desk, support) -> None:
    user, password = support
    desk.dovecot.append(user, password, customer_mail("co-src@mail.cliente.test", sender=PERSON))
    desk.run()
    [ticket] = desk.tickets()
    desk.dovecot.append(
        user,
        password,
        customer_mail(
            "co-reply@mail.cliente.test",
            sender="Lucía Gómez <lucia.gomez@cliente.test>",
            subject=f"[#{ticket['ref']}] más datos",
            body="Soy compañera de Pablo: el pedido es el 7781.",
        ),
    )
    desk.run()
    [ticket] = desk.tickets()
    assert [m["from"] for m in ticket["messages"]] == ["pablo.ruiz@cliente.test", "lucia.gomez@cliente.test"]


def test_processing_a_filed_row_again_changes_nothing(desk: Desk, support) -> None:
    # Processing is idempotent: running the job for a filed row again changes nothing.
    user, password = support
    desk.dovecot.append(user, password, customer_mail("idem@mail.gmail.test"))
    desk.run()
    [row] = inbound_rows(desk.runtime)
    outcome = process_inbound(desk.runtime, row.id)
    assert outcome.status == "skipped"
    with desk.runtime.sessions() as session:
        assert session.scalar(select(Inbound.attempts).where(Inbound.id == row.id)) == 1
    assert len(desk.tickets()) == 1 and len(outbox_rows(desk.runtime)) == 1


def test_a_stranger_cannot_join_by_forging_in_reply_to_from_a_known_ref(desk: Desk, support) -> None:
    user, password = support
    desk.dovecot.append(user, password, customer_mail("victim@mail.gmail.test"))
    desk.run()
    [ticket] = desk.tickets()
    # Everything here is computable from the ref printed in any acknowledgement's subject;
    # the real acknowledgement's Message-ID is signed, so this one names no ticket.
    forged = f"<mailbot.ack.{ticket['ref'].lower()}@acme.test>"
    desk.dovecot.append(
        user,
        password,
        customer_mail(
            "intruder@mail.yahoo.test",
            sender="Eva <eva@yahoo.test>",
            subject="hola",
            body="Quiero leer y escribir en un ticket ajeno.",
            extra_headers=f"In-Reply-To: {forged}\r\n",
        ),
    )
    desk.run()
    assert len(desk.tickets()) == 2


def test_a_batch_of_acks_shares_one_connection_and_one_refusal_spoils_nothing(desk: Desk, support) -> None:
    """Acknowledgements are delivered in groups over one SMTP connection; a recipient the
    server refuses fails alone, the others in the same group are sent."""
    user, password = support
    desk.smtp.refuse_recipients = {"nadie@gmail.test"}
    senders = ["ana@gmail.test", "nadie@gmail.test", "luis@yahoo.test", "eva@libero.test"]
    for n, address in enumerate(senders):
        desk.dovecot.append(
            user,
            password,
            customer_mail(
                f"batch{n}@mail.gmail.test",
                sender=f"Cliente <{address}>",
                subject=f"Consulta {n}",
                body=f"Hola, tengo una consulta número {n} sobre mi pedido.",
            ),
        )
    desk.run()
    received = sorted(r for m in desk.smtp.wait_for(3) for r in m.rcpt_tos)
    assert received == ["ana@gmail.test", "eva@libero.test", "luis@yahoo.test"]
    assert len(desk.smtp.sessions_seen) == 1
    statuses = {row.to_address: row.status for row in outbox_rows(desk.runtime)}
    assert statuses == {
        "ana@gmail.test": "sent",
        "nadie@gmail.test": "failed",
        "luis@yahoo.test": "sent",
        "eva@libero.test": "sent",
    }


def test_a_larger_group_is_spread_over_a_few_connections_each_message_once(desk: Desk, support) -> None:
    user, password = support
    for n in range(12):
        desk.dovecot.append(
            user,
            password,
            customer_mail(
                f"spread{n}@mail.gmail.test",
                sender=f"Cliente {n} <cliente{n}@gmail.test>",
                subject=f"Consulta {n}",
                body=f"Hola, tengo la consulta número {n} sobre mi pedido.",
            ),
        )
    desk.run()
    received = sorted(r for m in desk.smtp.wait_for(12) for r in m.rcpt_tos)
    assert received == sorted(f"cliente{n}@gmail.test" for n in range(12))
    # 12 messages, 5 per connection: 3 for one group of 12. They may reach the outbox in
    # more than one delivery job (filing chunks), and a later job reuses the connections an
    # earlier one left open (smtp_pool.py): 2 were seen here, never one per message.
    assert len(desk.smtp.sessions_seen) in {2, 3}
    assert {row.status for row in outbox_rows(desk.runtime)} == {"sent"}
