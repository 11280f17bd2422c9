"""SLA escalation end to end, with two real workers sharing rq's scheduler: a ticket past
its escalation time is escalated once per level by mail (received at the SMTP sink, marked
as our own so its copy in a support mailbox is no ticket) or in a Slack channel (received
by the local Slack server), its priority raised, the level recorded in its JSON; an
answered ticket is never escalated for its first response."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from mailbot.channels import ChannelSpec
from mailbot.devservers.smtp_sink import ReceivedMail
from mailbot.sla.store import save_config
from mailbot.store.models import Escalation, Inbound, OutboxEntry, Ticket
from mailbot.ticket_changes import Author, add_agent_message
from mailbot.timeutil import utcnow
from tests.fixtures.mail import Desk
from tests.fixtures.messages import customer_mail
from tests.fixtures.platforms import ChatDesk, slack
from tests.fixtures.processes import mailbot_process, run_to_end, stop_process

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

LEADS = "leads@acme.test"
BOSS = "boss@acme.test"
ESCALATION_CHANNEL = "C0ESCALATE9"
# How long the test watches after the first escalation for a second one that must not come:
# several watchdog runs at one a second.
SETTLE_SECONDS = 4.0
# Two workers starting on a loaded machine take a while before their first watchdog run.
START_SECONDS = 90.0


def _chain(*steps: dict[str, Any]) -> dict[str, Any]:
    return {
        "timezone": "Europe/Madrid",
        "policies": [
            {"name": "mail", "channels": ["email"], "first_response_minutes": 60, "escalate": list(steps)}
        ],
    }


def _configure(desk: Desk, document: dict[str, Any]) -> None:
    with desk.runtime.sessions.begin() as session:
        save_config(session, document, utcnow())


def _age(desk: Desk, ref: str, minutes: int) -> None:
    """As if the ticket had been opened `minutes` earlier (due time included)."""
    with desk.runtime.sessions.begin() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.ref == ref))
        assert ticket is not None and ticket.first_response_due_at is not None
        session.execute(
            update(Ticket)
            .where(Ticket.id == ticket.id)
            .values(
                created_at=ticket.created_at - timedelta(minutes=minutes),
                first_response_due_at=ticket.first_response_due_at - timedelta(minutes=minutes),
            )
        )


@pytest.fixture
def workers(mailbot_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[[], None]]:
    """Starts two long-lived workers with a watchdog run every second; stops them after."""
    started = []
    env = {**mailbot_env, "MAILBOT_SLA_WATCH_SECONDS": "1"}

    def start() -> None:
        for name in ("one", "two"):
            started.append(mailbot_process(env, "worker", log=tmp_path / f"worker-{name}.log"))

    yield start
    for process in started:
        stop_process(process)


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {timeout}s"
        time.sleep(0.1)


def _to(received: list[ReceivedMail], address: str) -> list[ReceivedMail]:
    return [m for m in received if m.rcpt_tos == [address]]


def _escalations(desk: Desk) -> list[tuple[str, int, str]]:
    with desk.runtime.sessions() as session:
        rows = session.execute(
            select(Ticket.ref, Escalation.level, Escalation.actions)
            .join(Ticket, Ticket.id == Escalation.ticket_id)
            .order_by(Escalation.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_a_ticket_past_its_time_is_escalated_once_by_mail_and_an_answered_one_not_at_all(
    desk: Desk, support: tuple[str, str], workers: Callable[[], None], mailbot_env: dict[str, str]
) -> None:
    _configure(
        desk,
        _chain(
            {"after_minutes": 30, "notify": f"mailto:{LEADS}", "raise_priority": True},
            {"after_minutes": 24 * 60, "notify": f"mailto:{BOSS}"},  # not due: the ticket is 45 min old
        ),
    )
    desk.dovecot.append(*support, customer_mail("order.1@mail.gmail.test"))
    desk.dovecot.append(
        *support,
        customer_mail(
            "refund.1@mail.example.test", sender="Luis <luis@example.test>", subject="Reembolso", body="Hola"
        ),
    )
    desk.run()
    desk.smtp.wait_for(2)  # the two acknowledgements
    by_sender = {t["contact"]["email"]: t for t in desk.tickets()}
    late, answered = by_sender["ana.garcia@gmail.test"], by_sender["luis@example.test"]
    created = datetime.fromisoformat(late["created_at"])
    assert datetime.fromisoformat(late["sla_due_at"]) == created + timedelta(minutes=60)
    assert late["escalations"] == [] and late["priority"] == "normal"
    with desk.runtime.sessions.begin() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.ref == answered["ref"]))
        assert ticket is not None
        add_agent_message(
            session,
            ticket,
            "Hola Luis, ya está en camino.",
            internal=False,
            author=Author("email", "jane@acme.test", "Jane"),
            settings=desk.runtime.settings,
            now=utcnow(),
        )
    _age(desk, late["ref"], 45)
    _age(desk, answered["ref"], 45)

    workers()
    _wait(lambda: bool(_to(desk.smtp.received, LEADS)), START_SECONDS, "the escalation reached the leads")
    time.sleep(SETTLE_SECONDS)
    received = desk.smtp.received
    [escalation] = _to(received, LEADS)
    assert not _to(received, BOSS)
    assert _escalations(desk) == [(late["ref"], 1, f"priority normal -> high; notified mailto:{LEADS}")]

    mail = escalation.message
    assert email.utils.parseaddr(mail["From"])[1] == "support@acme.test"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["X-Mailbot-Notification"] == f"escalation:{_ticket_id(desk, late['ref'])}:1"
    assert late["ref"] in mail["Subject"] and "SLA escalation level 1" in mail["Subject"]
    body = mail.get_content()
    assert "escalation level 1 of SLA policy 'mail'" in body and "overdue" not in body  # due in 15 min
    assert f"Ticket: {late['ref']}" in body  # the context block agents know

    shown = {t["ref"]: t for t in desk.tickets()}
    [level] = shown[late["ref"]]["escalations"]
    assert level["level"] == 1 and datetime.fromisoformat(level["at"]).utcoffset() == timedelta(0)
    assert shown[late["ref"]]["priority"] == "high"
    assert shown[answered["ref"]]["escalations"] == []

    # A copy of the escalation landing in the support mailbox is our own, never a ticket.
    desk.dovecot.append(*support, escalation.raw)
    run_to_end(mailbot_env, "poll", "--once")
    _wait(lambda: _inbound_settled(desk, 3), 30, "the copy was filed")
    with desk.runtime.sessions() as session:
        copy = session.scalars(select(Inbound).order_by(Inbound.id.desc())).first()
        assert copy is not None and copy.verdict == "own_echo", copy.verdict_reason
    assert len(desk.tickets()) == 2
    assert len(_to(desk.smtp.received, LEADS)) == 1


def _ticket_id(desk: Desk, ref: str) -> int:
    with desk.runtime.sessions() as session:
        found = session.scalar(select(Ticket.id).where(Ticket.ref == ref))
        assert found is not None
        return found


def _inbound_settled(desk: Desk, count: int) -> bool:
    with desk.runtime.sessions() as session:
        statuses = list(session.scalars(select(Inbound.status)))
    return len(statuses) == count and "received" not in statuses


def test_a_slack_escalation_reaches_the_channel_once(
    chat_desk: ChatDesk, desk: Desk, support: tuple[str, str], workers: Callable[[], None]
) -> None:
    chat_desk.api.credentials["slack"] = slack.BOT_TOKEN
    chat_desk.add_channel(
        ChannelSpec(
            "slack",
            "acme",
            secret=slack.SIGNING_SECRET,
            token=slack.BOT_TOKEN,
            api_base=chat_desk.api.base("slack"),
        )
    )
    _configure(desk, _chain({"after_minutes": 90, "notify": f"slack:{ESCALATION_CHANNEL}"}))
    desk.dovecot.append(*support, customer_mail("order.1@mail.gmail.test"))
    desk.run()
    desk.smtp.wait_for(1)
    [ticket] = desk.tickets()
    _age(desk, ticket["ref"], 100)  # past due (60 min) and past the step (90)

    workers()
    [call] = chat_desk.api.wait_for_calls("slack", 1, timeout=START_SECONDS)
    time.sleep(SETTLE_SECONDS)
    assert len(chat_desk.api.calls_to("slack")) == 1
    assert call.path.endswith("chat.postMessage") and call.json["channel"] == ESCALATION_CHANNEL
    assert call.headers["authorization"] == f"Bearer {slack.BOT_TOKEN}"
    assert ticket["ref"] in call.json["text"] and "overdue by" in call.json["text"]
    [entry] = [e for e in chat_desk.outbox() if e.kind == "escalation"]
    assert entry.status == "sent" and entry.key == f"escalation:{_ticket_id(desk, ticket['ref'])}:1"
    assert _escalations(desk) == [(ticket["ref"], 1, f"notified slack:{ESCALATION_CHANNEL}")]
    [shown] = desk.tickets()
    assert [e["level"] for e in shown["escalations"]] == [1] and shown["priority"] == "normal"


def test_an_escalation_with_nothing_to_send_it_through_is_recorded_with_the_reason(
    desk: Desk, support: tuple[str, str]
) -> None:
    from mailbot.sla.watchdog import run_watchdog
    from mailbot.store.models import Alert

    _configure(desk, _chain({"after_minutes": 30, "notify": f"slack:{ESCALATION_CHANNEL}"}))
    desk.dovecot.append(*support, customer_mail("order.1@mail.gmail.test"))
    desk.run()
    [ticket] = desk.tickets()
    _age(desk, ticket["ref"], 31)
    assert run_watchdog(desk.runtime) == []  # no Slack channel configured: nothing promised
    assert run_watchdog(desk.runtime) == []
    [(ref, level, actions)] = _escalations(desk)
    assert (ref, level) == (ticket["ref"], 1) and "no Slack channel is configured" in actions
    with desk.runtime.sessions() as session:
        assert session.scalar(select(Alert.detail).where(Alert.kind == "escalation_undeliverable"))
        assert not list(session.scalars(select(OutboxEntry).where(OutboxEntry.kind == "escalation")))


def test_one_watchdog_chain_runs_at_a_time_on_rqs_scheduler(desk: Desk) -> None:
    from rq.registry import ScheduledJobRegistry

    from mailbot.queue import SLA_QUEUE
    from mailbot.sla.schedule import CHAIN_KEY, continue_chain, ensure_scheduled, schedule_next

    runtime = desk.runtime
    first = ensure_scheduled(runtime)
    assert first is not None and runtime.redis.get(CHAIN_KEY) == first.encode()
    scheduled = ScheduledJobRegistry(SLA_QUEUE, connection=runtime.redis)
    assert scheduled.get_job_ids() == [first]  # waiting for rq's scheduler to move it on time
    assert ensure_scheduled(runtime) is None  # a second worker starting adds no second chain
    assert schedule_next(runtime, take_over=False) is None
    # A link that is not the one the key names (a stale copy) ends its chain.
    assert continue_chain(runtime) is False
    assert runtime.redis.get(CHAIN_KEY) == first.encode()
    # A chain lost with Redis's data is started again by the next maintenance pass.
    runtime.redis.delete(CHAIN_KEY)
    again = ensure_scheduled(runtime)
    assert again is not None and again != first
