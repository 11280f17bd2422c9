"""Kill -9 a worker in the middle of its jobs and a poller in the middle of a sync: after a
restart every message has exactly one ticket and exactly one acknowledgement."""

from __future__ import annotations

import collections
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailbot.queue import INBOUND_QUEUE, OUTBOX_QUEUE
from mailbot.senders.smtp import MAX_CONNECTIONS
from mailbot.store.models import Inbound, OutboxEntry, Ticket
from tests.fixtures.mail import Desk
from tests.fixtures.messages import customer_mail, wait_until
from tests.fixtures.processes import mailbot_process, run_to_end, stop_process, wait_for_worker

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

MESSAGES = 240


def kill_when(process: subprocess.Popen[bytes], condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if condition():
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGKILL)
    pytest.fail("the process finished before it could be killed mid-way")


def append_customer_mails(desk: Desk, user: str, password: str, count: int) -> None:
    client = desk.dovecot.connect(user, password)
    try:
        for n in range(count):
            mail = customer_mail(
                f"crash-{n}@mail.gmail.test",
                sender=f"Cliente {n} <cliente{n}@gmail.test>",
                subject=f"Pedido {n} sin entregar",
                body=f"Hola, mi pedido número {n} no ha llegado todavía. Gracias.",
            )
            client.append("INBOX", mail)
    finally:
        client.logout()


def assert_exactly_once(desk: Desk, messages: int = MESSAGES, max_held: int = 1) -> None:
    with desk.runtime.sessions() as session:
        assert (
            session.scalar(select(func.count()).select_from(Inbound).where(Inbound.status == "received")) == 0
        )
        per_contact = collections.Counter(t.contact.email for t in session.scalars(select(Ticket)))
        statuses = collections.Counter(session.scalars(select(OutboxEntry.status)))
    assert len(per_contact) == messages and set(per_contact.values()) == {1}, "one ticket per message"
    acks = collections.Counter(tuple(mail.rcpt_tos) for mail in desk.smtp.received)
    assert max(acks.values()) == 1, "nobody is answered twice"
    # Killed during SMTP DATA the row is held as uncertain, never re-sent; anywhere else
    # it is retried. Either way each customer has one promise and at most one answer.
    held = statuses.get("sending", 0) + statuses.get("uncertain", 0)
    assert statuses["sent"] + held == messages, statuses
    assert len(acks) >= messages - held
    assert held <= max_held


def test_killed_worker_loses_nothing_and_answers_nobody_twice(
    desk: Desk, support: tuple[str, str], mailbot_env: dict[str, str]
) -> None:
    env = {
        **mailbot_env,
        "MAILBOT_IMAP_BATCH_SIZE": "20",
        "MAILBOT_OUTBOX_CLAIM_TTL_SECONDS": "1",
        "MAILBOT_PROCESSING_LEASE_SECONDS": "1",
    }
    append_customer_mails(desk, *support, MESSAGES)
    run_to_end(env, "poll", "--once")

    def some_done() -> bool:
        with desk.runtime.sessions() as session:
            done = session.scalar(
                select(func.count()).select_from(Inbound).where(Inbound.status != "received")
            )
        return 20 < (done or 0) < MESSAGES - 20

    worker = mailbot_process(env, "worker")
    kill_when(worker, some_done)
    time.sleep(1.5)  # let the dead worker's claims and processing lease expire (1 s here)
    run_to_end(env, "worker", "--burst")
    desk.smtp.wait_for(MESSAGES - 1, timeout=30)
    assert_exactly_once(desk)


