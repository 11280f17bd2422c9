"""A batch filed a chunk per transaction (pipeline/batch.py) decides as one by one would:
messages of one chunk see each other, a retried row takes the careful path, and a row
another job already filed is left alone."""

from __future__ import annotations

import collections
import datetime as dt
import random

import pytest
from sqlalchemy import delete, event, select, update

from mailbot.jobs import CLOCK, process_inbound_batch
from mailbot.pipeline import process
from mailbot.pipeline.batch import FILING_CHUNK
from mailbot.pipeline.process import process_inbound
from mailbot.queue import HISTORY_QUEUE, INBOUND_QUEUE, queue
from mailbot.stage_timings import STAGE_TIMINGS_ENV, read_stage_timings
from mailbot.store.db import engine_for
from mailbot.store.models import (
    Alert,
    Attachment,
    Contact,
    ContactIdentity,
    CustomerLookup,
    Inbound,
    Message,
    OutboxEntry,
    Ticket,
)
from tests.fixtures.mail import Desk
from tests.fixtures.messages import customer_mail, inbound_rows, message_rows, outbox_rows

pytestmark = pytest.mark.postgres


def store_only(desk: Desk, user: str, password: str, mails: list[bytes]) -> list[int]:
    """APPEND and poll; the ids of the stored rows, left `received` for the test to file
    (the queued job is dropped)."""
    for mail in mails:
        desk.dovecot.append(user, password, mail)
    desk.poll()
    desk.runtime.redis.flushdb()
    return [row.id for row in inbound_rows(desk.runtime)]


def test_a_reply_and_a_duplicate_in_the_same_chunk_join_the_first_message(desk: Desk, support) -> None:
    first = customer_mail("first@mail.gmail.test", subject="Pedido 4411 sin llegar")
    reply = customer_mail(
        "reply@mail.gmail.test",
        subject="Re: Pedido 4411 sin llegar",
        body="Os escribo otra vez: el pedido sigue sin llegar.",
        extra_headers="In-Reply-To: <first@mail.gmail.test>\r\nReferences: <first@mail.gmail.test>\r\n",
    )
    other = customer_mail(
        "other@mail.gmail.test", sender="Luis Pérez <luis@correo.test>", subject="Factura duplicada"
    )
    # The same mail sent again under a new Message-ID: the content says it is a copy.
    copy = customer_mail("copy@mail.gmail.test", subject="Pedido 4411 sin llegar")
    ids = store_only(desk, *support, [first, reply, copy, other])
    assert len(ids) == 4

    counts = process_inbound_batch(ids)

    assert counts == {"processed": 3, "duplicate": 1}
    refs = collections.Counter(m.ticket_id for m in message_rows(desk.runtime))
    assert sorted(refs.values()) == [1, 2], "the reply joined the first message's ticket"
    assert sorted(e.to_address for e in outbox_rows(desk.runtime)) == [
        "ana.garcia@gmail.test",
        "luis@correo.test",
    ]


def test_a_chunk_larger_than_one_transaction_is_filed_whole(desk: Desk, support) -> None:
    mails = [
        customer_mail(
            f"many-{n}@mail.gmail.test", sender=f"Cliente {n} <c{n}@gmail.test>", subject=f"Pedido {n}"
        )
        for n in range(FILING_CHUNK + 7)
    ]
    ids = store_only(desk, *support, mails)

    assert process_inbound_batch(ids) == {"processed": len(mails)}
    assert {row.status for row in inbound_rows(desk.runtime)} == {"processed"}
    assert len({e.key for e in outbox_rows(desk.runtime)}) == len(mails)
    # Run again (a recovered duplicate job): nothing changes.
    assert process_inbound_batch(ids) == {"skipped": len(mails)}
    assert len(outbox_rows(desk.runtime)) == len(mails)


def test_a_row_attempted_before_is_filed_alone_and_counts_its_attempt(desk: Desk, support) -> None:
    ids = store_only(
        desk,
        *support,
        [
            customer_mail("again@mail.gmail.test"),
            customer_mail("fresh@mail.gmail.test", sender="B <b@b.test>"),
        ],
    )
    long_ago = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    with desk.runtime.sessions.begin() as session:
        # What a worker killed while filing leaves: one attempt counted, an old lease.
        session.execute(
            update(Inbound).where(Inbound.id == ids[0]).values(attempts=1, processing_started_at=long_ago)
        )

    assert process_inbound_batch(ids) == {"processed": 2}
    with desk.runtime.sessions() as session:
        attempts = {row.id: row.attempts for row in session.execute(select(Inbound.id, Inbound.attempts))}
    assert attempts == {ids[0]: 2, ids[1]: 1}


