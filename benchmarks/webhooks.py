"""Webhook ingest benchmark: signed events into gunicorn, against a bare Flask endpoint.

    .venv/bin/python benchmarks/webhooks.py [--duration 10] [--connections 16]

Needs wrk (Debian's package `wrk`) as the load generator: a Python client on the same two
cores was the bottleneck, not the servers. In one run, on private servers (Redis, a fresh
SQLite database):

1. Baseline: gunicorn with the Procfile's settings (`--workers 2`) serving a bare Flask app whose
   one route answers 200. wrk posts signed generic-channel bodies, each one unique.
2. mailbot: gunicorn serving `mailbot.web.wsgi:app` with the same settings; wrk posts the same
   kind of signed events (HMAC as the contract says) to /webhooks/generic/bench. Each accepted
   event is verified, stored and enqueued before its 200.
3. Afterwards `mailbot worker --burst` files them, and the run checks that every distinct event
   sent is exactly one ticket message.

Prints requests per second and p50/p99 latency of both, and the ratio (target: at least 0.5 of
the bare rate and p99 under 50 ms). Not a test: run by hand.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import func, select

from mailbot.devservers.dovecot import free_port
from mailbot.devservers.redis_instance import RedisInstance
from mailbot.store.db import engine_for, session_factory
from mailbot.store.migrate import upgrade_database
from mailbot.store.models import Message

REPO = Path(__file__).resolve().parent.parent
SECRET = "bench-generic-secret"
POSTGRES_ADMIN_URL = os.environ.get(
    "MAILBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BARE_APP = """
from flask import Flask
app = Flask(__name__)

@app.post("/webhooks/<kind>/<name>")
def receive(kind, name):
    return "ok\\n"
