"""Identify + dedupe + context at scale: one inbound message against a large PostgreSQL store.

    .venv/bin/python benchmarks/context.py [--tickets 1000000] [--contacts 200000] [--messages 2000]
                                           [--keep] [--reuse] [--explain] [--profile]

In one run, on a database of its own (created, and dropped at the end unless --keep):

1. Migrates an empty database and bulk-loads it with COPY (benchmarks/context_data.py):
   contacts with a mix of e-mail, phone, WhatsApp, Telegram, X, Slack, Messenger and
   partner-app identities, tickets over three years (a few customers with very many),
   their messages, our acknowledgements and imported customer records; a few routing rules.
2. Builds a mix of inbound messages as the normalise stage hands them on: new matters by
   mail, replies to our acknowledgements, chat in a known conversation, a complaint through
   the partner app about a ticket opened by mail (cross-channel), new senders, resends.
3. For each, times the identify + dedupe + context step as the worker runs it, with the
   pipeline's own functions in process.py's order (`step` below), in a transaction rolled
   back afterwards so every message meets the same store. Interleaved with it, the baseline:
   a primary-key lookup of a random ticket (`session.get`) in a transaction of its own.

Prints p50 / p99 of both, their ratio, the same per stage and per kind of message, and the
statements per step. --explain prints EXPLAIN (ANALYZE, BUFFERS) of the slowest statement of
each kind of message; --profile where the time of the steps goes (cProfile). Target: p99 under
20 ms. Not a test: run by hand.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import statistics
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session, sessionmaker

# Run as a script, this folder is first on sys.path, where benchmarks/webhooks.py would
# shadow the webhooks package: import from the checkout's root instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from benchmarks.context_data import (  # noqa: E402
    GENERIC_CHANNEL,
    SUBJECTS,
    SUPPORT,
    TEXTS,
    YEARS,
    ContactRow,
    Loader,
    ack_message_id_of,
    mail_message_id_of,
    sender_type,
)
from mailbot.config import Settings, load_settings  # noqa: E402
from mailbot.message import InboundMessage, SenderIdentity  # noqa: E402
from mailbot.pipeline.conversation import find_conversation  # noqa: E402
from mailbot.pipeline.crosschannel import find_cross_channel  # noqa: E402
from mailbot.pipeline.dedupe import content_hash, find_duplicate, load_seen, window_start  # noqa: E402
from mailbot.pipeline.identify import identify  # noqa: E402
from mailbot.pipeline.thread import find_thread  # noqa: E402
from mailbot.pipeline.triage_ticket import triage_ticket  # noqa: E402
from mailbot.rules import import_rules  # noqa: E402
from mailbot.store.db import make_engine  # noqa: E402
from mailbot.store.migrate import upgrade_database  # noqa: E402
from mailbot.store.models import Contact, Ticket  # noqa: E402
from mailbot.timeutil import utcnow  # noqa: E402

POSTGRES_ADMIN_URL = os.environ.get(
    "MAILBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
DATABASE = "mailbot_bench_ctx"
TARGET_P99_MS = 20.0
STAGES = ("dedupe", "identify", "thread", "cross-channel", "context")
RULES = [
    {"name": "vip", "if": {"attributes": {"vip": "yes"}}, "then": {"queue": "vip", "priority": "high"}},
    {"name": "billing-es", "if": {"language": ["es"], "words": ["factura", "cobrado"]},
     "then": {"queue": "billing", "tags": ["billing"]}},
    {"name": "card", "if": {"words": ["tarjeta", "card", "carta", "cartão", "carte", "karte"]},
     "then": {"tags": ["card-blocked"]}},
    {"name": "social", "if": {"channel": ["x", "messenger"]}, "then": {"queue": "social"}},
    {"name": "complaints", "if": {"intent": ["complaint"]}, "then": {"priority": "high"}},
]  # fmt: skip


# -- the step, as process.py runs it ------------------------------------------------------


@dataclass
class Timings:
    stages: dict[str, float] = field(default_factory=dict)
    outcome: str = ""


def step(session: Session, msg: InboundMessage, settings: Settings, now: datetime) -> Timings:
    """Identify + dedupe + context for one customer message, in process.py's order
    (_file_message, then _file_customer_message): the resend check, the contact, the
    ticket it continues (conversation, thread signals, then cross-channel), and for a new
    ticket the prior context, customer attributes and routing (triage_ticket)."""
    timings = Timings()
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now_ = time.perf_counter()
        timings.stages[stage] = timings.stages.get(stage, 0.0) + now_ - clock
        clock = now_

    digest = content_hash(msg)
    since = window_start(now, settings.duplicate_window_seconds)
    duplicate = find_duplicate(msg, digest, load_seen(session, msg, digest, since), since)
    lap("dedupe")
    if duplicate is not None:
        timings.outcome = "duplicate"
        return timings
    identified = identify(session, msg, "ES")
    lap("identify")
    contact = identified.contact
    match = find_conversation(session, msg, contact) or find_thread(
        session, msg, contact, settings.secret_key
    )
    lap("thread")
    if match is None:
        window = timedelta(seconds=settings.cross_channel_window_seconds)
        cross = find_cross_channel(session, msg, contact.id, now, window, settings.cross_channel_similarity)
        lap("cross-channel")
        if cross.ticket is not None:
            timings.outcome = "joined across channels"
            return timings
        # The new ticket, not yet written: triage reads the contact's history for it.
        ticket = Ticket(
            channel=msg.channel,
            contact_id=contact.id,
            language=msg.language or settings.default_language,
            tags=[],
            priority="normal",
        )
        ticket.contact = session.get(Contact, contact.id)  # as the lazy load would
        triage_ticket(session, ticket, msg, settings, now, new_ticket=True, mailbox=None)
        lap("context")
        timings.outcome = "new ticket"
        return timings
    ticket = session.get(Ticket, match.ticket.id)
    assert ticket is not None
    triage_ticket(session, ticket, msg, settings, now, new_ticket=False, mailbox=None)
    lap("context")
    timings.outcome = f"threaded ({match.reason})"
    return timings


# -- the messages -------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    kind: str
    msg: InboundMessage


class Probes:
    """Inbound messages of each kind, drawn from what the store holds."""

    def __init__(self, session: Session, loader: Loader, rng: random.Random) -> None:
        self.session, self.loader, self.rng = session, loader, rng
        self.serial = 0

    def sample(self, count: int) -> list[Probe]:
        makers: list[tuple[Callable[[], Probe | None], float]] = [
            (self.new_matter_by_mail, 0.30),
            (self.reply_to_ack, 0.15),
            (self.chat_in_conversation, 0.20),
            (self.cross_channel_complaint, 0.10),
            (self.new_sender, 0.15),
            (self.resend, 0.05),
            (self.heavy_customer, 0.05),
        ]
        probes: list[Probe] = []
        while len(probes) < count:
            maker = self.rng.choices([m for m, _ in makers], [w for _, w in makers])[0]
            probe = maker()
            if probe is not None:
                probes.append(probe)
        return probes

    def _ticket(self, where: str, within_days: float | None = None) -> Any:
        """A random ticket matching `where` (created in the last `within_days`): the highest
        id under a random bound, so the lookup is an index range scan, not a sort."""
        count = self.loader.ticket_count
        lowest = 1 if within_days is None else int(count * (1 - within_days / (YEARS * 365)))
        bound = self.rng.randint(max(lowest, 1), count)
        return self.session.execute(
            text(
                "SELECT id, contact_id, channel, ref, subject FROM tickets "
                f"WHERE id <= :bound AND {where} ORDER BY id DESC LIMIT 1"
            ),
            {"bound": bound},
        ).first()

    def _text(self, contact: ContactRow) -> str:
        self.serial += 1
        return self.rng.choice(TEXTS[contact.language]).format(n=900000 + self.serial)

    def _mail(self, contact: ContactRow, subject: str, **fields: Any) -> InboundMessage:
        self.serial += 1
        return InboundMessage(
            channel="email",
            sender_address=contact.email or "",
            sender_name=f"Customer {contact.id}",
            subject=subject,
            text=self._text(contact),
            message_id=f"probe-{self.serial}-{uuid.uuid4().hex[:8]}@mail.test",
            recipients=[SUPPORT],
            language=contact.language,
            **fields,
        )

    def new_matter_by_mail(self) -> Probe | None:
        contact = self.loader.contact(self.rng.randint(1, self.loader.contact_count))
        if not contact.email:
            return None
        subject = self.rng.choice(SUBJECTS[contact.language]).format(n=800000 + self.serial)
        return Probe("mail, new matter", self._mail(contact, subject))

    def reply_to_ack(self) -> Probe | None:
        row = self._ticket("channel = 'email'")
        if row is None:
            return None
        contact = self.loader.contact(row.contact_id)
        ack = ack_message_id_of(row.id)
        first = self.session.scalar(
            text("SELECT internet_message_id FROM messages WHERE ticket_id = :t ORDER BY id LIMIT 1"),
            {"t": row.id},
        )
        msg = self._mail(
            contact, f"Re: [#{row.ref}] {row.subject}", in_reply_to=[ack], references=[first, ack]
        )
        return Probe("mail, reply to our acknowledgement", msg)

    def chat_in_conversation(self) -> Probe | None:
        row = self._ticket("channel IN ('telegram', 'whatsapp')")
        if row is None:
            return None
        contact = self.loader.contact(row.contact_id)
        return Probe(f"{row.channel}, known conversation", self._chat(contact, row.channel, row.id))

    def _chat(self, contact: ContactRow, channel: str, ticket_id: int) -> InboundMessage:
        self.serial += 1
        return InboundMessage(
            channel=channel,
            sender_type=sender_type(channel),
            sender_address=contact.handle(channel),
            sender_name=f"Customer {contact.id}",
            subject="",
            text=self._text(contact),
            message_id=f"probe-{channel}-{self.serial}",
            conversation_key=contact.conversation_key(channel, ticket_id) or "",
            language=contact.language,
        )

    def cross_channel_complaint(self) -> Probe | None:
        """issue 9's case: a ticket opened by mail, then the partner app an hour later."""
        row = self._ticket("channel = 'email' AND status = 'open'", within_days=2.5)
        if row is None:
            return None
        contact = self.loader.contact(row.contact_id)
        self.serial += 1
        said = self.session.scalar(
            text("SELECT text FROM messages WHERE ticket_id = :t ORDER BY id LIMIT 1"), {"t": row.id}
        )
        msg = InboundMessage(
            channel="generic",
            sender_type="generic",
            sender_address=f"app-user-new-{self.serial}",
            sender_name=f"Customer {contact.id}",
            subject="",
            text=f"{said} ??",
            message_id=f"probe-generic-{self.serial}",
            conversation_key=f"generic:{GENERIC_CHANNEL}:probe-{self.serial}",
            language=contact.language,
            claimed_identities=[SenderIdentity("email", contact.email or "")],
        )
        return Probe("partner app, same matter as an open mailed ticket", msg)

    def new_sender(self) -> Probe | None:
        stranger = ContactRow(10_000_000 + self.serial, ("email", "telegram"), self.rng.choice(("es", "en")))
        if self.rng.random() < 0.5:
            return Probe("new sender", self._mail(stranger, "Hola"))
        return Probe("new sender", self._chat(stranger, "telegram", 0))

    def resend(self) -> Probe | None:
        row = self._ticket("channel = 'email'")
        if row is None:
            return None
        contact = self.loader.contact(row.contact_id)
        stored = self.session.execute(
            text("SELECT id, text, subject FROM messages WHERE ticket_id = :t AND kind = 'customer' LIMIT 1"),
            {"t": row.id},
        ).first()
        msg = self._mail(contact, stored.subject)
        msg = replace(msg, message_id=mail_message_id_of(stored.id, contact), text=stored.text)
        return Probe("mail, resent (same Message-ID)", msg)

    def heavy_customer(self) -> Probe | None:
        """The customers with the most tickets (the lowest ids, by construction: hundreds to
        a few thousand each)."""
        contact = self.loader.contact(self.rng.randint(1, 20))
        if contact.email:
            return Probe("customer with very many tickets", self._mail(contact, "Otra consulta"))
        channel = contact.channels[0]
        return Probe("customer with very many tickets", self._chat(contact, channel, 0))


