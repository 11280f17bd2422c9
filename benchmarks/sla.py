"""SLA due times and the watchdog: what they cost, beside a baseline from the same run.

    .venv/bin/python benchmarks/sla.py [--tickets 20000] [--calls 20000]

1. Due time per ticket: `due_at` around the clock (the built-in default), on weekday
   business hours, and on business hours with a country's and a region's holidays, from
   random moments over a year; beside the baseline `start + timedelta`, the least a due
   time can cost.
2. One watchdog run over N open, unanswered tickets in SQLite (a temporary file) whose
   policy has an escalation chain and none of which is due yet: the cost every run pays,
   beside the baseline of reading the same rows with one SELECT.
Not a test: run by hand.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

# Run as a script, this folder comes first on the path, and benchmarks/webhooks.py would
# stand in for the webhooks package mailbot imports: mailbot is imported after this.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

WEEKDAYS = {d: ["09:00", "18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
CHAIN = [{"after_minutes": 600, "notify": "mailto:leads@example.com", "raise_priority": True}]


def _per_call(label: str, calls: int, run: callable, baseline: float | None) -> float:  # type: ignore[valid-type]
    started = time.perf_counter()
    run()
    seconds = (time.perf_counter() - started) / calls
    ratio = f"  x{seconds / baseline:.1f} the baseline" if baseline else ""
    print(f"{label:<44} {seconds * 1e6:8.2f} us per call{ratio}")
    return seconds


def due_times(calls: int) -> None:
    from mailbot.sla.config import default_config, parse_config
    from mailbot.sla.due import due_at

    rng = random.Random(9)
    year = datetime(2026, 1, 1, tzinfo=UTC)
    starts = [year + timedelta(minutes=rng.randrange(365 * 24 * 60)) for _ in range(calls)]
    configs = {
        "around the clock (default)": default_config(),
        "weekday hours, Europe/Madrid": parse_config(
            {
                "timezone": "Europe/Madrid",
                "business_hours": WEEKDAYS,
                "policies": [{"name": "p", "first_response_minutes": 480}],
            }
        ),
        "weekday hours + holidays ES-MD": parse_config(
            {
                "timezone": "Europe/Madrid",
                "business_hours": WEEKDAYS,
                "holidays": "ES-MD",
                "policies": [{"name": "p", "first_response_minutes": 480}],
            }
        ),
    }
    print(f"due time, {calls} tickets at random moments of 2026 (8 working hours / the default):")
    base = _per_call(
        "baseline: start + timedelta", calls, lambda: [s + timedelta(hours=8) for s in starts], None
    )
    for label, config in configs.items():
        _per_call(
            f"due_at, {label}",
            calls,
            lambda c=config: [due_at(c, "email", "normal", s) for s in starts],
            base,
        )


def watchdog(tickets: int) -> None:
    import os

    from mailbot.config import load_settings
    from mailbot.runtime import Runtime
    from mailbot.sla.store import save_config
    from mailbot.sla.watchdog import load_watched, run_watchdog
    from mailbot.store.db import session_factory
    from mailbot.store.migrate import upgrade_database
    from mailbot.store.models import Contact, Ticket

    data_dir = Path(tempfile.mkdtemp(prefix="mailbot-bench-sla-"))
    os.environ["MAILBOT_DATA_DIR"] = str(data_dir)
    settings = load_settings()
    upgrade_database(settings.database_url)
    sessions = session_factory(settings.database_url)
    # Monday 08:00 in Madrid; the tickets came in over the weekend, 11 to 35 hours ago.
    now = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    with sessions.begin() as session:
        contact = Contact(name="Ana", email="ana@example.test")
        session.add(contact)
        session.flush()
        session.add_all(
            Ticket(
                ref=f"MB-B{i:06d}",
                subject="Pedido",
                channel="email",
                contact_id=contact.id,
                created_at=now - timedelta(hours=11, minutes=i % (24 * 60)),
                updated_at=now,
            )
            for i in range(tickets)
        )
    # The store only: a run with nothing due never talks to Redis.
    runtime = Runtime(settings, redis_url="redis://127.0.0.1:1/0")
    print(f"\nwatchdog run over {tickets} open unanswered tickets, none due (SQLite):")
    base = _per_call("baseline: SELECT the same rows", 1, lambda: _select_all(sessions, Ticket), None)
    _per_call("load_watched (rows + levels reached)", 1, lambda: load_watched(runtime), base)
    for label, document in (
        (
            "24/7, first step after 36 h: all too young",
            {
                "policies": [
                    {
                        "name": "all",
                        "first_response_minutes": 1440,
                        "escalate": [{**CHAIN[0], "after_minutes": 36 * 60}],
                    }
                ]
            },
        ),
        (
            "weekday hours, step after 600 working min",
            {
                "timezone": "Europe/Madrid",
                "business_hours": WEEKDAYS,
                "holidays": "ES",
                "policies": [{"name": "all", "first_response_minutes": 1440, "escalate": CHAIN}],
            },
        ),
    ):
        with sessions.begin() as session:
            save_config(session, document, datetime.now(UTC))
        _per_call(f"run_watchdog, {label}", 1, lambda: run_watchdog(runtime, now), base)
    if os.environ.get("SLA_PROFILE"):
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.runcall(run_watchdog, runtime, now)
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)


def _select_all(sessions, model) -> None:  # type: ignore[no-untyped-def]
    with sessions() as session:
        session.execute(select(model.id, model.channel, model.priority, model.created_at)).all()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--tickets", type=int, default=5000)
    options = parser.parse_args()
    due_times(options.calls)
    watchdog(options.tickets)
