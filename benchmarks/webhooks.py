"""Webhook ingest benchmark: signed events into gunicorn, against a bare Flask endpoint.

    .venv/bin/python benchmarks/webhooks.py [--requests 4000] [--concurrency 32]

In one run, on private servers (Redis, a fresh SQLite database):

1. Baseline: gunicorn with the Procfile's settings (`--workers 2`) serving a bare Flask app whose
   one route answers 200. An async client posts the same signed generic-channel bodies.
2. mailbot: gunicorn serving `mailbot.web.wsgi:app` with the same settings; the client posts
   signed generic-channel events (HMAC as the contract says) to /webhooks/generic/bench.
   Each accepted event is verified, stored and enqueued before its 200.
3. Afterwards `mailbot worker --burst` files them, and the run checks that every accepted event
   is exactly one ticket message.

Prints requests per second and p50/p99 latency of both, and the ratio (target: at least 0.5 of
the bare rate and p99 under 50 ms). Not a test: run by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import func, select

from mailbot.devservers.dovecot import free_port
from mailbot.devservers.redis_instance import RedisInstance
from mailbot.store.db import session_factory
from mailbot.store.migrate import upgrade_database
from mailbot.store.models import Message

REPO = Path(__file__).resolve().parent.parent
SECRET = "bench-generic-secret"
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


async def load(url: str, payloads: list[bytes], concurrency: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    accepted = 0
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in payloads:
        queue.put_nowait(body)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:

        async def worker() -> None:
            nonlocal accepted
            while not queue.empty():
                body = queue.get_nowait()
                started = time.perf_counter()
                response = await client.post(url, content=body, headers=signed(body))
                latencies.append(time.perf_counter() - started)
                accepted += response.status_code == 200

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return len(payloads) / elapsed, latencies, accepted


def gunicorn(app: str, port: int, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    # The Procfile's web process, on a private port.
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2", app]
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


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mailbot-bench-webhooks-"))
    redis_server = RedisInstance(work / "redis").start()
    database_url = f"sqlite:///{work / 'mailbot.sqlite3'}"
    env = {
        **os.environ,
        "MAILBOT_DATABASE_URL": database_url,
        "MAILBOT_REDIS_URL": redis_server.url,
        "MAILBOT_DATA_DIR": str(work / "data"),
        "MAILBOT_SECRET_KEY": "bench-" + uuid.uuid4().hex,
    }
    os.environ.update(
        {k: env[k] for k in ("MAILBOT_DATABASE_URL", "MAILBOT_REDIS_URL", "MAILBOT_SECRET_KEY")}
    )
    try:
        upgrade_database(database_url)
        subprocess.run(
            [sys.executable, "-m", "mailbot.cli", "channel", "add", "generic", "bench", "--secret", SECRET,
             "--api-base", "http://127.0.0.1:9"],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
        (work / "bare_app.py").write_text(BARE_APP)

        port = free_port()
        bare = gunicorn("bare_app:app", port, env, work)
        try:
            bare_rate, bare_latencies, _ = asyncio.run(
                load(
                    f"http://127.0.0.1:{port}/webhooks/generic/bench", bodies(args.requests), args.concurrency
                )
            )
        finally:
            stop(bare)

        port = free_port()
        web = gunicorn("mailbot.web.wsgi:app", port, env, REPO)
        try:
            rate, latencies, accepted = asyncio.run(
                load(
                    f"http://127.0.0.1:{port}/webhooks/generic/bench", bodies(args.requests), args.concurrency
                )
            )
        finally:
            stop(web)

        subprocess.run([sys.executable, "-m", "mailbot.cli", "worker", "--burst"], env=env, check=True,
                       capture_output=True, timeout=1800)  # fmt: skip
        with session_factory(database_url)() as session:
            messages = session.scalar(
                select(func.count()).select_from(Message).where(Message.channel == "generic")
            )
            distinct = session.scalar(select(func.count(func.distinct(Message.internet_message_id))))

        print(f"requests: {args.requests}, concurrency {args.concurrency}, gunicorn --workers 2, SQLite")
        print(f"{'':<22}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
        for label, r, lat in (
            ("bare Flask 200", bare_rate, bare_latencies),
            ("mailbot webhook", rate, latencies),
        ):
            p50, p99 = percentile(lat, 0.5) * 1000, percentile(lat, 0.99) * 1000
            print(f"{label:<22}{r:>10.0f}{p50:>10.1f}{p99:>10.1f}")
        print(f"ratio to bare: {rate / bare_rate:.2f} (target >= 0.5); p99 target < 50 ms")
        print(f"accepted: {accepted}, ticket messages: {messages}, distinct ids: {distinct}")
        if not (accepted == messages == distinct == args.requests):
            print("MISMATCH: an accepted event is not exactly one ticket message")
            sys.exit(1)
        print(f"median latency ratio: {statistics.median(latencies) / statistics.median(bare_latencies):.2f}")
    finally:
        redis_server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