"""


def signed(body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    mac = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Mailbot-Timestamp": timestamp,
        "X-Mailbot-Signature": f"sha256={mac}",
    }


def bodies(count: int) -> list[bytes]:
    run = uuid.uuid4().hex[:8]
    return [
        json.dumps(
            {
                "event_id": f"{run}-{i}",
                "sender": {"id": f"user-{i % 500}", "name": f"Customer {i % 500}"},
                "conversation_id": f"conv-{i % 500}",
                "text": f"Hola, mi pedido {1000 + i} no ha llegado todavía.",
                "sent_at": "2026-12-01T10:00:00Z",
            }
        ).encode()
        for i in range(count)
    ]


# Each wrk thread runs its own Lua state: thread n sends requests n, n + threads, ... so
# no two requests carry the same event. Past the end it wraps around (repeats are answered
# 200 and never stored twice: the check below counts distinct events).
WRK_SCRIPT = """
local threads = {}
local counter = 0
local offset = 0
local count = 0
function setup(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end
function init(args)
  offset = tonumber(wrk.thread:get("offset")) or 0
  requests = dofile(os.getenv("BENCH_REQUESTS"))
  count = #requests
end
function request()
  local index = (offset + counter * THREADS) % count + 1
  counter = counter + 1
  return requests[index]
end
"""


def write_requests(path: Path, url_path: str, payloads: list[bytes]) -> None:
    """A Lua file returning every request pre-formatted, signed once (well inside the window)."""
    lines = ["local r = {}"]
    for i, body in enumerate(payloads, 1):
        headers = signed(body)
        fields = ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items())
        lines.append(f'r[{i}] = wrk.format("POST", "{url_path}", {{{fields}}}, [==[{body.decode()}]==])')
    lines.append("return r")
    path.write_text("\n".join(lines))


def run_wrk(url: str, script: Path, requests_file: Path, duration: int, connections: int) -> dict[str, float]:
    threads = 2
    script.write_text(WRK_SCRIPT.replace("THREADS", str(threads)))
    output = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--latency",
         "-s", str(script), url],
        capture_output=True, text=True, check=True, env={**os.environ, "BENCH_REQUESTS": str(requests_file)},
    ).stdout  # fmt: skip
    return parse_wrk(output)


def parse_wrk(output: str) -> dict[str, float]:
    figures: dict[str, float] = {}
    for line in output.splitlines():
        words = line.split()
        if line.startswith("Requests/sec:"):
            figures["rate"] = float(words[1])
        elif len(words) == 2 and words[0] in {"50%", "99%"}:
            figures[words[0]] = _milliseconds(words[1])
        elif "requests in" in line:
            figures["requests"] = float(words[0])
        elif line.strip().startswith("Non-2xx"):
            figures["non2xx"] = float(words[-1])
    return figures


def _milliseconds(value: str) -> float:
    for unit, factor in (("ms", 1.0), ("us", 0.001), ("s", 1000.0)):
        if value.endswith(unit):
            return float(value[: -len(unit)]) * factor
    return float(value)


def gunicorn(app: str, port: int, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    # The Procfile's web process, on a private port.
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
               "--no-control-socket", app]
    process = subprocess.Popen(command, env=env, cwd=cwd, start_new_session=True, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1.0)
            return process
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn {app} did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per contestant")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--events", type=int, default=30000, help="distinct signed events prepared")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("this benchmark needs wrk: apt-get install wrk")

    work = Path(tempfile.mkdtemp(prefix="mailbot-bench-webhooks-"))
    redis_server = RedisInstance(work / "redis").start()
    database_url = f"sqlite:///{work / 'mailbot.sqlite3'}"
    pg_name = None
    if args.database == "postgres":
        pg_name = f"mailbot_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{pg_name}"')
        database_url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{pg_name}"
    env = {
        **os.environ,
        "MAILBOT_DATABASE_URL": database_url,
        "MAILBOT_REDIS_URL": redis_server.url,
        "MAILBOT_DATA_DIR": str(work / "data"),
        "MAILBOT_SECRET_KEY": "bench-" + uuid.uuid4().hex,
    }
    try:
        upgrade_database(database_url)
        subprocess.run(
            [sys.executable, "-m", "mailbot.cli", "channel", "add", "generic", "bench", "--secret", SECRET,
             "--api-base", "http://127.0.0.1:9"],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
        (work / "bare_app.py").write_text(BARE_APP)
        path = "/webhooks/generic/bench"
        results = {}
        for label, app, cwd in (
            ("bare Flask 200", "bare_app:app", work),
            ("mailbot webhook", "mailbot.web.wsgi:app", REPO),
        ):
            requests_file = work / f"requests-{len(results)}.lua"
            write_requests(requests_file, path, bodies(args.events))
            port = free_port()
            server = gunicorn(app, port, env, cwd)
            try:
                results[label] = run_wrk(
                    f"http://127.0.0.1:{port}{path}",
                    work / "bench.lua",
                    requests_file,
                    args.duration,
                    args.connections,
                )
            finally:
                stop(server)
        mailbot = results["mailbot webhook"]
        sent = int(mailbot.get("requests", 0))
        distinct_sent = min(sent, args.events)

        subprocess.run([sys.executable, "-m", "mailbot.cli", "worker", "--burst"], env=env, check=True,
                       capture_output=True, timeout=3600)  # fmt: skip
        with session_factory(database_url)() as session:
            messages = session.scalar(
                select(func.count()).select_from(Message).where(Message.channel == "generic")
            )
            distinct = session.scalar(select(func.count(func.distinct(Message.internet_message_id))))

        print(f"wrk -t2 -c{args.connections} -d{args.duration}s, gunicorn -w 2 (Procfile), {args.database}")
        print(f"{'':<18}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'requests':>10}{'non-2xx':>9}")
        for label, f in results.items():
            rate, p50, p99 = f.get("rate", 0), f.get("50%", 0), f.get("99%", 0)
            answered, refused = int(f.get("requests", 0)), int(f.get("non2xx", 0))
            print(f"{label:<18}{rate:>9.0f}{p50:>9.1f}{p99:>9.1f}{answered:>10}{refused:>9}")
        bare_rate = results["bare Flask 200"].get("rate", 0) or 1
        print(f"ratio to bare: {mailbot.get('rate', 0) / bare_rate:.2f} (target >= 0.5); p99 target < 50 ms")
        print(f"distinct events answered: {distinct_sent}, ticket messages: {messages}, distinct: {distinct}")
        # wrk counts the requests it saw answered: a few still in flight at its stop were
        # accepted too (at most one per connection).
        if not (messages == distinct and distinct_sent <= messages <= distinct_sent + args.connections):
            print("MISMATCH: an accepted event is not exactly one ticket message")
            sys.exit(1)
    finally:
        redis_server.stop()
        shutil.rmtree(work, ignore_errors=True)
        if pg_name:
            engine_for(database_url).dispose()
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
