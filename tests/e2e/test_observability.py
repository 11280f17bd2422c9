"""/metrics, /healthz, /readyz and JSON logs, on real servers: Dovecot, the SMTP sink, Redis,
SQLite and PostgreSQL, the web app over real HTTP, and `mailbot` poll and worker processes,
so what one scrape shows was written by other processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from rq import Queue
from sqlalchemy import select, update

from mailbot.channels import ChannelSpec, add_channel
from mailbot.devservers.redis_instance import RedisInstance
from mailbot.observability.freshness import KEY as FRESHNESS_KEY
from mailbot.queue import INBOUND_QUEUE
from mailbot.runtime import Runtime, current_runtime
from mailbot.store.models import Inbound, Mailbox, OutboxEntry, Ticket
from mailbot.timeutil import utcnow
from mailbot.web import create_app
from mailbot.worker import run_worker
from tests.fixtures.mail import Desk
from tests.fixtures.messages import customer_mail, wait_until
from tests.fixtures.processes import mailbot_process, run_to_end, stop_process
from tests.fixtures.web import WebServer, serving
from tests.panel.seed import add_ticket

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(web: WebServer) -> Samples:
    response = requests.get(web.url("/metrics"), timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    samples: Samples = {}
    # The Prometheus project's own parser: the page is valid exposition format.
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


@pytest.mark.postgres
def test_one_scrape_sees_what_the_poller_and_worker_processes_did(
    desk: Desk, support: tuple[str, str], web_server: WebServer, mailbot_env: dict[str, str]
) -> None:
    user, password = support
    for n in range(3):
        desk.dovecot.append(
            user, password, customer_mail(f"m{n}@mail.gmail.test", sender=f"Cliente {n} <c{n}@gmail.test>")
        )
    run_to_end(mailbot_env, "poll", "--once")

    waiting = scrape(web_server)
    assert value(waiting, "mailbot_inbound_total", channel="email", kind="received") == 3
    assert value(waiting, "mailbot_queue_depth", queue="inbound") == 1  # one job per FETCH batch
    assert value(waiting, "mailbot_ack_latency_seconds_count") == 0

    run_to_end(mailbot_env, "worker", "--burst")
    desk.smtp.wait_for(3)

    done = scrape(web_server)
    assert value(done, "mailbot_inbound_total", channel="email", kind="customer") == 3
    assert value(done, "mailbot_inbound_total", channel="email", kind="received") is None
    assert value(done, "mailbot_acknowledgements_total", channel="email", status="sent") == 3
    for queue in ("inbound", "outbox", "lookups"):
        assert value(done, "mailbot_queue_depth", queue=queue) == 0
    assert value(done, "mailbot_failed_jobs") == 0
    assert value(done, "mailbot_sla_breaches_total") == 0
    assert value(done, "mailbot_source_up", source="store") == 1
    assert value(done, "mailbot_source_up", source="redis") == 1
    # Arrival is the IMAP INTERNALDATE of the APPEND, seconds ago at most.
    assert value(done, "mailbot_ack_latency_seconds_count") == 3
    assert value(done, "mailbot_ack_latency_seconds_bucket", le="+Inf") == 3
    assert value(done, "mailbot_ack_latency_seconds_bucket", le="60.0") == 3
    total = value(done, "mailbot_ack_latency_seconds_sum")
    assert total is not None and 0 <= total < 3 * 60
    lag = value(done, "mailbot_poller_lag_seconds", mailbox="support")
    assert lag is not None and 0 <= lag < 120


def test_failed_jobs_come_from_rqs_registry(runtime: Runtime, web_server: WebServer) -> None:
    inbound = Queue(INBOUND_QUEUE, connection=runtime.redis)
    for n in range(2):
        inbound.enqueue("tests.panel.failing_job.explode", f"job {n}")
    assert value(scrape(web_server), "mailbot_queue_depth", queue="inbound") == 2
    run_worker(runtime, burst=True)
    after = scrape(web_server)
    assert value(after, "mailbot_failed_jobs") == 2
    assert value(after, "mailbot_queue_depth", queue="inbound") == 0


@pytest.mark.postgres
def test_sla_breaches_are_tickets_answered_late_or_overdue(runtime: Runtime, web_server: WebServer) -> None:
    now = utcnow()
    hour = timedelta(hours=1)
    cases = {
        # (first_response_due_at, first_response_at): breached?
        "MB-AAAAA1": (now - hour, None, True),  # overdue, nobody answered
        "MB-AAAAA2": (now - 2 * hour, now - hour, True),  # answered after the deadline
        "MB-AAAAA3": (now - hour, now - 2 * hour, False),  # answered in time
        "MB-AAAAA4": (now + hour, None, False),  # not due yet
        "MB-AAAAA5": (None, None, False),  # no deadline
    }
    with runtime.sessions.begin() as session:
        for n, (ref, (due, answered, _)) in enumerate(cases.items()):
            ticket = add_ticket(session, ref=ref, email=f"c{n}@example.net")
            ticket.first_response_due_at = due
            ticket.first_response_at = answered
    expected = sum(breached for _, _, breached in cases.values())
    assert value(scrape(web_server), "mailbot_sla_breaches_total") == expected == 2


def test_poller_lag_stays_low_on_a_quiet_mailbox_in_idle(
    desk: Desk, support: tuple[str, str], web_server: WebServer, mailbot_env: dict[str, str], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    with desk.runtime.sessions.begin() as session:
        # As if the last sync were long ago: only the poller's word keeps the lag low.
        session.execute(update(Mailbox).values(last_sync_at=utcnow() - timedelta(hours=1)))
    before = value(scrape(web_server), "mailbot_poller_lag_seconds", mailbox="support")
    assert before is not None and before > 3000
    poller = mailbot_process(mailbot_env, "poll", log=tmp_path / "poll.log")
    try:
        # No mail comes: the first sync, then IDLE wakes every 5 s saying nothing is new.
        first = wait_until(lambda: desk.runtime.redis.hget(FRESHNESS_KEY, "1"), timeout=30)
        wait_until(lambda: desk.runtime.redis.hget(FRESHNESS_KEY, "1") != first, timeout=20)
        lag = value(scrape(web_server), "mailbot_poller_lag_seconds", mailbox="support")
        assert lag is not None and lag < 10
    finally:
        stop_process(poller)


def test_metrics_while_redis_is_down_show_the_store_and_say_so(
    restartable_redis: RedisInstance, mailbot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILBOT_REDIS_URL", restartable_redis.url)
    runtime = current_runtime()
    with runtime.sessions.begin() as session:
        add_ticket(session)
    with serving(create_app()) as web:
        restartable_redis.stop()
        samples = scrape(web)
        assert value(samples, "mailbot_source_up", source="redis") == 0
        assert value(samples, "mailbot_source_up", source="store") == 1
        assert value(samples, "mailbot_inbound_total", channel="email", kind="processed") == 1
        assert ("mailbot_queue_depth", (("queue", "inbound"),)) not in samples


def test_healthz_and_readyz_without_login(
    restartable_redis: RedisInstance, mailbot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILBOT_REDIS_URL", restartable_redis.url)
    with serving(create_app()) as web:
        assert requests.get(web.url("/healthz"), timeout=10).json() == {"status": "ok"}
        ready = requests.get(web.url("/readyz"), timeout=10)
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "checks": {"store": "ok", "redis": "ok"}, "down": []}

        restartable_redis.stop()
        started = time.monotonic()
        down = requests.get(web.url("/readyz"), timeout=10)
        assert down.status_code == 503
        assert down.json()["down"] == ["redis"]
        assert down.json()["checks"]["store"] == "ok"
        assert time.monotonic() - started < 5
        assert requests.get(web.url("/healthz"), timeout=10).status_code == 200

        restartable_redis.start()
        assert wait_until(lambda: requests.get(web.url("/readyz"), timeout=10).status_code == 200, timeout=15)


def test_readyz_names_the_store_when_it_is_down(
    redis_server: RedisInstance, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    # A PostgreSQL that nobody listens for: port 9 (discard) on loopback is closed.
    monkeypatch.setenv("MAILBOT_DATABASE_URL", "postgresql://mailbot@127.0.0.1:9/mailbot")
    monkeypatch.setenv("MAILBOT_REDIS_URL", redis_server.url)
    monkeypatch.setenv("MAILBOT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MAILBOT_SECRET_KEY", "store-down-test")
    with serving(create_app()) as web:
        down = requests.get(web.url("/readyz"), timeout=20)
        assert down.status_code == 503
        assert down.json() == {
            "status": "not ready",
            "checks": {"store": "unreachable", "redis": "ok"},
            "down": ["store"],
        }
        metrics = requests.get(web.url("/metrics"), timeout=20)
        assert metrics.status_code == 200
        assert 'mailbot_source_up{source="store"} 0.0' in metrics.text


@pytest.mark.postgres
def test_json_logs_name_the_inbound_the_ticket_and_the_channel(
    desk: Desk, support: tuple[str, str], mailbot_env: dict[str, str]
) -> None:
    user, password = support
    desk.dovecot.append(user, password, customer_mail("json1@mail.gmail.test"))
    run_to_end(mailbot_env, "poll", "--once")
    result = subprocess.run(
        [sys.executable, "-m", "mailbot.cli", "worker", "--burst"],
        env={**os.environ, **mailbot_env, "MAILBOT_LOG_FORMAT": "json"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert lines, "the worker logged nothing"
    assert all(
        {"time", "level", "logger", "message", "ticket_ref", "inbound_id", "channel"} <= set(e) for e in lines
    )
    with desk.runtime.sessions() as session:
        inbound = session.scalars(select(Inbound)).one()
        ticket = session.scalars(select(Ticket)).one()
        ack = session.scalars(select(OutboxEntry)).one()
    filed = [e for e in lines if e["logger"] == "mailbot.pipeline" and e["inbound_id"] == inbound.id]
    assert filed and filed[-1]["ticket_ref"] == ticket.ref and filed[-1]["channel"] == "email"
    sent = [e for e in lines if e["logger"] == "mailbot.outbox" and "sent to" in e["message"]]
    assert sent and sent[0]["ticket_ref"] == ticket.ref and sent[0]["outbox_id"] == ack.id
    assert sent[0]["channel"] == "email"


def test_an_unknown_log_format_is_refused_by_name(mailbot_env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mailbot.cli", "mailbox", "list"],
        env={**os.environ, **mailbot_env, "MAILBOT_LOG_FORMAT": "yaml"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "MAILBOT_LOG_FORMAT" in result.stderr and "'yaml'" in result.stderr
    assert result.stdout == ""


def test_gunicorn_as_the_procfile_runs_it_serves_the_probes_and_one_view_of_the_figures(
    runtime: Runtime, mailbot_env: dict[str, str], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with runtime.sessions.begin() as session:
        add_ticket(session)
        add_channel(
            session, ChannelSpec(type="generic", name="app", secret="hmac-key"), runtime.settings.secret_key
        )
    Queue(INBOUND_QUEUE, connection=runtime.redis).enqueue("tests.panel.failing_job.explode", "waiting")
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as output:
        web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "mailbot.web.wsgi:app",
            ],
            env={**os.environ, **mailbot_env, "MAILBOT_LOG_FORMAT": "json"},
            stdout=subprocess.DEVNULL,
            stderr=output,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            try:
                return requests.get(base + "/healthz", timeout=10).status_code == 200
            except (requests.ConnectionError, requests.Timeout):  # workers still booting
                return False

        wait_until(up, timeout=60, interval=0.2)
        assert requests.get(base + "/readyz", timeout=10).status_code == 200
        # Whichever of the two workers answers, the figures are the shared ones.
        for _ in range(6):
            page = requests.get(base + "/metrics", timeout=30).text
            assert 'mailbot_inbound_total{channel="email",kind="processed"} 1.0' in page
            assert 'mailbot_queue_depth{queue="inbound"} 1.0' in page
        forged = requests.post(
            base + "/webhooks/generic/app",
            data=b'{"event_id": "e1"}',
            headers={"X-Mailbot-Timestamp": str(int(time.time())), "X-Mailbot-Signature": "sha256=00"},
            timeout=30,
        )
        assert forged.status_code == 401
    finally:
        stop_process(web)
    # The app's own lines are JSON with their fields (gunicorn's own lines are its format).
    ours = [json.loads(line) for line in log.read_text().splitlines() if line.startswith('{"time"')]
    refused = [e for e in ours if e["logger"] == "mailbot.ingest" and "refused" in e["message"]]
    assert refused and refused[0]["channel"] == "generic" and refused[0]["level"] == "WARNING"
