"""The email spine end to end on real servers: Dovecot in, the pipeline, the SMTP sink out."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from mailbot.pipeline.refs import ack_message_id
from mailbot.store.models import Alert, Inbound, OutboxEntry
from tests.fixtures.mail import Desk
from tests.fixtures.messages import customer_mail, outbox_rows


@pytest.mark.postgres
def test_new_mail_becomes_one_ticket_and_one_localized_acknowledgement(desk: Desk, support) -> None:
    user, password = support
    desk.dovecot.append(user, password, customer_mail("a1@mail.gmail.test"))
    desk.run()

    [ticket] = desk.tickets()
    assert ticket["contact"] == {
        "name": "Ana García",
        "email": "ana.garcia@gmail.test",
        "identities": [{"type": "email", "value": "ana.garcia@gmail.test"}],
    }
    assert ticket["language"] == "es"
    assert ticket["acknowledged_at"] is not None
    assert [m["kind"] for m in ticket["messages"]] == ["customer"]
    assert "todavía no ha llegado" in ticket["messages"][0]["text"]

    [ack] = desk.smtp.wait_for(1)
    message = ack.message
    assert ack.rcpt_tos == ["ana.garcia@gmail.test"]
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["In-Reply-To"] == "<a1@mail.gmail.test>"
    assert f"[#{ticket['ref']}]" in message["Subject"]
    expected_id = ack_message_id(desk.runtime.settings.secret_key, ticket["ref"], "support@acme.test")
    assert message["Message-ID"] == f"<{expected_id}>"
    body = message.get_content()
    assert "Referencia del ticket: " + ticket["ref"] in body
    assert "24 horas" in body

    # A second round finds nothing new: no second ticket, no second acknowledgement.
    desk.run()
    assert len(desk.tickets()) == 1
    assert len(desk.smtp.received) == 1


def test_mail_already_in_a_new_mailbox_is_history_not_acknowledged(desk: Desk) -> None:
    user, password = "olduser" + dt.datetime.now().strftime("%H%M%S%f"), "pw"
    desk.dovecot.add_user(user, password)
    desk.dovecot.append(
        user, password, customer_mail("old1@mail.gmail.test"), msg_time=dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    )
    from mailbot.mailboxes import MailboxSpec, add_mailbox

    with desk.runtime.sessions.begin() as session:
        add_mailbox(
            session,
            MailboxSpec(
                "legacy", desk.dovecot.imap_url(user, password), desk.smtp.smtp_url(), "support@acme.test"
            ),
            desk.runtime.settings.secret_key,
        )
    desk.dovecot.append(
        user,
        password,
        customer_mail("new1@mail.gmail.test", subject="Factura duplicada", sender="Luis <luis@yahoo.test>"),
    )
    desk.run()

    tickets = {t["contact"]["email"]: t for t in desk.tickets()}
    assert set(tickets) == {"ana.garcia@gmail.test", "luis@yahoo.test"}
    assert tickets["ana.garcia@gmail.test"]["acknowledged_at"] is None
    assert tickets["luis@yahoo.test"]["acknowledged_at"] is not None
    assert [m.rcpt_tos for m in desk.smtp.wait_for(1)] == [["luis@yahoo.test"]]


def test_mail_marked_read_by_another_client_is_still_fetched(desk: Desk, support) -> None:
    user, password = support
    desk.dovecot.append(user, password, customer_mail("seen1@mail.gmail.test"), flags=[b"\\Seen"])
    desk.run()
    assert len(desk.tickets()) == 1


def test_reply_to_the_acknowledgement_threads_without_a_second_ack(desk: Desk, support) -> None:
    user, password = support
    desk.dovecot.append(user, password, customer_mail("orig@mail.gmail.test"))
    desk.run()
    [ack] = desk.smtp.wait_for(1)
    reply = customer_mail(
        "reply1@mail.gmail.test",
        subject="Re: " + str(ack.message["Subject"]),
        body=(
            "Os adjunto el número de pedido: 48213.\r\n\r\n"
            "El lun, 23 nov 2026, Soporte escribió:\r\n> Gracias"
        ),
        extra_headers=f"In-Reply-To: {ack.message['Message-ID']}\r\n",
    )
    desk.dovecot.append(user, password, reply)
    desk.run()
    [ticket] = desk.tickets()
    assert [m["kind"] for m in ticket["messages"]] == ["customer", "customer"]
    assert "48213" in ticket["messages"][1]["text"]
    assert "escribió" not in ticket["messages"][1]["text"]
    assert len(desk.smtp.received) == 1


def test_smtp_down_is_retried_and_the_ack_sent_exactly_once(desk: Desk, support) -> None:
    user, password = support
    desk.smtp.fail_with = "451 4.3.0 try again later"
    desk.dovecot.append(user, password, customer_mail("down1@mail.gmail.test"))
    desk.run()
    with desk.runtime.sessions() as session:
        [entry] = session.scalars(select(OutboxEntry)).all()
        assert entry.status == "pending" and entry.attempts == 1
        assert "451" in (entry.last_error or "")
    assert desk.tickets()[0]["acknowledged_at"] is None

    desk.smtp.fail_with = None
    with desk.runtime.sessions.begin() as session:  # the backoff has passed
        session.get(OutboxEntry, entry.id).next_attempt_at = dt.datetime.now(dt.UTC)
    desk.work()
    desk.work()
    assert len(desk.smtp.wait_for(1)) == 1
    assert desk.tickets()[0]["acknowledged_at"] is not None


def test_a_gap_in_stored_uids_is_alerted_and_fetched(desk: Desk, support) -> None:
    user, password = support
    for n in range(3):
        desk.dovecot.append(
            user,
            password,
            customer_mail(f"gap{n}@mail.gmail.test", subject=f"Asunto {n}", body=f"Mensaje número {n}"),
        )
    desk.poll()
    with desk.runtime.sessions.begin() as session:  # as if the second fetch had been lost
        row = session.scalar(select(Inbound).where(Inbound.imap_uid == 2))
        session.delete(row)
    desk.run()
    with desk.runtime.sessions() as session:
        alerts = session.scalars(select(Alert).where(Alert.kind == "sync_gap")).all()
        assert len(alerts) == 1 and "2" in alerts[0].detail
        assert session.scalar(select(Inbound).where(Inbound.imap_uid == 2)) is not None
    assert len(desk.tickets()) == 3


def test_a_template_edited_in_the_panel_is_what_the_customer_receives(desk: Desk, support) -> None:
    from mailbot.store.panel_models import AckTemplateOverride

    with desk.runtime.sessions.begin() as session:
        session.add(
            AckTemplateOverride(
                language="es",
                source="{% block subject %}[#{{ ref }}] Recibido{% endblock %}"
                "{% block body %}Hola {{ name }}, tu caso {{ ref }} está en marcha.{% endblock %}",
            )
        )
    user, password = support
    desk.dovecot.append(user, password, customer_mail("tpl1@mail.gmail.test"))
    desk.run()
    [ticket] = desk.tickets()
    [ack] = desk.smtp.wait_for(1)
    assert ack.message["Subject"] == f"[#{ticket['ref']}] Recibido"
    assert ack.message.get_content().strip() == f"Hola Ana, tu caso {ticket['ref']} está en marcha."


def test_the_acknowledgement_cut_off_is_configurable(desk: Desk) -> None:
    """A team moving to mailbot may want last week's unanswered mail acknowledged too."""
    user, password = "cutoff" + dt.datetime.now().strftime("%H%M%S%f"), "pw"
    desk.dovecot.add_user(user, password)
    desk.dovecot.append(
        user,
        password,
        customer_mail("week-old@mail.gmail.test"),
        msg_time=dt.datetime.now(dt.UTC) - dt.timedelta(days=7),
    )
    desk.dovecot.append(
        user,
        password,
        customer_mail("year-old@mail.gmail.test", subject="Otra cosa", sender="Luis <luis@yahoo.test>"),
        msg_time=dt.datetime.now(dt.UTC) - dt.timedelta(days=365),
    )
    from mailbot.mailboxes import MailboxSpec, add_mailbox

    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    with desk.runtime.sessions.begin() as session:
        add_mailbox(
            session,
            MailboxSpec(
                "migrated",
                desk.dovecot.imap_url(user, password),
                desk.smtp.smtp_url(),
                "support@acme.test",
                ack_cutoff=since,
            ),
            desk.runtime.settings.secret_key,
        )
    desk.run()
    assert [m.rcpt_tos for m in desk.smtp.wait_for(1)] == [["ana.garcia@gmail.test"]]
    assert len(desk.tickets()) == 2


