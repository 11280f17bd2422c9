"""Load benchmark (issue 12, scale-out): many mailboxes and webhook traffic at once.

    .venv/bin/python benchmarks/load.py [--messages 50000] [--mailboxes 100] [--webhooks 0.25]
        [--workers 1,2,3,4] [--pollers 2] [--database postgres|sqlite]

For each worker count, on fresh private servers (Dovecot with --mailboxes users, an SMTP
sink, the fake platform server, Redis, a fresh database) it runs --pollers `mailbot poll`,
the workers and the web process (gunicorn, as the Procfile), then APPENDs --messages
customer mails over four connections, round robin across the mailboxes, as fast as
Dovecot takes them, while signed webhooks of the generic channel (--webhooks per mail)
are POSTed alongside. Each mail and each webhook is a new customer: one ticket and one
acknowledgement. It reports throughput (answered per second, first arrival to last
answer), arrival to acknowledgement p50 and p99 (under this backlog: mostly time spent
waiting in the queue), and the largest resident memory of each kind of process; the
one-worker run is the baseline of the ratios. Not a test: run by hand.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
from ingest import POSTGRES_ADMIN_URL, REPO, Children, make_mail, percentile  # benchmarks/ingest.py

from mailbot.devservers.ack_clock import AckClock
from mailbot.devservers.dovecot import DovecotServer, free_port
from mailbot.devservers.platform_api import PlatformApi
from mailbot.devservers.redis_instance import RedisInstance
from mailbot.devservers.smtp_sink import SmtpSink
from mailbot.mailboxes import MailboxSpec, add_mailbox
from mailbot.runtime import current_runtime
from mailbot.store.db import engine_for
from mailbot.store.migrate import upgrade_database

SECRET = "load-generic-secret"
APPEND_CONNECTIONS = 4


def signed_headers(body: bytes) -> dict[str, str]:
    """As the generic channel's contract signs (README, generic channel): written out here
    because importing mailbot's own signer would import the `webhooks` package, which this
    directory's webhooks.py shadows."""
    stamp = str(int(time.time()))
    mac = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Mailbot-Timestamp": stamp,
        "X-Mailbot-Signature": f"sha256={mac}",
    }


def process_group_rss(pgid: int) -> dict[int, int]:
    """Resident memory (bytes) of every process in group `pgid`, by pid."""
    found: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            # Fields after the command name (which may hold spaces), see proc(5).
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) != pgid:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    found[int(entry.name)] = int(line.split()[1]) * 1024
        except (OSError, ValueError):
            continue
    return found


class MemorySampler(threading.Thread):
    """The largest RSS seen of any one process, per kind (worker, poll, web), once a second."""

    def __init__(self, groups: dict[str, int]) -> None:
        super().__init__(name="memory", daemon=True)
        self.groups = groups  # name -> pgid
        self.peak: dict[str, int] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            for name, pgid in self.groups.items():
                kind = name.rstrip("0123456789")
                for rss in process_group_rss(pgid).values():
                    self.peak[kind] = max(self.peak.get(kind, 0), rss)


def start_web(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
             "--no-control-socket", "mailbot.web.wsgi:app"],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=output, start_new_session=True,
        )  # fmt: skip


def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} within {timeout}s")
        time.sleep(0.2)


