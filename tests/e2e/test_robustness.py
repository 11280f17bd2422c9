"""Failure paths found in review: a message the server will not hand out, a worker whose
claim expired while it was still talking to SMTP, a recipient SMTP cannot take."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.deliver import Handover
from mailbot.devservers.dovecot import DovecotServer
from mailbot.devservers.smtp_sink import SmtpSink
from mailbot.outbox import claim, settle_abandoned
from mailbot.runtime import Runtime
from mailbot.senders import TemporaryFailure
from mailbot.store.models import Alert, OutboxEntry
from tests.fixtures.mail import Desk
from tests.fixtures.messages import customer_mail


def _mail_files(desk: Desk, user: str) -> list[Path]:
    root = desk.dovecot.base_dir / "mail" / user
    return sorted(p for p in root.rglob("*") if p.is_file() and p.parent.name in {"cur", "new"})


def test_a_message_the_server_will_not_return_holds_back_nothing(desk: Desk, support) -> None:
    user, password = support
    for n in range(3):
        desk.dovecot.append(
            user,
            password,
            customer_mail(
                f"stuck{n}@mail.gmail.test", sender=f"Cliente <c{n}@gmail.test>", subject=f"Asunto {n}"
            ),
        )
    [first] = [p for p in _mail_files(desk, user) if b"stuck0@" in p.read_bytes()]
    unique = first.name.split(",")[0]  # Dovecot may move it from new/ to cur/ and add flags
    first.chmod(0)  # Dovecot (running unprivileged) can no longer read the first message
    try:
        for _ in range(3):  # the first refusal may cost the connection; later syncs go on
            desk.run()
        assert sorted(t["contact"]["email"] for t in desk.tickets()) == ["c1@gmail.test", "c2@gmail.test"]
        with desk.runtime.sessions() as session:
            alerts = session.scalars(select(Alert).where(Alert.kind == "unfetchable")).all()
        assert len(alerts) == 1, "told once, not at every sync"
    finally:
        for path in _mail_files(desk, user):
            if path.name.startswith(unique):
                path.chmod(0o600)
    desk.run()  # readable again: the next sync fetches it as a gap
    assert len(desk.tickets()) == 3
    assert len(desk.smtp.wait_for(3)) == 3


def _ack_due_again(desk: Desk, support, message_id: str) -> OutboxEntry:
    """A customer's acknowledgement the SMTP server put off once, due again now."""
    user, password = support
    desk.smtp.fail_with = "451 4.3.0 later"  # keep the row pending after the first run
    desk.dovecot.append(user, password, customer_mail(message_id))
    desk.run()
    desk.smtp.fail_with = None
    with desk.runtime.sessions.begin() as session:
        [entry] = session.scalars(select(OutboxEntry)).all()
        entry.next_attempt_at = dt.datetime.now(dt.UTC)
    return entry


def test_a_worker_whose_claim_was_taken_over_cannot_undo_the_send(desk: Desk, support) -> None:
    entry = _ack_due_again(desk, support, "claim@mail.gmail.test")
    sessions = desk.runtime.sessions
    ttl = dt.timedelta(seconds=1)
    with sessions.begin() as session:  # worker A claims, then stalls past its claim
        stale = claim(session, entry.id, "token-a", ttl)
        assert stale is not None
    with sessions.begin() as session:
        session.get(OutboxEntry, entry.id).claimed_at -= dt.timedelta(minutes=5)  # type: ignore[union-attr]
        settle_abandoned(session, ttl, dt.timedelta(minutes=5))
    desk.work()  # worker B takes the row over and sends it
    assert len(desk.smtp.wait_for(1)) == 1
    late = Handover(desk.runtime, "token-a")  # A finally hears back from its server
    late.done(stale, None)
    with sessions() as session:
        assert session.get(OutboxEntry, entry.id).status == "sent"  # type: ignore[union-attr]
    assert late.results[entry.id].status == "skipped"


def test_a_database_connection_lost_mid_group_fails_nothing_for_good(desk: Desk, support) -> None:
    entry = _ack_due_again(desk, support, "dbgone@mail.gmail.test")
    sessions = desk.runtime.sessions
    with sessions.begin() as session:
        claimed = claim(session, entry.id, "token-a", dt.timedelta(minutes=5))
        assert claimed is not None
    handover = Handover(desk.runtime, "token-a")
    # The connection the group holds dies under it (a restarted or killed backend).
    handover._connection_for_group().connection.dbapi_connection.close()  # type: ignore[union-attr]
    with pytest.raises(TemporaryFailure) as raised:
        handover.begin(claimed)
    assert raised.value.definite  # nothing was handed over
    handover.done(claimed, raised.value)
    handover.finish()
    with sessions() as session:
        row = session.get(OutboxEntry, entry.id)
        assert row is not None and row.status == "pending"  # retried, not failed for good
    assert len(desk.smtp.received) == 0


def test_a_recipient_smtp_cannot_take_fails_alone(desk: Desk, support) -> None:
    user, password = support
    # RFC 6532 mail: a UTF-8 address our SMTP server (no SMTPUTF8) cannot be given.
    desk.dovecot.append(
        user, password, customer_mail("utf8@correo.test", sender="José <josé@correo.test>", subject="Café")
    )
    desk.dovecot.append(
        user,
        password,
        customer_mail("ascii@mail.gmail.test", sender="Luis <luis@yahoo.test>", subject="Factura"),
    )
    desk.run()
    assert [m.rcpt_tos for m in desk.smtp.wait_for(1)] == [["luis@yahoo.test"]]
    with desk.runtime.sessions() as session:
        rows = list(session.scalars(select(OutboxEntry)))
        statuses = {r.to_address: r.status for r in rows}
        errors = {r.to_address: r.last_error or "" for r in rows}
    assert statuses == {"josé@correo.test": "failed", "luis@yahoo.test": "sent"}
    assert "SMTPUTF8" in errors["josé@correo.test"]  # says why, so an admin can act on it
    assert os.environ.get("MAILBOT_DATABASE_URL")  # ran against this test's own store


def test_internationalised_addresses_are_acknowledged_over_smtputf8(
    runtime: Runtime, dovecot: DovecotServer
) -> None:
    # RFC 6531: a server that offers SMTPUTF8 takes UTF-8 addresses; the sink here does.
    with SmtpSink(smtputf8=True) as sink:
        desk = Desk(runtime, dovecot, sink)
        user, password = desk.add_mailbox("support", "support@acme.test")
        senders = {
            "josé@ejemplo.test": "José Núñez <josé@ejemplo.test>",
            "用户@例子.test": "王芳 <用户@例子.test>",
            "luis@yahoo.test": "Luis <luis@yahoo.test>",
        }
        for n, sender in enumerate(senders.values()):
            desk.dovecot.append(
                user, password, customer_mail(f"intl{n}@mail.test", sender=sender, subject=f"Pedido {n}")
            )
        desk.run()
        mails = sink.wait_for(3)
        by_recipient = {tuple(m.rcpt_tos): m for m in mails}
        assert set(by_recipient) == {(address,) for address in senders}
        for address, mail in by_recipient.items():
            assert mail.smtputf8 == (not address[0].isascii())  # asked for only where needed
            assert mail.message["To"].addresses[0].addr_spec == address[0]  # RFC 6532 header
            assert f"To: {address[0]}".encode() in mail.raw
        with desk.runtime.sessions() as session:
            statuses = {r.to_address: r.status for r in session.scalars(select(OutboxEntry))}
        assert statuses == dict.fromkeys(senders, "sent")