def _demo_mail(subject_start: str) -> tuple[str, str, str, str, str]:
    """One of the mails `mailbot demo` delivers, by the start of its subject."""
    from mailbot.demo import NEW_MAIL

    return next(m for m in NEW_MAIL if m[1].startswith(subject_start))


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("subject", "extra_headers"),
    [
        # The demo's own out-of-office reply (mailbot/demo.py): no In-Reply-To, no reference.
        (_demo_mail("Automatic reply:")[1], _demo_mail("Automatic reply:")[3].replace("\n", "\r\n")),
        # A French absence message recognised by its subject alone.
        ("Réponse automatique : Wrong size delivered", ""),
    ],
    ids=["demo-automatic-reply", "french-subject-only"],
)
def test_an_auto_reply_without_our_ids_joins_the_senders_ticket_with_its_subject(
    desk: Desk, support, subject: str, extra_headers: str
) -> None:
    user, password = support
    sender, first_subject, _, _, body = _demo_mail("Wrong size delivered")
    desk.dovecot.append(
        user, password, customer_mail("ooo-1@yahoo.test", subject=first_subject, body=body, sender=sender)
    )
    desk.run()
    assert len(desk.smtp.wait_for(1)) == 1

    auto_reply = customer_mail(
        "ooo-2@yahoo.test",
        subject=subject,
        body="I am out of the office until Monday.",
        sender=sender,
        extra_headers=extra_headers,
    )
    # The same auto-reply from someone without that ticket joins nothing.
    stranger = customer_mail(
        "ooo-3@web.test",
        subject=subject,
        body="Ich bin nicht im Büro.",
        sender="Katrin Weber <katrin.weber@web.test>",
        extra_headers=extra_headers,
    )
    desk.dovecot.append(user, password, auto_reply)
    desk.dovecot.append(user, password, stranger)
    desk.run()

    [ticket] = desk.tickets()
    assert ticket["subject"] == "Wrong size delivered"
    assert [(m["kind"], m["message_id"]) for m in ticket["messages"]] == [
        ("customer", "ooo-1@yahoo.test"),
        ("auto_reply", "ooo-2@yahoo.test"),
    ]
    with desk.runtime.sessions() as session:
        rows = {row.imap_uid: row for row in session.scalars(select(Inbound))}
    assert [(r.status, r.verdict, r.ticket_id is None) for _, r in sorted(rows.items())] == [
        ("processed", "customer", False),
        ("processed", "auto_reply", False),
        ("processed", "auto_reply", True),
    ]
    desk.work()  # anything still due is sent now: nothing is
    assert len(desk.smtp.received) == 1
    assert len(outbox_rows(desk.runtime)) == 1
