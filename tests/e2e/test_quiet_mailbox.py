"""A quiet mailbox: every mail is answered within seconds of its arrival, including the
first ones after a poller starts (issue 7: they waited for the next mail, or for the
five-minute full sync, because the server's report of them was dropped)."""

from __future__ import annotations

import dataclasses
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailbot.devservers.ack_clock import AckClock
from mailbot.locks import Lease
from mailbot.runtime import Runtime
from mailbot.sources.poller import run_forever
from tests.fixtures.mail import Desk
from tests.fixtures.messages import customer_mail, mailbox_row, wait_until
from tests.fixtures.processes import mailbot_process, stop_process, wait_for_worker

ANSWER_WITHIN_SECONDS = 3.0


@pytest.fixture
def worker(desk: Desk, mailbot_env: dict[str, str], tmp_path: Path) -> Iterator[None]:
    """A real `mailbot worker`, listening before the test goes on."""
    process = mailbot_process(mailbot_env, "worker", log=tmp_path / "worker.log")
    try:
        wait_for_worker(desk.runtime, process)
        yield
    finally:
        stop_process(process)


def mail(n: int, tag: str) -> tuple[str, bytes]:
    message_id = f"{tag}{n}@mail.cliente.test"
    raw = customer_mail(
        message_id,
        sender=f"Cliente {tag} {n} <{tag}{n}@cliente.test>",
        subject=f"Consulta {tag} {n}",
        body=f"Hola, tengo una consulta ({tag} número {n}) sobre mi pedido.",
    )
    return message_id, raw


@pytest.mark.parametrize(
    "waiting",
    [
        # None held: the late mail comes just before the first IDLE, and Dovecot tells of
        # it only in its answer to DONE.
        0,
        # One held: the late mail comes after the sync's last FETCH.
        1,
        # Two held, fetched one per batch: the late mail's EXISTS rides on the answer to
        # the second FETCH, which imapclient keeps to itself.
        2,
    ],
)
def test_mail_arriving_while_the_poller_syncs_is_answered_at_once(
    desk: Desk, support: tuple[str, str], worker: None, monkeypatch: pytest.MonkeyPatch, waiting: int
) -> None:
    user, password = support
    held = [mail(n, "held") for n in range(waiting)]
    for _, raw in held:
        desk.dovecot.append(user, password, raw)
    late_id, late_raw = mail(0, "late")
    late_at: list[float] = []
    # The poller renews its lease after each stored batch and right before each IDLE:
    # the late mail is appended from there, the exact moments the reports were lost.
    renew = Lease.renew

    def renew_and_deliver(lease: Lease) -> bool:
        if not late_at:
            desk.dovecot.append(user, password, late_raw)
            late_at.append(time.monotonic())
        return renew(lease)

    monkeypatch.setattr(Lease, "renew", renew_and_deliver)
    settings = dataclasses.replace(desk.runtime.settings, imap_batch_size=1)
    runtime = Runtime(settings=settings, redis_url=desk.runtime.redis_url)
    stop = threading.Event()
    started = time.monotonic()
    poller = threading.Thread(target=run_forever, args=(runtime, stop), daemon=True)
    with AckClock(desk.smtp) as clock:
        poller.start()
        try:
            for message_id, _ in held:
                assert clock.wait_for(message_id, timeout=15) - started < 15
            wait_until(lambda: late_at, timeout=10)
            answered = clock.wait_for(late_id, timeout=ANSWER_WITHIN_SECONDS + 5)
        finally:
            stop.set()
            poller.join(timeout=15)
    assert answered - late_at[0] < ANSWER_WITHIN_SECONDS
    assert set(clock.counts.values()) == {1}, clock.counts
    assert not poller.is_alive()


@pytest.mark.slow
def test_sparse_mail_right_after_the_poller_starts_is_answered_within_seconds(
    desk: Desk, support: tuple[str, str], worker: None, mailbot_env: dict[str, str], tmp_path: Path
) -> None:
    """A real `mailbot poll` and `mailbot worker` on a quiet mailbox: mail comes one at a
    time, from the moment the poller's first sync is done, at uneven gaps."""
    user, password = support
    gaps = [0.0, 0.05, 0.3, 0.6, 0.15, 1.1, 2.5, 0.5, 4.0, 0.8, 5.5, 1.6]
    poller = mailbot_process(mailbot_env, "poll", log=tmp_path / "poll.log")
    latencies: list[float] = []
    try:
        wait_until(lambda: mailbox_row(desk.runtime, "support").last_sync_at, timeout=20, interval=0.005)
        with AckClock(desk.smtp) as clock:
            appended: dict[str, float] = {}
            for n, gap in enumerate(gaps):
                time.sleep(gap)
                message_id, raw = mail(n, "sparse")
                desk.dovecot.append(user, password, raw)
                appended[message_id] = time.monotonic()
            for message_id, at in appended.items():
                latencies.append(clock.wait_for(message_id, timeout=at + 10 - time.monotonic()) - at)
        assert poller.poll() is None, "the poller exited"
    finally:
        stop_process(poller)
    print(
        f"APPEND to acknowledgement: p50 {statistics.median(latencies):.2f} s, "
        f"max {max(latencies):.2f} s over {len(latencies)} mails"
    )
    assert max(latencies) < ANSWER_WITHIN_SECONDS, [round(x, 2) for x in latencies]
    assert set(clock.counts.values()) == {1}, clock.counts
