"""Fault benchmark: APPEND to acknowledgement while processes die and servers restart.

    .venv/bin/python benchmarks/faults.py [--database postgres|sqlite] [--minutes 3] [--rate 2.2]

On private servers (Dovecot, an SMTP sink, a Redis that keeps its data on disk as the
embedded one does, a fresh database) it runs two `mailbot poll` and three `mailbot
worker`, restarted a second after they die, as a process manager would. Customer mail
is appended one message at a time at about --rate per second, first for 30 s without
faults (the baseline, from the same run), then for --minutes with these faults (issue 7):
kill -9 of a worker three times and of the poller holding the mailbox twice, a 10 s
Redis restart, a 20 s SMTP outage (451 to every message), and on PostgreSQL
`pg_terminate_backend` of every mailbot connection. It prints, per phase, the APPEND to
acknowledgement p50, p90 and max, how many mails were never answered and how many were
answered twice. Not a test: run by hand.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
from ingest import POSTGRES_ADMIN_URL, SUPPORT_ADDRESS, Children, make_mail  # benchmarks/ingest.py

from mailbot.devservers.ack_clock import AckClock
from mailbot.devservers.dovecot import DovecotServer
from mailbot.devservers.redis_instance import RedisInstance
from mailbot.devservers.smtp_sink import SmtpSink
from mailbot.devservers.supervisor import Supervisor
from mailbot.mailboxes import MailboxSpec, add_mailbox
from mailbot.runtime import current_runtime
from mailbot.store.db import engine_for
from mailbot.store.migrate import upgrade_database

BASELINE_SECONDS = 30
WORKERS = ("worker1", "worker2", "worker3")
POLLERS = ("poll1", "poll2")
COMMANDS = {**{name: ("worker",) for name in WORKERS}, **{name: ("poll",) for name in POLLERS}}


def lease_holder(children: Children) -> str:
    """The poller that synced last: only the one holding the lease syncs."""

    def last_sync(name: str) -> str:
        lines = [line for line in children.log_text(name).splitlines() if "we hold" in line]
        return lines[-1][:23] if lines else ""

    return max(POLLERS, key=last_sync)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary(latencies: list[float], appended: int) -> str:
    if not latencies:
        return f"none of {appended} answered"
    return (
        f"{len(latencies)} of {appended} answered: p50 {statistics.median(latencies):.2f} s, "
        f"p90 {percentile(latencies, 0.9):.2f} s, max {max(latencies):.2f} s"
    )


def run(args: argparse.Namespace) -> int:
    run_id = uuid.uuid4().hex[:8]
    dovecot_dir = Path(tempfile.mkdtemp(prefix="mailbot-faults-dovecot-"))
    work_dir = Path(tempfile.mkdtemp(prefix="mailbot-faults-"))
    children = Children(work_dir)
    supervisor = Supervisor(COMMANDS, lambda name: children.spawn(name, *COMMANDS[name]))
    dovecot = DovecotServer(dovecot_dir)
    redis_server = RedisInstance(work_dir / "redis", appendonly=True)
    sink = SmtpSink()
    acks = AckClock(sink)
    pg_database: str | None = None
    try:
        dovecot.start()
        redis_server.start()
        sink.start()
        acks.start()
        if args.database == "sqlite":
            database_url = f"sqlite:///{work_dir / 'mailbot.sqlite3'}"
        else:
            pg_database = f"mailbot_faults_{run_id}"
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{pg_database}"')
            database_url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{pg_database}"
        upgrade_database(database_url)
        os.environ.update(
            {
                "MAILBOT_DATABASE_URL": database_url,
                "MAILBOT_REDIS_URL": redis_server.url,
                "MAILBOT_DATA_DIR": str(work_dir / "data"),
                "MAILBOT_SECRET_KEY": "faults-" + uuid.uuid4().hex,
            }
        )
        runtime = current_runtime()
        user, password = "support", uuid.uuid4().hex
        dovecot.add_user(user, password)
        with runtime.sessions.begin() as session:
            spec = MailboxSpec(
                name="support",
                imap_url=dovecot.imap_url(user, password),
                smtp_url=sink.smtp_url(),
                address=SUPPORT_ADDRESS,
            )
            add_mailbox(session, spec, runtime.settings.secret_key)
        supervisor.start()
        time.sleep(5)  # every process up and listening

        def terminate_backends() -> None:
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (pg_database,),
                )

        def smtp_outage(seconds: float) -> Callable[[], None]:
            def begin() -> None:
                sink.fail_with = "451 4.3.0 try again later"
                threading.Timer(seconds, lambda: setattr(sink, "fail_with", None)).start()

            return begin

        def redis_restart() -> None:
            redis_server.stop()
            time.sleep(10)
            redis_server.start()

        span = args.minutes * 60

        def kill_lease_holder() -> None:
            supervisor.kill(lease_holder(children))

        faults: list[tuple[float, str, Callable[[], None]]] = [
            (0.08 * span, "kill -9 worker1", lambda: supervisor.kill("worker1")),
            (0.16 * span, "kill -9 the poller holding the mailbox", kill_lease_holder),
            (0.26 * span, "Redis restart (10 s)", redis_restart),
            (0.40 * span, "kill -9 worker2", lambda: supervisor.kill("worker2")),
            (0.50 * span, "SMTP outage (20 s)", smtp_outage(20)),
            (0.66 * span, "kill -9 the poller holding the mailbox", kill_lease_holder),
            (0.78 * span, "kill -9 worker3", lambda: supervisor.kill("worker3")),
        ]
        if pg_database is not None:
            faults.append((0.88 * span, "pg_terminate_backend", terminate_backends))

        rng = random.Random(20261201)
        appended: dict[str, tuple[str, float]] = {}  # Message-ID -> (phase, APPEND returned)
        client = dovecot.connect(user, password)
        started = time.monotonic()
        faults_at = started + BASELINE_SECONDS
        done: list[str] = []
        index = 0
        try:
            while time.monotonic() < faults_at + span:
                now = time.monotonic()
                phase = "baseline" if now < faults_at else "faults"
                while faults and now >= faults_at + faults[0][0]:
                    _, name, action = faults.pop(0)
                    print(f"{now - faults_at:6.1f} s: {name}", file=sys.stderr)
                    threading.Thread(target=action, daemon=True).start()
                    done.append(name)
                message_id, raw = make_mail(rng, index, run_id)
                client.append("INBOX", raw)
                appended[message_id] = (phase, time.monotonic())
                index += 1
                time.sleep(rng.expovariate(args.rate))
        finally:
            client.logout()
        acks.wait_count(len(appended), time.monotonic() + 180)
        for phase in ("baseline", "faults"):
            mine = {mid: at for mid, (p, at) in appended.items() if p == phase}
            latencies = [acks.arrived[mid] - at for mid, at in mine.items() if mid in acks.arrived]
            print(f"{phase}: {summary(latencies, len(mine))}")
        # Where the late ones came from: the slowest answer per 10 s of arrival.
        buckets: dict[int, list[float]] = {}
        for mid, (phase, at) in appended.items():
            if phase == "faults" and mid in acks.arrived:
                buckets.setdefault(int((at - faults_at) // 10), []).append(acks.arrived[mid] - at)
        print(
            "slowest answer by arrival (s after the faults began): "
            + ", ".join(f"{10 * b}-{10 * b + 10}: {max(v):.0f}" for b, v in sorted(buckets.items()))
        )
        doubles = sum(1 for count in acks.counts.values() if count > 1)
        print(f"never answered: {len(appended) - len(acks.arrived)}, answered twice: {doubles}")
        print(f"faults: {', '.join(done)}; processes started again: {supervisor.restarts}")
        return 0
    finally:
        supervisor.stop_all()
        children.stop_all()
        acks.stop()
        sink.stop()
        redis_server.stop()
        dovecot.stop()
        engine_for(os.environ.get("MAILBOT_DATABASE_URL", "sqlite://")).dispose()
        if pg_database is not None:
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{pg_database}" WITH (FORCE)')
        if args.keep:
            print(f"kept {work_dir} and {dovecot_dir}", file=sys.stderr)
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
            shutil.rmtree(dovecot_dir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--rate", type=float, default=2.2, help="mails per second, on average")
    parser.add_argument("--keep", action="store_true", help="keep temp dirs (process logs) for a look")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
