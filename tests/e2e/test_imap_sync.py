"""IMAP sync on a real Dovecot: UIDVALIDITY, duplicates across mailboxes, after-process
policies, leases, TLS, failing logins and IDLE push."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.devservers.smtp_sink import SmtpSink
from mailbot.mailboxes import MailboxSpec, add_mailbox
from mailbot.sources import poller
from mailbot.sources.poller import lease_for, poll_once, run_forever
from mailbot.store.models import SyncState
from tests.fixtures.mail import Desk
from tests.fixtures.messages import (
    alerts,
    customer_mail,
    inbound_rows,
    mailbox_id,
    mailbox_row,
    wait_until,
)


def folder_uidvalidity(desk: Desk, user: str, password: str, folder: str) -> int:
    client = desk.dovecot.connect(user, password)
    try:
        return int(client.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])
    finally:
        client.logout()


def server_flags(desk: Desk, user: str, password: str, folder: str) -> dict[int, tuple[bytes, ...]]:
    client = desk.dovecot.connect(user, password)
    try:
        client.select_folder(folder, readonly=True)
        uids = client.search("ALL")
        return {uid: tuple(data[b"FLAGS"]) for uid, data in client.fetch(uids, [b"FLAGS"]).items()}
    finally:
        client.logout()


def server_message_ids(desk: Desk, user: str, password: str, folder: str) -> list[str]:
    client = desk.dovecot.connect(user, password)
    try:
        client.select_folder(folder, readonly=True)
        uids = client.search("ALL")
        if not uids:
            return []
        fetched = client.fetch(uids, [b"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
        return sorted(
            bytes(data[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"]).decode().split(":", 1)[1].strip()
            for data in fetched.values()
        )
    finally:
        client.logout()


# -- UIDVALIDITY ------------------------------------------------------------------


@pytest.mark.postgres
def test_changed_uidvalidity_resyncs_without_a_second_ticket_or_ack(desk: Desk) -> None:
    user, password = desk.add_mailbox("support", "support@acme.test", folder="Support")
    client = desk.dovecot.connect(user, password)
    client.create_folder("Support")
    client.logout()
    raw = customer_mail("uv1@mail.gmail.test")
    desk.dovecot.append(user, password, raw, folder="Support")
    desk.run()
    assert len(desk.tickets()) == 1
    assert len(desk.smtp.wait_for(1)) == 1
    before = folder_uidvalidity(desk, user, password, "Support")

    # The folder is rebuilt (a server migration, a restore): same bytes, new UIDVALIDITY.
    client = desk.dovecot.connect(user, password)
    client.delete_folder("Support")
    client.create_folder("Support")
    client.logout()
    desk.dovecot.append(user, password, raw, folder="Support")
    after = folder_uidvalidity(desk, user, password, "Support")
    assert after != before

    desk.run()
    [alert] = alerts(desk.runtime, "uidvalidity_changed")
    assert str(before) in alert.detail and str(after) in alert.detail
    assert alert.mailbox_id == mailbox_id(desk.runtime, "support")
    rows = inbound_rows(desk.runtime)
    assert [(r.imap_uidvalidity, r.status) for r in rows] == [(before, "processed"), (after, "duplicate")]
    assert rows[1].raw == b""  # one copy of the bytes is kept, not two
    assert len(desk.tickets()) == 1
    assert len(desk.tickets()[0]["messages"]) == 1
    time.sleep(0.2)
    assert len(desk.smtp.received) == 1
    with desk.runtime.sessions() as session:
        [state] = session.scalars(select(SyncState)).all()
        assert state.uidvalidity == after

    # And the next sync under the new UIDVALIDITY finds nothing new and raises nothing.
    desk.run()
    assert len(alerts(desk.runtime, "uidvalidity_changed")) == 1
    assert len(inbound_rows(desk.runtime)) == 2


def doveadm_update(desk: Desk, user: str, folder: str, *options: str) -> None:
    doveadm = shutil.which("doveadm") or shutil.which("doveadm", path="/usr/bin:/usr/sbin")
    assert doveadm, "doveadm comes with Dovecot"
    subprocess.run(
        [doveadm, "-c", str(desk.dovecot.config_path), "mailbox", "update", "-u", user, *options, folder],
        check=True,
        capture_output=True,
    )


@pytest.mark.postgres
def test_uidvalidity_and_uids_above_2_to_the_31_are_stored(desk: Desk) -> None:
    # RFC 3501 section 9: UIDVALIDITY and UIDs are nz-number, 32-bit unsigned (up to
    # 4294967295), beyond a signed INTEGER column. Dovecot lets us set both.
    user, password = desk.add_mailbox("support", "support@acme.test", folder="Support")
    client = desk.dovecot.connect(user, password)
    client.create_folder("Support")
    client.logout()
    doveadm_update(desk, user, "Support", "--uid-validity", "4000000000", "--min-next-uid", "3000000000")
    assert folder_uidvalidity(desk, user, password, "Support") == 4_000_000_000
    uid = desk.dovecot.append(user, password, customer_mail("big-uv@mail.gmail.test"), folder="Support")
    assert uid >= 3_000_000_000
    desk.run()
    assert mailbox_row(desk.runtime, "support").last_error is None
    [row] = inbound_rows(desk.runtime)
    assert (row.imap_uidvalidity, row.imap_uid) == (4_000_000_000, uid)
    assert len(desk.tickets()) == 1
    desk.run()  # the stored state compares equal next time: no resync, no gap, no refetch
    assert alerts(desk.runtime, "uidvalidity_changed") == []
    assert alerts(desk.runtime, "sync_gap") == []
    assert len(inbound_rows(desk.runtime)) == 1
    with desk.runtime.sessions() as session:
        [state] = session.scalars(select(SyncState)).all()
        assert (state.uidvalidity, state.last_uid) == (4_000_000_000, uid)


# -- one message, two mailboxes ----------------------------------------------------


@pytest.mark.postgres
def test_same_message_id_in_two_mailboxes_is_one_ticket_and_one_ack(desk: Desk) -> None:
    support = desk.add_mailbox("support", "support@acme.test")
    sales = desk.add_mailbox("sales", "sales@acme.test")
    common = dict(to="support@acme.test", extra_headers="Cc: sales@acme.test\r\n")
    # Each copy carries its own delivery header, as an MTA writes it: the bytes differ.
    for (user, password), address in ((support, "support@acme.test"), (sales, "sales@acme.test")):
        raw = f"Delivered-To: {address}\r\n".encode() + customer_mail("both@mail.gmail.test", **common)
        desk.dovecot.append(user, password, raw)
    desk.run()

    [ticket] = desk.tickets()
    assert [m["message_id"] for m in ticket["messages"]] == ["both@mail.gmail.test"]
    statuses = sorted(r.status for r in inbound_rows(desk.runtime))
    assert statuses == ["duplicate", "processed"]
    assert all(r.ticket_id is not None for r in inbound_rows(desk.runtime))
    [ack] = desk.smtp.wait_for(1)
    assert ack.rcpt_tos == ["ana.garcia@gmail.test"]
    desk.run()
    time.sleep(0.2)
    assert len(desk.smtp.received) == 1


# -- after-process policy --------------------------------------------------------


def test_after_process_seen_flags_the_message_on_the_next_sync(desk: Desk) -> None:
    user, password = desk.add_mailbox("support", "support@acme.test", after_process="seen")
    uid = desk.dovecot.append(user, password, customer_mail("seen-policy@mail.gmail.test"))
    desk.poll()
    # Stored but not yet filed: nothing may be marked on the server.
    assert b"\\Seen" not in server_flags(desk, user, password, "INBOX")[uid]
    desk.work()
    assert inbound_rows(desk.runtime)[0].status == "processed"
    desk.poll()
    assert b"\\Seen" in server_flags(desk, user, password, "INBOX")[uid]
    [row] = inbound_rows(desk.runtime)
    assert row.server_done is True
    assert len(desk.tickets()) == 1


@pytest.mark.postgres
@pytest.mark.parametrize("move_to", [None, "Handled/2026"])
def test_after_process_move_moves_the_message_and_it_is_not_imported_again(
    desk: Desk, move_to: str | None
) -> None:
    user, password = desk.add_mailbox(
        "support", "support@acme.test", after_process="move", move_to_folder=move_to
    )
    target = move_to or "Processed"
    desk.dovecot.append(user, password, customer_mail("move1@mail.gmail.test"))
    desk.run()
    assert server_message_ids(desk, user, password, "INBOX") == ["<move1@mail.gmail.test>"]
    desk.run()  # the policy runs at the start of the sync after filing
    assert server_message_ids(desk, user, password, "INBOX") == []
    assert server_message_ids(desk, user, password, target) == ["<move1@mail.gmail.test>"]

    desk.dovecot.append(
        user,
        password,
        customer_mail(
            "move2@mail.gmail.test", subject="Otra consulta", body="Una pregunta distinta sobre la factura."
        ),
    )
    desk.run()
    desk.run()
    rows = inbound_rows(desk.runtime)
    assert [r.imap_uid for r in rows] == [1, 2]
    assert all(r.status == "processed" and r.server_done for r in rows)
    assert server_message_ids(desk, user, password, target) == [
        "<move1@mail.gmail.test>",
        "<move2@mail.gmail.test>",
    ]
    assert alerts(desk.runtime, "sync_gap") == []
    assert len(desk.tickets()) == 2
    assert len(desk.smtp.wait_for(2)) == 2


# -- leases ---------------------------------------------------------------------


def test_a_mailbox_leased_by_another_poller_is_skipped_until_released(desk: Desk, support) -> None:
    user, password = support
    desk.dovecot.append(user, password, customer_mail("lease1@mail.gmail.test"))
    other = lease_for(desk.runtime, mailbox_id(desk.runtime, "support"))
    assert other.acquire()
    try:
        assert poll_once(desk.runtime) == []
        assert inbound_rows(desk.runtime) == []
        assert other.renew(), "poll_once must not take or free a lease it does not hold"
    finally:
        other.release()
    [report] = poll_once(desk.runtime)
    assert report.error is None and report.new == 1
    assert len(inbound_rows(desk.runtime)) == 1
    # The poller gave its own lease back: someone else can take the mailbox now.
    again = lease_for(desk.runtime, mailbox_id(desk.runtime, "support"))
    assert again.acquire()
    again.release()


# -- TLS and failing logins -----------------------------------------------------


def _add_spec(desk: Desk, spec: MailboxSpec) -> None:
    with desk.runtime.sessions.begin() as session:
        add_mailbox(session, spec, desk.runtime.settings.secret_key)


def _new_user(desk: Desk) -> tuple[str, str]:
    import uuid

    user, password = f"u{uuid.uuid4().hex[:12]}", uuid.uuid4().hex
    desk.dovecot.add_user(user, password)
    return user, password


def test_imaps_mailbox_syncs_when_the_private_ca_is_trusted(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(desk.dovecot.cert_path))
    user, password = _new_user(desk)
    imap_url = desk.dovecot.imap_url(user, password, tls=True)
    assert imap_url.startswith("imaps://")
    _add_spec(desk, MailboxSpec("tls", imap_url, desk.smtp.smtp_url(), "support@acme.test"))
    desk.dovecot.append(user, password, customer_mail("tls1@mail.gmail.test"))
    desk.run()
    box = mailbox_row(desk.runtime, "tls")
    assert box.imap_security == "tls" and box.imap_port == desk.dovecot.imaps_port
    assert box.last_error is None and box.last_sync_at is not None
    assert len(desk.tickets()) == 1
    assert len(desk.smtp.wait_for(1)) == 1


def test_imaps_mailbox_refuses_an_untrusted_certificate(
    desk: Desk, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A CA file that exists but does not hold Dovecot's self-signed certificate.
    from mailbot.devservers.tls import make_self_signed_cert

    other_cert, _ = make_self_signed_cert(tmp_path / "other-ca")
    monkeypatch.setenv("SSL_CERT_FILE", str(other_cert))
    user, password = _new_user(desk)
    _add_spec(
        desk,
        MailboxSpec(
            "tls", desk.dovecot.imap_url(user, password, tls=True), desk.smtp.smtp_url(), "support@acme.test"
        ),
    )
    desk.dovecot.append(user, password, customer_mail("tls2@mail.gmail.test"))
    [report] = poll_once(desk.runtime)
    assert report.error and "CERTIFICATE_VERIFY_FAILED" in report.error
    box = mailbox_row(desk.runtime, "tls")
    assert box.last_error and "CERTIFICATE_VERIFY_FAILED" in box.last_error
    assert inbound_rows(desk.runtime) == []


def test_starttls_mailbox_upgrades_imap_and_smtp(
    desk: Desk, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # STARTTLS applies to both servers of the mailbox, so the SMTP side offers it too;
    # one CA bundle trusts both self-signed certificates.
    with SmtpSink(starttls=True, cert_dir=tmp_path / "smtp-tls") as smtp:
        assert smtp.cert_path is not None
        bundle = tmp_path / "bundle.pem"
        bundle.write_bytes(desk.dovecot.cert_path.read_bytes() + smtp.cert_path.read_bytes())
        monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
        user, password = _new_user(desk)
        imap_url = desk.dovecot.imap_url(user, password)
        assert imap_url.startswith("imap://")
        _add_spec(
            desk, MailboxSpec("starttls", imap_url, smtp.smtp_url(), "support@acme.test", starttls=True)
        )
        desk.dovecot.append(user, password, customer_mail("starttls1@mail.gmail.test"))
        desk.run()
        box = mailbox_row(desk.runtime, "starttls")
        assert (box.imap_security, box.smtp_security) == ("starttls", "starttls")
        assert box.imap_port == desk.dovecot.imap_port
        assert box.last_error is None and box.last_sync_at is not None
        assert len(desk.tickets()) == 1
        [ack] = smtp.wait_for(1)
        assert ack.rcpt_tos == ["ana.garcia@gmail.test"]


def test_wrong_password_is_recorded_and_alerted_once_without_raising(desk: Desk) -> None:
    user, _ = _new_user(desk)
    _add_spec(
        desk,
        MailboxSpec(
            "broken", desk.dovecot.imap_url(user, "wrong-password"), desk.smtp.smtp_url(), "support@acme.test"
        ),
    )
    [report] = poll_once(desk.runtime)
    assert report.mailbox == "broken" and report.error and "LoginError" in report.error
    assert report.new == 0
    box = mailbox_row(desk.runtime, "broken")
    assert box.last_error and "LoginError" in box.last_error
    assert box.last_error_at is not None and box.last_sync_at is None
    [alert] = alerts(desk.runtime, "mailbox_error")
    assert alert.mailbox_id == box.id
    # Failing again the same way is one ongoing problem, not a new alert per poll.
    [again] = poll_once(desk.runtime)
    assert again.error == report.error
    assert len(alerts(desk.runtime, "mailbox_error")) == 1


def test_a_failing_mailbox_does_not_stop_the_others(desk: Desk, support) -> None:
    user, _ = _new_user(desk)
    _add_spec(
        desk,
        MailboxSpec(
            "broken", desk.dovecot.imap_url(user, "wrong-password"), desk.smtp.smtp_url(), "help@acme.test"
        ),
    )
    good_user, good_password = support
    desk.dovecot.append(good_user, good_password, customer_mail("ok1@mail.gmail.test"))
    reports = {r.mailbox: r for r in poll_once(desk.runtime)}
    assert set(reports) == {"support", "broken"}
    assert reports["support"].error is None and reports["support"].new == 1
    assert reports["broken"].error
    assert mailbox_row(desk.runtime, "support").last_error is None
    assert mailbox_row(desk.runtime, "broken").last_error


# -- IDLE -------------------------------------------------------------------------


def test_idle_push_gets_a_new_mail_acknowledged_within_seconds(
    desk: Desk, support, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, password = support
    # Short IDLE rounds so the watcher notices `stop` quickly at the end; a mail that
    # arrives is still only seen at once if the server pushes it (a full resync is
    # FULL_SYNC_SECONDS away).
    monkeypatch.setattr(poller, "IDLE_WAKE_SECONDS", 1)
    box_id = mailbox_id(desk.runtime, "support")
    stop = threading.Event()
    started: list[int] = []
    thread = threading.Thread(
        target=run_forever,
        args=(desk.runtime, stop),
        kwargs={"refresh_seconds": 0.5, "on_start": started.append},
        daemon=True,
    )
    thread.start()
    try:
        # The watcher has done its first sync and is now waiting in IDLE.
        wait_until(lambda: mailbox_row(desk.runtime, "support").last_sync_at, timeout=10)
        assert started == [box_id]
        time.sleep(0.3)
        sent_at = time.monotonic()
        desk.dovecot.append(user, password, customer_mail("idle1@mail.gmail.test"))
        deadline = sent_at + 10
        while not desk.smtp.received and time.monotonic() < deadline:
            desk.work()
            time.sleep(0.05)
        [ack] = desk.smtp.wait_for(1, timeout=0.1)
        assert time.monotonic() - sent_at < 5, "the push took longer than 5 s"
        assert ack.message["In-Reply-To"] == "<idle1@mail.gmail.test>"
    finally:
        stop.set()
        thread.join(timeout=15)
    assert not thread.is_alive(), "run_forever did not stop"
    assert all(not t.name.startswith("mailbox-") for t in threading.enumerate())
    # The watcher gave its lease back on the way out.
    lease = lease_for(desk.runtime, box_id)
    assert lease.acquire()
    lease.release()