def test_killed_poller_loses_nothing_and_imports_nothing_twice(
    desk: Desk, support: tuple[str, str], mailbot_env: dict[str, str]
) -> None:
    # The lease must outlast the next poller's start (about 2 s on a loaded 2-core
    # machine, and a 2 s lease made this test fail now and then).
    env = {**mailbot_env, "MAILBOT_IMAP_BATCH_SIZE": "10", "MAILBOT_POLLER_LEASE_SECONDS": "5"}
    append_customer_mails(desk, *support, MESSAGES)

    def some_stored() -> bool:
        with desk.runtime.sessions() as session:
            stored = session.scalar(select(func.count()).select_from(Inbound))
        return 10 <= (stored or 0) < MESSAGES - 40

    poller = mailbot_process(env, "poll", "--once")
    kill_when(poller, some_stored)
    # The killed poller's lease is still held: another poller skips the mailbox until
    # the lease expires, then takes over.
    run_to_end(env, "poll", "--once")
    with desk.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Inbound)) < MESSAGES
    time.sleep(5.5)
    run_to_end(env, "poll", "--once")
    run_to_end(env, "worker", "--burst")
    desk.smtp.wait_for(MESSAGES, timeout=30)
    with desk.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Inbound)) == MESSAGES
    assert_exactly_once(desk)


@pytest.mark.parametrize("moment", ["filing", "delivering"])
def test_a_killed_workers_mail_is_answered_by_another_worker_within_seconds(
    desk: Desk, support: tuple[str, str], mailbot_env: dict[str, str], tmp_path: Path, moment: str
) -> None:
    """Two workers share the queues; one is killed in the middle of a job. The other
    one brings the dead one's rows back as soon as its working set lapses (working.py):
    its unfiled mail, and its claims on acknowledgements it never began to send.
    Claims keep their production length; the processing lease of the one message being
    filed at the moment of the kill is shortened from a minute to 5 s."""
    messages = 100
    env = {**mailbot_env, "MAILBOT_IMAP_BATCH_SIZE": "20", "MAILBOT_PROCESSING_LEASE_SECONDS": "5"}
    append_customer_mails(desk, *support, messages)
    # Both started, and done with their start-up recovery, before any work exists.
    survivor = mailbot_process(env, "worker", log=tmp_path / "survivor.log")
    victim = mailbot_process(env, "worker", log=tmp_path / "victim.log")
    queue_name = {"filing": INBOUND_QUEUE, "delivering": OUTBOX_QUEUE}[moment]
    working_key = f"mailbot:working:{queue_name}:{socket.gethostname()}.{victim.pid}"

    def filed() -> int:
        query = select(func.count()).select_from(Inbound).where(Inbound.status != "received")
        with desk.runtime.sessions() as session:
            return session.scalar(query) or 0

    def began(moment: str) -> bool:
        query = select(OutboxEntry.id).where(OutboxEntry.status == "claimed").limit(1)
        if moment == "filing":
            query = select(Inbound.id).where(Inbound.processing_started_at.is_not(None)).limit(1)
        with desk.runtime.sessions() as session:
            return session.scalar(query) is not None

    def settled() -> bool:
        """Every message filed and every promise sent, or held (killed during DATA)."""
        with desk.runtime.sessions() as session:
            statuses = collections.Counter(session.scalars(select(OutboxEntry.status)))
        return (
            filed() == messages
            and sum(statuses.values()) == messages
            and not statuses["pending"] + statuses["claimed"]
        )

    try:
        wait_for_worker(desk.runtime, victim, count=2)
        run_to_end(env, "poll", "--once")  # five jobs of 20, for two workers
        # Mid-job: filing has begun, or the job's rows are claimed for delivery.
        kill_when(victim, lambda: bool(desk.runtime.redis.exists(working_key)) and began(moment))
        killed_at = time.monotonic()
        wait_until(settled, timeout=45, interval=0.05)
        late = time.monotonic() - killed_at
        time.sleep(0.5)  # time for a second answer to arrive, if one were sent
        assert survivor.poll() is None
    finally:
        stop_process(survivor)
    print(f"killed while {moment}: the other worker answered the rest within {late:.1f} s")
    assert late < 30
    # The SMTP sender hands messages over on up to MAX_CONNECTIONS connections at once:
    # killed while delivering, as many rows may be left mid-DATA (held, never re-sent).
    assert_exactly_once(desk, messages, max_held=MAX_CONNECTIONS if moment == "delivering" else 1)