def test_a_row_leased_by_another_worker_is_left_to_it(desk: Desk, support) -> None:
    [inbound_id] = store_only(desk, *support, [customer_mail("leased@mail.gmail.test")])
    with desk.runtime.sessions.begin() as session:
        session.execute(
            update(Inbound)
            .where(Inbound.id == inbound_id)
            .values(processing_started_at=dt.datetime.now(dt.UTC))
        )
    assert process_inbound_batch([inbound_id]) == {"skipped": 1}
    assert inbound_rows(desk.runtime)[0].status == "received"


def test_stage_timings_reach_redis_when_asked(desk: Desk, support, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = store_only(desk, *support, [customer_mail("timed@mail.gmail.test")])
    CLOCK.publish(desk.runtime)  # timings off: what earlier tests summed is dropped
    monkeypatch.setenv(STAGE_TIMINGS_ENV, "1")

    process_inbound_batch(ids)

    timings = read_stage_timings(desk.runtime)
    assert {"claim", "parse", "file (one transaction)"} <= set(timings)
    assert all(seconds > 0 and calls >= 1 for seconds, calls in timings.values())


def test_live_mail_is_filed_before_the_history_a_new_mailbox_imports(desk: Desk, support) -> None:
    archive_user, archive_password = desk.add_mailbox("archive", "archive@acme.test")
    client = desk.dovecot.connect(archive_user, archive_password)
    try:
        for n in range(30):  # dated last year: history, imported and never answered
            mail = customer_mail(f"old-{n}@mail.gmail.test", sender=f"Old {n} <old{n}@gmail.test>")
            client.append("INBOX", mail, msg_time=dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    finally:
        client.logout()
    desk.dovecot.append(*support, customer_mail("now@mail.gmail.test", sender="Now <now@gmail.test>"))

    desk.poll()
    with desk.runtime.sessions() as session:
        live = session.scalars(select(Inbound.id).where(Inbound.may_acknowledge.is_(True))).all()
    assert len(live) == 1
    assert queue(desk.runtime, INBOUND_QUEUE).count == 1
    assert queue(desk.runtime, HISTORY_QUEUE).count >= 1

    desk.work()

    rows = inbound_rows(desk.runtime)
    assert {row.status for row in rows} == {"processed"}
    [now] = [row for row in rows if row.may_acknowledge]
    assert now.processed_at is not None
    assert all(now.processed_at <= row.processed_at for row in rows if row.processed_at is not None)
    [ack] = outbox_rows(desk.runtime)  # history is never acknowledged
    assert ack.to_address == "now@gmail.test"


def test_a_chunk_decides_from_rows_read_once_what_each_message_would_have_asked(
    desk: Desk, support, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Senders with history, each alone in its chunk: the chunk's rows (chunk_reads.py)
    give the answers the store would have, and are read once for the chunk."""
    monkeypatch.setenv("MAILBOT_ACK_CAP_PER_ADDRESS", "2")
    ana = "Ana García <ana.garcia@gmail.test>"
    first = [
        customer_mail("ana-1@mail.gmail.test", sender=ana, subject="Pedido 1 sin llegar"),
        customer_mail("luis-1@mail.gmail.test", sender="Luis <luis@correo.test>", subject="Factura"),
    ]
    process_inbound_batch(store_only(desk, *support, first))
    # Her second acknowledgement, the cap's last (the rows filed before are skipped).
    process_inbound_batch(
        store_only(desk, *support, [customer_mail("ana-2@mail.gmail.test", sender=ana, subject="Talla")])
    )

    later = [
        customer_mail(
            f"new-{n}@mail.gmail.test", sender=f"Cliente {n} <c{n}@gmail.test>", subject=f"Duda {n}"
        )
        for n in range(4)
    ]
    later += [
        customer_mail("ana-3@mail.gmail.test", sender=ana, subject="Devolución"),  # over the cap
        # Luis's first mail again under a new Message-ID: a copy.
        customer_mail("luis-copy@mail.gmail.test", sender="Luis <luis@correo.test>", subject="Factura"),
    ]
    done = {r.id for r in inbound_rows(desk.runtime)}
    ids = sorted(set(store_only(desk, *support, later)) - done)
    statements: list[str] = []
    engine = engine_for(desk.runtime.settings.database_url)
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        counts = process_inbound_batch(ids)
    finally:
        event.remove(engine, "before_cursor_execute", listener)

    assert counts == {"processed": 5, "duplicate": 1}
    acks_to = collections.Counter(e.to_address for e in outbox_rows(desk.runtime) if e.kind == "ack")
    assert acks_to["ana.garcia@gmail.test"] == 2, "the cap counted the acknowledgements of earlier chunks"
    assert acks_to["luis@correo.test"] == 1
    assert all(acks_to[f"c{n}@gmail.test"] == 1 for n in range(4))
    with desk.runtime.sessions() as session:
        ana_contacts = set(
            session.scalars(
                select(Ticket.contact_id).join(Message).where(Message.from_address == "ana.garcia@gmail.test")
            )
        )
    assert len(ana_contacts) == 1, "Ana's third ticket found her contact"
    # Read once for the six messages, not once each.
    acks_read = [s for s in statements if "FROM outbox" in s and "outbox.kind" in s]
    seen_read = [s for s in statements if "FROM messages JOIN tickets" in s]
    assert len(acks_read) == 1 and len(seen_read) == 1, (acks_read, seen_read)


def test_a_message_whose_filing_fails_undoes_its_chunk_which_is_filed_again_one_by_one(
    desk: Desk, support, monkeypatch: pytest.MonkeyPatch
) -> None:
    mails = [
        customer_mail(f"ok-{n}@mail.gmail.test", sender=f"Cliente {n} <c{n}@gmail.test>", subject=f"Duda {n}")
        for n in range(3)
    ]
    mails.insert(1, customer_mail("bad@mail.gmail.test", sender="B <b@b.test>", subject="Rompe el filing"))
    ids = store_only(desk, *support, mails)
    real_enrich = process.enrich

    def enrich_failing_on_one(msg, now):  # a bug that only this message's data reaches
        if msg.subject == "Rompe el filing":
            raise ValueError("enrichment bug")
        return real_enrich(msg, now)

    monkeypatch.setattr(process, "enrich", enrich_failing_on_one)

    assert process_inbound_batch(ids) == {"processed": 3, "failed": 1}

    rows = {row.id: row for row in inbound_rows(desk.runtime)}
    bad = rows[ids[1]]
    assert bad.status == "received" and "enrichment bug" in (bad.error or "")
    assert bad.attempts == 2, "the chunk's attempt and its own one-by-one attempt"
    # The undone chunk left nothing behind: one ticket and one acknowledgement each.
    assert sorted(e.to_address for e in outbox_rows(desk.runtime)) == [f"c{n}@gmail.test" for n in range(3)]
    assert len(message_rows(desk.runtime)) == 3
    monkeypatch.setattr(process, "enrich", real_enrich)
    assert process_inbound_batch([bad.id]) == {"processed": 1}


def mixed_mails(count: int, senders: int, seed: int) -> list[bytes]:
    """Customers writing in: new matters on a few recurring subjects (the same sender and
    subject join the open ticket), replies to their earlier mail, copies of it."""
    rng = random.Random(seed)
    subjects = ["Pedido sin llegar", "Factura duplicada", "Ordine non arrivato", "Wrong size", "Reembolso"]
    earlier: dict[int, list[tuple[str, str, str]]] = collections.defaultdict(list)
    mails = []
    for n in range(count):
        who = rng.randrange(senders)
        sender = f"Cliente {who} <c{who}@correo.test>"
        roll = rng.random()
        if earlier[who] and roll < 0.2:
            answered, subject, _ = rng.choice(earlier[who])
            headers = f"In-Reply-To: <{answered}>\r\nReferences: <{answered}>\r\n"
            mails.append(
                customer_mail(
                    f"m{n}@x.test",
                    sender=sender,
                    subject=f"Re: {subject}",
                    extra_headers=headers,
                    body=f"Sigo esperando, van {n} días.",
                )
            )
            continue
        if earlier[who] and roll < 0.3:
            _, subject, body = rng.choice(earlier[who])  # the same mail again, a new Message-ID
        else:
            subject, body = rng.choice(subjects), f"Mensaje número {n}: el pedido {1000 + n} no ha llegado."
        earlier[who].append((f"m{n}@x.test", subject, body))
        mails.append(customer_mail(f"m{n}@x.test", sender=sender, subject=subject, body=body))
    return mails


def filing_decisions(runtime) -> dict[int, tuple]:
    """Per inbound row: its status, the first row of its ticket, the first row of its
    contact, and whether its ticket was acknowledged: what filing decided, without ids."""
    with runtime.sessions() as session:
        rows = session.execute(
            select(Inbound.id, Inbound.status, Inbound.ticket_id, Ticket.contact_id)
            .outerjoin(Ticket, Ticket.id == Inbound.ticket_id)
            .order_by(Inbound.id)
        ).all()
        acked = set(session.scalars(select(OutboxEntry.ticket_id).where(OutboxEntry.kind == "ack")))
    first_of_ticket: dict[int, int] = {}
    first_of_contact: dict[int, int] = {}
    for row in rows:
        if row.ticket_id is not None:
            first_of_ticket.setdefault(row.ticket_id, row.id)
            first_of_contact.setdefault(row.contact_id, row.id)
    return {
        row.id: (
            row.status,
            first_of_ticket.get(row.ticket_id),
            first_of_contact.get(row.contact_id),
            row.ticket_id in acked,
        )
        for row in rows
    }


def forget_filing(runtime) -> None:
    """Back to the stored rows, as the poller left them."""
    with runtime.sessions.begin() as session:
        for model in (Attachment, Message, OutboxEntry, CustomerLookup, Alert, ContactIdentity):
            session.execute(delete(model))
        session.execute(update(Inbound).values(ticket_id=None))
        session.execute(delete(Ticket))
        session.execute(delete(Contact))
        session.execute(
            update(Inbound).values(
                status="received",
                attempts=0,
                processing_started_at=None,
                verdict=None,
                verdict_reason=None,
                error=None,
                processed_at=None,
            )
        )


@pytest.mark.parametrize("senders", [6, 40])
def test_chunks_decide_what_one_message_at_a_time_decides(desk: Desk, support, senders: int) -> None:
    """The same mail filed one message per transaction and then in chunks (their reads
    taken once for the chunk, chunk_reads.py): every message lands on the same ticket,
    the same contact, with the same acknowledgement."""
    ids = store_only(desk, *support, mixed_mails(80, senders, seed=senders))
    for inbound_id in ids:
        process_inbound(desk.runtime, inbound_id)
    one_by_one = filing_decisions(desk.runtime)
    statuses = collections.Counter(status for status, *_ in one_by_one.values())
    assert statuses["processed"] > 60 and statuses["duplicate"] > 0, statuses
    assert len({t for _, t, _, _ in one_by_one.values()}) < 70, "replies and subjects joined tickets"

    forget_filing(desk.runtime)
    process_inbound_batch(ids)

    assert filing_decisions(desk.runtime) == one_by_one


def test_a_ticket_an_earlier_message_of_the_chunk_reopened_is_joined_by_its_customer(
    desk: Desk, support
) -> None:
    """Ana's ticket is closed; in one chunk her colleague answers her mail (the header
    chain reopens it), then Ana writes again on the same subject: she joins it, as she
    would one message at a time, although the chunk read her tickets while it was closed."""
    ana = "Ana García <ana.garcia@gmail.test>"
    first = store_only(
        desk, *support, [customer_mail("ana-1@mail.gmail.test", sender=ana, subject="Factura")]
    )
    process_inbound_batch(first)
    with desk.runtime.sessions.begin() as session:
        session.execute(update(Ticket).values(status="closed"))
    colleague = customer_mail(
        "luis-1@empresa.test",
        sender="Luis <luis@empresa.test>",
        subject="Re: Factura",
        body="Os reenvío lo que Ana pedía: la factura sigue duplicada.",
        extra_headers="In-Reply-To: <ana-1@mail.gmail.test>\r\nReferences: <ana-1@mail.gmail.test>\r\n",
    )
    again = customer_mail("ana-2@mail.gmail.test", sender=ana, subject="Factura", body="¿Alguna novedad?")
    ids = sorted(set(store_only(desk, *support, [colleague, again])) - set(first))

    assert process_inbound_batch(ids) == {"processed": 2}
    assert len({m.ticket_id for m in message_rows(desk.runtime)}) == 1, "all three on Ana's ticket"


def test_a_contact_written_earlier_in_the_chunk_is_read_from_the_store(desk: Desk, support) -> None:
    """Ana writes from two addresses of one contact (an agent merged them). In one chunk
    the first address opens a ticket and the second opens another: the second's context
    lists the first as a prior ticket and keeps the name the contact has, as one message at
    a time would, although the chunk read her contact and tickets before either."""
    first = store_only(
        desk, *support, [customer_mail("ana-0@mail.gmail.test", sender="<ana@gmail.test>", subject="Hola")]
    )
    process_inbound_batch(first)
    with desk.runtime.sessions.begin() as session:
        contact = session.scalars(select(Contact)).one()
        session.add(
            ContactIdentity(contact_id=contact.id, channel="email", handle="ana@trabajo.test", kind="email")
        )
    mails = [
        customer_mail(
            "ana-1@mail.gmail.test", sender="Ana García <ana@gmail.test>", subject="Pedido 7 sin llegar"
        ),
        customer_mail("ana-2@trabajo.test", sender="A. G. Trabajo <ana@trabajo.test>", subject="Factura 8"),
    ]
    ids = sorted(set(store_only(desk, *support, mails)) - set(first))

    assert process_inbound_batch(ids) == {"processed": 2}
    with desk.runtime.sessions() as session:
        tickets = {t.subject: t for t in session.scalars(select(Ticket))}
        assert session.scalars(select(Contact.name)).one() == "Ana García", "named once, by the first"
    assert tickets["Pedido 7 sin llegar"].ref in tickets["Factura 8"].context["prior_tickets"]
    assert tickets["Factura 8"].context["repeated_contact"] is True
