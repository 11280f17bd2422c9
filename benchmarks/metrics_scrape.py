"""Scrape benchmark: what one /metrics costs as the store grows.

    .venv/bin/python benchmarks/metrics_scrape.py [--database sqlite|postgres] [--messages 50000]

Fills a fresh database with --messages inbound rows (a mix of channels and verdicts), as
many tickets and acknowledgements, and times, in the same run, the baseline (one
`SELECT count(*) FROM inbound`, the least a scrape could read from the store) against
mailbot's whole scrape (every figure from the store and a private Redis, rendered as
Prometheus text). Prints the median of 20 of each and their ratio. Not a test: run by hand.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg
import redis
from sqlalchemy import func, insert, select

from mailbot.devservers.redis_instance import RedisInstance
from mailbot.observability.ack_latency import record_ack_latencies
from mailbot.observability.figures import load_figures
from mailbot.observability.metrics import exposition
from mailbot.runtime import current_runtime
from mailbot.store.db import engine_for
from mailbot.store.migrate import upgrade_database
from mailbot.store.models import Contact, Inbound, OutboxEntry, Ticket
from mailbot.timeutil import utcnow

POSTGRES_ADMIN_URL = os.environ.get(
    "MAILBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
CHANNELS = ("email", "email", "email", "slack", "telegram", "whatsapp")
VERDICTS = (
    ("processed", "customer"),
    ("processed", "auto_reply"),
    ("duplicate", "customer"),
    ("received", None),
)
ROUNDS = 20


def fill(database_url: str, messages: int) -> None:
    engine = engine_for(database_url)
    now = utcnow()
    rng = random.Random(12)
    with engine.begin() as connection:
        connection.execute(
            insert(Contact), [{"name": "c", "email": f"c{n}@example.test"} for n in range(1000)]
        )
        contact_ids = list(connection.scalars(select(Contact.id)))
        for start in range(0, messages, 5000):
            count = min(5000, messages - start)
            connection.execute(
                insert(Inbound),
                [
                    {
                        "source_key": f"bench:{start + n}",
                        "channel": rng.choice(CHANNELS),
                        "raw": b"x",
                        "raw_sha256": "0" * 64,
                        "arrived_at": now,
                        "status": (verdict := rng.choice(VERDICTS))[0],
                        "verdict": verdict[1],
                    }
                    for n in range(count)
                ],
            )
            connection.execute(
                insert(Ticket),
                [
                    {
                        "ref": f"MB-{start + n:06d}",
                        "channel": "email",
                        "contact_id": rng.choice(contact_ids),
                        "first_response_due_at": now + timedelta(hours=rng.choice((-2, 5))),
                        "tags": [],
                    }
                    for n in range(count)
                ],
            )
            connection.execute(
                insert(OutboxEntry),
                [
                    {
                        "key": f"ack:MB-{start + n:06d}",
                        "kind": "ack",
                        "channel": "email",
                        "to_address": "c@example.test",
                        "from_address": "support@acme.test",
                        "subject": "s",
                        "body": "b",
                        "internet_message_id": f"{start + n}@bench.test",
                        "status": rng.choice(("sent", "sent", "sent", "failed", "pending")),
                    }
                    for n in range(count)
                ],
            )


def median_ms(action, rounds: int = ROUNDS) -> float:  # type: ignore[no-untyped-def]
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--messages", type=int, default=50_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mailbot-bench-metrics-"))
    redis_server = RedisInstance(work / "redis").start()
    name = f"mailbot_bench_{uuid.uuid4().hex[:8]}"
    if args.database == "sqlite":
        database_url = f"sqlite:///{work / 'mailbot.sqlite3'}"
    else:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        database_url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        os.environ.update(
            MAILBOT_DATABASE_URL=database_url,
            MAILBOT_REDIS_URL=redis_server.url,
            MAILBOT_DATA_DIR=str(work / "data"),
            MAILBOT_SECRET_KEY="bench",
        )
        upgrade_database(database_url)
        fill(database_url, args.messages)
        if args.database == "postgres":
            # What autovacuum does to a table that has settled: statistics, and the
            # visibility map that lets a count read the index alone.
            with psycopg.connect(database_url, autocommit=True) as connection:
                connection.execute("VACUUM ANALYZE")
        runtime = current_runtime()
        client = redis.Redis.from_url(redis_server.url)
        record_ack_latencies(client, [n % 90 for n in range(1000)])

        def baseline() -> None:
            with runtime.sessions() as session:
                session.scalar(select(func.count()).select_from(Inbound))

        def scrape() -> None:
            exposition(lambda: load_figures(runtime, client))

        scrape()  # warm the connection pools and imports
        base, ours = median_ms(baseline), median_ms(scrape)
        print(f"{args.database}, {args.messages:,} inbound rows, tickets and acknowledgements")
        print(f"baseline (count inbound rows): {base:8.1f} ms")
        print(f"mailbot scrape (every figure): {ours:8.1f} ms   ratio {ours / base:.1f}")
        print(f"page size: {len(exposition(lambda: load_figures(runtime, client))):,} bytes")
    finally:
        redis_server.stop()
        engine_for(database_url).dispose()
        if args.database == "postgres":
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