def one_run(args: argparse.Namespace, workers: int, dovecot: DovecotServer) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]
    work = Path(tempfile.mkdtemp(prefix="mailbot-load-"))
    children = Children(work)
    redis_server = RedisInstance(work / "redis", appendonly=True)
    sink, api = SmtpSink(), PlatformApi()
    clock = AckClock(sink)
    web: subprocess.Popen[bytes] | None = None
    pg_database = None
    try:
        redis_server.start()
        sink.start()
        api.start()
        clock.start()
        if args.database == "sqlite":
            database_url = f"sqlite:///{work / 'mailbot.sqlite3'}"
        else:
            pg_database = f"mailbot_load_{run_id}"
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{pg_database}"')
            database_url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{pg_database}"
        upgrade_database(database_url)
        os.environ.update(
            {
                "MAILBOT_DATABASE_URL": database_url,
                "MAILBOT_REDIS_URL": redis_server.url,
                "MAILBOT_DATA_DIR": str(work / "data"),
                "MAILBOT_SECRET_KEY": "load-" + uuid.uuid4().hex,
            }
        )
        runtime = current_runtime()
        mailboxes: list[tuple[str, str]] = []
        with runtime.sessions.begin() as session:
            for n in range(args.mailboxes):
                user, password = f"load{run_id}m{n}", uuid.uuid4().hex
                dovecot.add_user(user, password)
                spec = MailboxSpec(
                    name=f"desk{n}",
                    imap_url=dovecot.imap_url(user, password),
                    smtp_url=sink.smtp_url(),
                    address=f"desk{n}@acme.test",
                )
                add_mailbox(session, spec, runtime.settings.secret_key)
                mailboxes.append((user, password))
        # Through the command line: importing mailbot.channels here would find this
        # directory's webhooks.py (a benchmark) before the `webhooks` package.
        subprocess.run(
            [sys.executable, "-m", "mailbot.cli", "channel", "add", "generic", "shop",
             "--secret", SECRET, "--api-base", api.base("generic")],
            cwd=REPO, check=True, capture_output=True,
        )  # fmt: skip
        api.credentials["generic"] = SECRET
        for n in range(workers):
            children.spawn(f"worker{n + 1}", "worker")
        for n in range(args.pollers):
            children.spawn(f"poll{n + 1}", "poll")
        web_port = free_port()
        web = start_web(dict(os.environ), web_port, work / "web.log")
        web_url = f"http://127.0.0.1:{web_port}"

        def web_up() -> bool:
            try:
                return httpx.get(web_url + "/login", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(web_up, 90, "the web process did not answer")

        def synced() -> int:
            return sum(children.log_text(f"poll{n + 1}").count("we hold") for n in range(args.pollers))

        wait_for(lambda: synced() >= args.mailboxes, 180, "the pollers did not sync every mailbox")
        time.sleep(2)  # into IDLE
        groups = {name: process.pid for name, process in children.processes.items()}
        sampler = MemorySampler({**groups, "web": web.pid})
        sampler.start()

        rng = random.Random(run_id)
        mails = [make_mail(rng, i, run_id) for i in range(args.messages)]
        arrived: dict[str, float] = {}
        lock = threading.Lock()
        appended = [0]

        def append_share(share: int) -> None:
            clients: dict[int, Any] = {}
            try:
                for index in range(share, len(mails), APPEND_CONNECTIONS):
                    box = index % len(mailboxes)
                    if box not in clients:
                        clients[box] = dovecot.connect(*mailboxes[box])
                    message_id, raw = mails[index]
                    clients[box].append("INBOX", raw)
                    with lock:
                        arrived[message_id] = time.monotonic()
                        appended[0] += 1
            finally:
                for client in clients.values():
                    client.logout()

        webhook_count = int(args.messages * args.webhooks)
        hooks_at: dict[str, float] = {}

        def post_webhooks() -> None:
            with httpx.Client(timeout=30) as http:
                for n in range(webhook_count):
                    # Keep pace with the mail: webhook n goes once n / ratio mails are in.
                    while appended[0] < n / args.webhooks and appended[0] < len(mails):
                        time.sleep(0.01)
                    conversation = f"conv-{run_id}-{n}"
                    body = json.dumps(
                        {
                            "event_id": f"evt-{run_id}-{n}",
                            "sender": {"id": f"web-{run_id}-{n}", "name": f"Cliente Web {n}"},
                            "conversation_id": conversation,
                            "text": f"Hola, el pedido {2000 + n} llegó roto. ¿Me enviáis otro?",
                            "sent_at": "2026-12-01T10:00:00Z",
                        }
                    ).encode()
                    first = time.monotonic()
                    while (
                        http.post(
                            web_url + "/webhooks/generic/shop",
                            content=body,
                            headers=signed_headers(body),
                        ).status_code
                        != 200
                    ):
                        time.sleep(0.5)
                    hooks_at[conversation] = first

        started = time.monotonic()
        feeders = [threading.Thread(target=append_share, args=(n,)) for n in range(APPEND_CONNECTIONS)]
        feeders.append(threading.Thread(target=post_webhooks))
        for thread in feeders:
            thread.start()
        for thread in feeders:
            thread.join()
        fed = time.monotonic() - started
        deadline = time.monotonic() + args.timeout

        def answered_hooks() -> dict[str, float]:
            found: dict[str, float] = {}
            for call in api.calls_to("generic"):
                if call.status == 200:
                    found.setdefault(json.loads(call.body)["conversation_id"], call.at)
            return found

        while time.monotonic() < deadline:
            if clock.count >= len(mails) and len(answered_hooks()) >= webhook_count:
                break
            time.sleep(0.5)
        sampler.stopped.set()
        hooks = answered_hooks()
        latencies = [clock.arrived[m] - at for m, at in arrived.items() if m in clock.arrived]
        latencies += [hooks[c] - at for c, at in hooks_at.items() if c in hooks]
        last = max([*clock.arrived.values(), *hooks.values()], default=started)
        total = len(mails) + webhook_count
        return {
            "workers": workers,
            "answered": len(latencies),
            "expected": total,
            "fed_seconds": fed,
            "rate": len(latencies) / max(last - started, 1e-9),
            "p50": statistics.median(latencies) if latencies else float("nan"),
            "p99": percentile(latencies, 0.99) if latencies else float("nan"),
            "rss": {kind: peak / 2**20 for kind, peak in sampler.peak.items()},
            "twice": sum(1 for n in clock.counts.values() if n > 1),
        }
    finally:
        children.stop_all()
        if web is not None:
            children.processes["web"] = web
            children.stop("web")
        clock.stop()
        api.stop()
        sink.stop()
        redis_server.stop()
        if "MAILBOT_DATABASE_URL" in os.environ:
            engine_for(os.environ["MAILBOT_DATABASE_URL"]).dispose()
        if pg_database is not None:
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{pg_database}" WITH (FORCE)')
        shutil.rmtree(work, ignore_errors=True)


def table(results: list[dict[str, Any]]) -> str:
    base = results[0]["rate"]
    lines = [
        "| workers | answered | throughput | ratio to 1 worker | time to ack p50 / p99 "
        "| RSS worker / poller / web |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        rss = r["rss"]
        lines.append(
            f"| {r['workers']} | {r['answered']} of {r['expected']} | {r['rate']:.1f} msg/s | "
            f"{r['rate'] / base:.2f} | {r['p50']:.1f} s / {r['p99']:.1f} s | "
            f"{rss.get('worker', 0):.0f} / {rss.get('poll', 0):.0f} / {rss.get('web', 0):.0f} MB |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=50_000, help="customer mails per worker count")
    parser.add_argument("--mailboxes", type=int, default=100)
    parser.add_argument("--webhooks", type=float, default=0.25, help="webhook events per mail")
    parser.add_argument("--workers", default="1,2,3,4", help="worker counts to run, comma-separated")
    parser.add_argument("--pollers", type=int, default=2)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument(
        "--timeout", type=float, default=3600, help="seconds to wait for the answers, per run"
    )
    args = parser.parse_args()
    dovecot_dir = Path(tempfile.mkdtemp(prefix="mailbot-load-dovecot-"))
    dovecot = DovecotServer(dovecot_dir)
    results = []
    try:
        dovecot.start()
        for workers in (int(n) for n in args.workers.split(",")):
            result = one_run(args, workers, dovecot)
            print(json.dumps(result), file=sys.stderr)
            results.append(result)
    finally:
        dovecot.stop()
        shutil.rmtree(dovecot_dir, ignore_errors=True)
    print(
        f"{args.mailboxes} mailboxes, {args.messages} mails and {int(args.messages * args.webhooks)} "
        f"webhooks per run, {args.pollers} pollers, {args.database}"
    )
    print(table(results))
    return 0 if all(r["answered"] == r["expected"] and not r["twice"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