# -- measuring ----------------------------------------------------------------------------


class StatementLog:
    """The statements sent since `statements` was last emptied, with how long each took."""

    def __init__(self, engine: Engine) -> None:
        self.statements: list[tuple[str, Any, float]] = []
        self._started = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        self._started = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        self.statements.append((statement, parameters, time.perf_counter() - self._started))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def measure(
    sessions: sessionmaker[Session], log: StatementLog, probes: list[Probe], settings: Settings, tickets: int,
    warmup: int,
) -> dict[str, Any]:  # fmt: skip
    rng = random.Random(7)
    steps: list[float] = []
    baseline: list[float] = []
    by_stage: dict[str, list[float]] = defaultdict(list)
    by_kind: dict[str, list[float]] = defaultdict(list)
    client_cpu: list[float] = []
    statements: list[int] = []
    slowest: dict[str, tuple[float, str, Any]] = {}
    outcomes: dict[str, int] = defaultdict(int)
    for index, probe in enumerate(probes):
        with sessions() as session, session.begin():
            # The connection is checked out (and pinged, pool_pre_ping) before the clock
            # starts, here and for the step: both time their statements only.
            session.connection()
            started = time.perf_counter()
            session.get(Ticket, rng.randint(1, tickets))
            took = time.perf_counter() - started
            session.rollback()
        if index >= warmup:
            baseline.append(took)
        with sessions() as session, session.begin():
            session.connection()
            log.statements = sent = []
            now = utcnow()
            started, cpu = time.perf_counter(), time.process_time()
            timings = step(session, probe.msg, settings, now)
            took, cpu = time.perf_counter() - started, time.process_time() - cpu
            session.rollback()
        if index < warmup:
            continue
        steps.append(took)
        client_cpu.append(cpu)
        by_kind[probe.kind].append(took)
        outcomes[f"{probe.kind} -> {timings.outcome}"] += 1
        for stage in STAGES:
            by_stage[stage].append(timings.stages.get(stage, 0.0))
        statements.append(len(sent))
        for statement, parameters, elapsed in sent:
            if elapsed > slowest.get(probe.kind, (0.0,))[0]:
                slowest[probe.kind] = (elapsed, statement, parameters)
    return {
        "steps": steps, "baseline": baseline, "client_cpu": client_cpu, "by_stage": by_stage,
        "by_kind": by_kind, "statements": statements, "slowest": slowest, "outcomes": outcomes,
    }  # fmt: skip


