"""Customer data and routing rules imported with the CLI, then mail routed by them, end to
end on the real servers (Dovecot, the SMTP sink, Redis, both stores); and the HTTP
customer-data lookup against a real local server that answers well, slowly or not at all."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from mailbot.customers.lookup import MAX_ATTEMPTS, enqueue_due_lookups
from mailbot.devservers.dovecot import DovecotServer
from mailbot.devservers.smtp_sink import SmtpSink
from mailbot.runtime import Runtime, current_runtime
from mailbot.statuses import LookupStatus
from mailbot.store.models import CustomerLookup, OutboxEntry
from mailbot.timeutil import as_utc, utcnow
from tests.e2e.test_cli_contract import mailbot, ok
from tests.fixtures.crm import Crm
from tests.fixtures.mail import Desk
from tests.fixtures.messages import customer_mail

RULES: list[dict[str, Any]] = [
    {
        "name": "vip-billing",
        "if": {
            "channel": ["email"],
            "language": ["es"],
            "intent": ["complaint"],
            "words": ["factura"],
            "attributes": {"vip": "yes"},
        },
        "then": {"queue": "vip", "priority": "high", "tags": ["vip"], "assignee": "ana@example.com"},
    },
    {"name": "billing", "if": {"words": ["factura", "invoice"]}, "then": {"tags": ["billing"]}},
]
CUSTOMERS = (
    "email,phone,name,plan,vip,payment_status\n"
    "ana.garcia@gmail.test,+34 600 11 22 33,Ana García,gold,Yes,paid\n"
    "luis@example.test,,Luis,basic,no,failed\n"
)


def write(tmp_path: Path, name: str, content: Any) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return str(path)


def by_subject(desk: Desk) -> dict[str, dict[str, Any]]:
    return {t["subject"]: t for t in desk.tickets()}


@pytest.mark.postgres
def test_imported_customers_and_rules_route_mail(
    desk: Desk, support: tuple[str, str], mailbot_env: dict[str, str], tmp_path: Path
) -> None:
    env = mailbot_env
    imported = ok(mailbot(env, "customers", "import", write(tmp_path, "customers.csv", CUSTOMERS)))
    assert imported.stdout == "" and "2 customers imported" in imported.stderr
    ok(mailbot(env, "rules", "import", write(tmp_path, "rules.json", RULES)))
    assert json.loads(ok(mailbot(env, "rules", "list")).stdout) == RULES

    user, password = support
    desk.dovecot.append(
        user,
        password,
        customer_mail(
            "bill.1@mail.gmail.test",
            subject="Factura de octubre",
            body="La factura de octubre está mal cobrada. Es inaceptable.",
        ),
    )
    desk.dovecot.append(
        user,
        password,
        customer_mail(
            "parcel.1@mail.outlook.test",
            sender="John Smith <john.smith@outlook.test>",
            subject="Parcel",
            body="Hello, where is my parcel? It was due on Monday.",
        ),
    )
    desk.run()
    tickets = by_subject(desk)
    vip, plain = tickets["Factura de octubre"], tickets["Parcel"]
    assert (vip["queue"], vip["assignee"], vip["priority"], vip["tags"], vip["matched_rule"]) == (
        "vip",
        "ana@example.com",
        "high",
        ["vip", "billing"],
        "vip-billing",
    )
    assert vip["triage"]["routing_reason"] == (
        "vip-billing: channel=email; language=es; intent=complaint; words: factura; vip=yes"
    )
    assert (vip["intent"], vip["urgency"], vip["language"]) == ("complaint", "normal", "es")
    assert vip["context"]["attributes"] == {"plan": "gold", "vip": "Yes", "payment_status": "paid"}
    assert vip["context"]["attributes_pending"] is False
    assert (plain["queue"], plain["matched_rule"], plain["tags"], plain["priority"]) == (
        "support",
        None,
        [],
        "normal",
    )
    assert (plain["intent"], plain["context"]["attributes"]) == ("question", {})
    assert vip["acknowledged_at"] and plain["acknowledged_at"]

    # A new matter from Ana the same day: its own ticket, knowing the first one.
    desk.dovecot.append(
        user,
        password,
        customer_mail(
            "address.1@mail.gmail.test",
            subject="Cambio de dirección",
            body="Quisiera cambiar mi dirección de envío.",
        ),
    )
    desk.run()
    second = by_subject(desk)["Cambio de dirección"]
    context = second["context"]
    assert (context["prior_tickets"], context["open_tickets"]) == ([vip["ref"]], [vip["ref"]])
    assert context["last_tickets"][0]["ref"] == vip["ref"]
    assert context["last_tickets"][0]["outcome"] == "open"
    assert context["channels"] == ["email"] and context["repeated_contact"] is True
    assert second["intent"] == "request" and second["matched_rule"] is None
    assert second["priority"] == "high"
    assert second["triage"]["priority_cues"] == ["customer: vip", "repeated contact within 48 hours"]

    # John answers our acknowledgement, angrier: the ticket's intent only goes up.
    [john_ack] = [m for m in desk.smtp.received if m.rcpt_tos == ["john.smith@outlook.test"]]
    desk.dovecot.append(
        user,
        password,
        customer_mail(
            "parcel.2@mail.outlook.test",
            sender="John Smith <john.smith@outlook.test>",
            subject="Re: Parcel",
            body="This is unacceptable, it is still not here.",
            extra_headers=f"In-Reply-To: {john_ack.message['Message-ID']}\r\n",
        ),
    )
    desk.run()
    plain = by_subject(desk)["Parcel"]
    assert len(plain["messages"]) == 2
    assert (plain["intent"], plain["queue"]) == ("complaint", "support")
    assert plain["triage"]["intent_cues"][0] == "complaint: unacceptable"

    # A dry run shows what a rule would do to these tickets and saves nothing.
    english = [{"name": "english", "if": {"language": ["en"]}, "then": {"queue": "intl"}}]
    report = json.loads(ok(mailbot(env, "rules", "dry-run", write(tmp_path, "en.json", english))).stdout)
    assert report["tickets_checked"] == 3 and report["matches_by_rule"] == {"english": 1}
    assert [(t["ref"], t["queue"], t["current_queue"]) for t in report["tickets"]] == [
        (plain["ref"], "intl", "support")
    ]
    assert json.loads(ok(mailbot(env, "rules", "list")).stdout) == RULES
    assert by_subject(desk)["Parcel"]["queue"] == "support"

    # Bad files: a clear error, nothing replaced.
    bad_rules = [{"name": "x", "if": {"intent": ["anger"]}, "then": {"queue": "q"}}]
    refused = mailbot(env, "rules", "import", write(tmp_path, "bad.json", bad_rules))
    assert refused.returncode != 0 and "unknown intent ['anger']" in refused.stderr
    not_json = mailbot(env, "rules", "import", write(tmp_path, "broken.json", "[{"))
    assert not_json.returncode != 0 and "broken.json" in not_json.stderr
    assert json.loads(ok(mailbot(env, "rules", "list")).stdout) == RULES
    bad_csv = mailbot(env, "customers", "import", write(tmp_path, "bad.csv", "name,plan\nAna,gold\n"))
    assert bad_csv.returncode != 0 and "email or a phone column" in bad_csv.stderr


@pytest.fixture
def crm_desk(
    crm: Crm,
    mailbot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    dovecot: DovecotServer,
    smtp_server: SmtpSink,
) -> Desk:
    """A desk whose settings name the CRM as its customer-data lookup, 0.5 s timeout."""
    monkeypatch.setenv("MAILBOT_CUSTOMER_LOOKUP_URL", crm.template)
    monkeypatch.setenv("MAILBOT_CUSTOMER_LOOKUP_TIMEOUT_SECONDS", "0.5")
    monkeypatch.setenv("MAILBOT_CUSTOMER_LOOKUP_TTL_SECONDS", "3600")
    crm.customers["ana.garcia@gmail.test"] = {
        "name": "Ana García",
        "plan": "gold",
        "vip": True,
        "payment_status": "paid",
        "last_payment_date": "2026-11-01",
        "last_payment_amount": 49.9,
    }
    return Desk(current_runtime(), dovecot, smtp_server)


def make_due(runtime: Runtime) -> None:
    """The retry delay has passed (instead of waiting for it)."""
    with runtime.sessions.begin() as session:
        session.execute(update(CustomerLookup).values(next_attempt_at=utcnow() - timedelta(seconds=1)))


def lookups(runtime: Runtime) -> list[CustomerLookup]:
    with runtime.sessions() as session:
        return list(session.scalars(select(CustomerLookup).order_by(CustomerLookup.id)))


def test_a_slow_lookup_never_delays_the_acknowledgement_and_fills_in_later(
    crm_desk: Desk, crm: Crm, tmp_path: Path, mailbot_env: dict[str, str]
) -> None:
    desk = crm_desk
    vip_rule = [{"name": "vip", "if": {"attributes": {"vip": "yes"}}, "then": {"queue": "vip"}}]
    ok(mailbot(mailbot_env, "rules", "import", write(tmp_path, "vip.json", vip_rule)))
    user, password = desk.add_mailbox("support", "support@acme.test")
    crm.mode = "slow"
    desk.dovecot.append(user, password, customer_mail("slow.1@mail.gmail.test"))
    desk.run()

    [ticket] = desk.tickets()
    [ack] = desk.smtp.wait_for(1)
    assert ticket["ref"] in ack.message["Subject"]
    # Filed and acknowledged without the attributes; the lookup came after, and timed out.
    assert ticket["context"]["attributes_pending"] is True and ticket["context"]["attributes"] == {}
    assert (ticket["queue"], ticket["matched_rule"], ticket["priority"]) == ("support", None, "normal")
    with desk.runtime.sessions() as session:
        sent_at = as_utc(session.scalars(select(OutboxEntry.sent_at)).one())
    assert crm.requests and sent_at < crm.requests[0][0]
    [lookup] = lookups(desk.runtime)
    assert (lookup.status, lookup.attempts) == (LookupStatus.PENDING, 1)
    assert "Timeout" in (lookup.last_error or "")

    # Later the source answers: the context is filled in and the ticket routed by it.
    crm.mode = "good"
    make_due(desk.runtime)
    assert enqueue_due_lookups(desk.runtime) == 1
    desk.work()
    [ticket] = desk.tickets()
    assert ticket["context"]["attributes"]["vip"] is True
    assert ticket["context"]["attributes"]["last_payment_amount"] == 49.9
    assert ticket["context"]["attributes_pending"] is False
    assert (ticket["queue"], ticket["matched_rule"], ticket["priority"]) == ("vip", "vip", "high")
    assert [row.status for row in lookups(desk.runtime)] == [LookupStatus.DONE]
    assert len(desk.smtp.received) == 1  # no second acknowledgement

    # Within the TTL the cached answer serves the next ticket at once, without a request.
    asked = len(crm.requests)
    desk.dovecot.append(
        user,
        password,
        customer_mail("slow.2@mail.gmail.test", subject="Otra cosa", body="Quisiera cambiar mi plan."),
    )
    desk.run()
    other = next(t for t in desk.tickets() if t["subject"] == "Otra cosa")
    assert (
        other["context"]["attributes"]["plan"] == "gold" and other["context"]["attributes_pending"] is False
    )
    assert (other["queue"], other["matched_rule"]) == ("vip", "vip")
    assert len(crm.requests) == asked and len(lookups(desk.runtime)) == 1


def test_a_failing_lookup_is_retried_then_given_up_and_the_ticket_keeps_what_is_known(
    crm_desk: Desk, crm: Crm
) -> None:
    desk = crm_desk
    user, password = desk.add_mailbox("support", "support@acme.test")
    crm.mode = "failing"
    desk.dovecot.append(user, password, customer_mail("fail.1@mail.gmail.test"))
    desk.run()
    [ticket] = desk.tickets()
    assert ticket["acknowledged_at"] is not None and ticket["context"]["attributes_pending"] is True
    [lookup] = lookups(desk.runtime)
    assert (lookup.status, lookup.attempts, lookup.last_error) == (LookupStatus.PENDING, 1, "HTTP 500")
    first_retry = as_utc(lookup.next_attempt_at) - utcnow()
    assert timedelta(seconds=20) < first_retry <= timedelta(seconds=30)
    assert enqueue_due_lookups(desk.runtime) == 0  # not due yet

    for _ in range(MAX_ATTEMPTS - 1):
        make_due(desk.runtime)
        enqueue_due_lookups(desk.runtime)
        desk.work()
    [lookup] = lookups(desk.runtime)
    assert (lookup.status, lookup.attempts) == (LookupStatus.FAILED, MAX_ATTEMPTS)
    assert len(crm.requests) == MAX_ATTEMPTS
    [ticket] = desk.tickets()
    assert ticket["context"]["attributes_pending"] is False and ticket["context"]["attributes"] == {}
    assert len(desk.smtp.received) == 1