def report(result: dict[str, Any]) -> None:
    steps, baseline = result["steps"], result["baseline"]
    p50, p99 = percentile(steps, 0.5), percentile(steps, 0.99)
    b50, b99 = percentile(baseline, 0.5), percentile(baseline, 0.99)
    print(f"\n{len(steps)} messages measured\n")
    print(f"{'':44} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    print(f"{'primary-key lookup (baseline)':44} {ms(b50):>8} {ms(b99):>8} {ms(max(baseline)):>8}")
    print(f"{'identify + dedupe + context':44} {ms(p50):>8} {ms(p99):>8} {ms(max(steps)):>8}")
    print(f"{'ratio to the baseline':44} {p50 / b50:>8.1f} {p99 / b99:>8.1f}")
    cpu = result["client_cpu"]
    label = "  of which CPU in this process (Python)"
    print(f"{label:44} {ms(percentile(cpu, 0.5)):>8} {ms(percentile(cpu, 0.99)):>8}")
    verdict = "met" if p99 * 1000 < TARGET_P99_MS else "MISSED"
    print(f"target p99 < {TARGET_P99_MS:g} ms: {verdict}")
    count = result["statements"]
    print(f"statements per step: mean {statistics.mean(count):.1f}, max {max(count)}\n")
    print("per stage (time spent in it; 0 when the message did not reach it)")
    for stage in STAGES:
        values = result["by_stage"][stage]
        print(f"  {stage:42} {ms(percentile(values, 0.5)):>8} {ms(percentile(values, 0.99)):>8}")
    print("\nper kind of message")
    for kind, values in sorted(result["by_kind"].items()):
        label = f"{kind} ({len(values)})"
        print(f"  {label:60} {ms(percentile(values, 0.5)):>8} {ms(percentile(values, 0.99)):>8}")
    print("\noutcomes")
    for outcome, number in sorted(result["outcomes"].items()):
        print(f"  {number:6}  {outcome}")


def explain(engine: Engine, slowest: dict[str, tuple[float, str, Any]]) -> None:
    for kind, (elapsed, statement, parameters) in sorted(slowest.items()):
        print(f"\n=== slowest statement for {kind}: {ms(elapsed)} ms ===\n{statement}")
        with engine.connect() as conn:
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            for (line,) in plan:
                print("  " + line)
            conn.rollback()


# -- the run ------------------------------------------------------------------------------


def database_url(name: str) -> str:
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def prepare(args: argparse.Namespace, loader: Loader) -> None:
    url = database_url(DATABASE)
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
        if exists and args.reuse:
            print(f"reusing database {DATABASE}")
            return
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}"')
        admin.execute(f'CREATE DATABASE "{DATABASE}"')
    upgrade_database(url)
    started = time.perf_counter()
    loader.load()
    engine = make_engine(url)
    with sessionmaker(bind=engine).begin() as session:
        import_rules(session, RULES, utcnow())
    engine.dispose()
    took = time.perf_counter() - started
    print(f"loaded {args.tickets:,} tickets and {args.contacts:,} contacts in {took:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--messages", type=int, default=2000, help="inbound messages measured")
    parser.add_argument("--warmup", type=int, default=200, help="messages run first and not counted")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--keep", action="store_true", help=f"keep the database {DATABASE} afterwards")
    parser.add_argument("--reuse", action="store_true", help=f"use {DATABASE} as a previous --keep left it")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the slowest statements")
    parser.add_argument("--profile", action="store_true", help="cProfile the steps: where the CPU goes")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]  # progress in a log
    print("load average at the start: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))

    url = database_url(DATABASE)
    # The generated data is dated from the day it was loaded; a reused database keeps its own.
    loader = Loader(url, args.contacts, args.tickets, args.seed, utcnow())
    try:
        prepare(args, loader)
        engine = make_engine(url)
        sessions = sessionmaker(bind=engine, expire_on_commit=False)
        log = StatementLog(engine)
        settings = load_settings({"MAILBOT_DATABASE_URL": url, "MAILBOT_SECRET_KEY": "bench"})
        with sessions() as session:
            probes = Probes(session, loader, random.Random(args.seed)).sample(args.messages + args.warmup)
            session.execute(select(1))
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        result = measure(sessions, log, probes, settings, args.tickets, args.warmup)
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats("mailbot", 30)
        report(result)
        print("load average at the end: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
        if args.explain:
            explain(engine, result["slowest"])
        engine.dispose()
    finally:
        if not args.keep:
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


if __name__ == "__main__":
    main()
