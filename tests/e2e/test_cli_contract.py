"""The `mailbot` command as acceptance checks and operators use it: separate processes,
configured only through the environment; stdout carries the requested output and
nothing else, errors go to stderr with a non-zero exit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from mailbot.devservers.dovecot import DovecotServer
from mailbot.devservers.smtp_sink import SmtpSink
from tests.fixtures.empty_store import empty_database_url  # noqa: F401 (a fixture)
from tests.fixtures.messages import customer_mail

pytestmark = pytest.mark.postgres

TICKET_FIELDS = {
    "ref",
    "status",
    "subject",
    "channel",
    "contact",
    "language",
    "priority",
    "created_at",
    "acknowledged_at",
    "messages",
    # added in issue 10: the first agent reply, who has the ticket, its queue and labels
    "first_response_at",
    "assignee",
    "queue",
    "tags",
    # added in issue 9: prior context and triage
    "context",
    "intent",
    "urgency",
    "matched_rule",
    "triage",
    # added in issue 9: the SLA due time and the escalation levels reached
    "sla_due_at",
    "escalations",
    # added in issue 9 (self-service): the FAQ entries suggested, the satisfaction answer
    "suggested_faq",
    "satisfaction_score",
}
CONTEXT_FIELDS = {
    "prior_tickets",
    "open_tickets",
    "attributes",
    "last_tickets",
    "channels",
    "first_contact_at",
    "last_satisfaction",
    "language",
    "repeated_contact",
    "attributes_pending",
}
MESSAGE_FIELDS = {
    "message_id",
    "from",
    "subject",
    "text",
    "received_at",
    "kind",
    # added in issue 8: the channel and the sender identity
    "channel",
    "sender",
    # added in issue 7: a display name posing as an address, staff forwards, customer forwards
    "warnings",
    "forwarded_by",
    "forward_note",
    "forwarded_from",
    # added in issue 9: why the message is on its ticket, and how sure that was
    "thread_reason",
    "thread_confidence",
}
# The sender identity types of `messages[].sender.type`, which `contact.identities` shares.
IDENTITY_TYPES = {"email", "slack", "telegram", "whatsapp", "messenger", "instagram", "phone", "x", "generic"}


def _command() -> list[str]:
    script = shutil.which("mailbot", path=str(Path(sys.executable).parent)) or shutil.which("mailbot")
    return [script] if script else [sys.executable, "-m", "mailbot.cli"]


MAILBOT = _command()


def mailbot(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MAILBOT, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"{result.args} exited {result.returncode}:\n{result.stderr}"
    return result


@pytest.fixture
def fresh_env(mailbot_env: dict[str, str], empty_database_url: str) -> dict[str, str]:  # noqa: F811
    """The test's environment, pointed at a database without a schema."""
    return {**mailbot_env, "MAILBOT_DATABASE_URL": empty_database_url}


@pytest.fixture
def mailbox_user(dovecot: DovecotServer) -> tuple[str, str]:
    user, password = f"u{uuid.uuid4().hex[:12]}", uuid.uuid4().hex
    dovecot.add_user(user, password)
    return user, password


def test_commands_before_db_upgrade_say_what_to_do(fresh_env: dict[str, str]) -> None:
    for args in (("tickets", "list", "--json"), ("mailbox", "list", "--json")):
        result = mailbot(fresh_env, *args)
        assert result.returncode != 0
        assert "mailbot db upgrade" in result.stderr
        assert result.stdout == ""

    ok(mailbot(fresh_env, "db", "upgrade"))
    again = ok(mailbot(fresh_env, "db", "upgrade"))  # idempotent
    assert again.stdout == ""
    listed = ok(mailbot(fresh_env, "tickets", "list", "--json"))
    assert json.loads(listed.stdout) == []


def test_the_whole_flow_from_an_empty_database(
    fresh_env: dict[str, str],
    dovecot: DovecotServer,
    smtp_server: SmtpSink,
    mailbox_user: tuple[str, str],
) -> None:
    env = fresh_env
    user, password = mailbox_user
    assert ok(mailbot(env, "db", "upgrade")).stdout == ""
    added = ok(
        mailbot(
            env,
            "mailbox",
            "add",
            "support",
            "--imap",
            f"imap://{user}:{password}@127.0.0.1:{dovecot.imap_port}/INBOX",
            "--smtp",
            f"smtp://127.0.0.1:{smtp_server.port}",
            "--address",
            "support@acme.test",
        )
    )
    assert added.stdout == ""
    dovecot.append(user, password, customer_mail("cli1@mail.gmail.test"))
    dovecot.append(
        user,
        password,
        customer_mail(
            "cli2@mail.outlook.test",
            sender="John Smith <john.smith@outlook.test>",
            subject="Refund for a damaged parcel",
            body="Hello, my parcel arrived damaged and I would like a refund, please.",
        ),
    )
    assert ok(mailbot(env, "poll", "--once")).stdout == ""
    assert ok(mailbot(env, "worker", "--burst")).stdout == ""

    listed = ok(mailbot(env, "tickets", "list", "--json"))
    tickets = json.loads(listed.stdout)  # stdout is the JSON and nothing else
    assert isinstance(tickets, list) and len(tickets) == 2
    for ticket in tickets:
        assert set(ticket) == TICKET_FIELDS, set(ticket) ^ TICKET_FIELDS
        assert set(ticket["contact"]) == {"name", "email", "identities"}
        # Issue 9: every identity as {type, value}, typed as the messages' senders are.
        assert ticket["contact"]["identities"] == [{"type": "email", "value": ticket["contact"]["email"]}]
        for message in ticket["messages"]:
            assert set(message) == MESSAGE_FIELDS
            assert message["kind"] in {"customer", "auto_reply", "bounce", "agent", "note"}
            # Mail's sender identity is its address (issue 8's contract).
            assert message["channel"] == "email"
            assert message["sender"]["type"] == "email" and message["sender"]["value"] == message["from"]
            assert {"type": message["sender"]["type"], "value": message["sender"]["value"]} in ticket[
                "contact"
            ]["identities"]
            assert message["sender"]["type"] in IDENTITY_TYPES
            assert isinstance(message["thread_reason"], str) and 0 <= message["thread_confidence"] <= 1
        assert ticket["status"] == "open" and ticket["channel"] == "email"
        assert ticket["created_at"].endswith("Z") and ticket["acknowledged_at"].endswith("Z")
        # Nobody has answered or taken it yet; it waits in the default queue.
        assert (ticket["first_response_at"], ticket["assignee"], ticket["queue"], ticket["tags"]) == (
            None,
            None,
            "support",
            [],
        )
        # No routing rules, no customer data, first contact: the default queue, nothing known.
        assert set(ticket["context"]) == CONTEXT_FIELDS
        assert (ticket["context"]["prior_tickets"], ticket["context"]["open_tickets"]) == ([], [])
        assert ticket["context"]["attributes"] == {} and ticket["context"]["channels"] == ["email"]
        assert ticket["matched_rule"] is None and ticket["triage"]["routing_reason"] is None
        assert ticket["urgency"] == "normal"
        # No SLA imported: the built-in 24 hours by mail, around the clock, with an offset.
        due, created = (
            datetime.fromisoformat(ticket["sla_due_at"]),
            datetime.fromisoformat(ticket["created_at"]),
        )
        assert due.utcoffset() is not None and due - created == timedelta(hours=24)
        assert ticket["escalations"] == []
    by_email = {t["contact"]["email"]: t for t in tickets}
    spanish, english = by_email["ana.garcia@gmail.test"], by_email["john.smith@outlook.test"]
    assert spanish["contact"]["name"] == "Ana García"  # UTF-8 survives the pipe
    assert (spanish["language"], english["language"]) == ("es", "en")
    assert spanish["messages"][0] == {
        "message_id": "cli1@mail.gmail.test",
        "from": "ana.garcia@gmail.test",
        "subject": "Mi pedido no ha llegado",
        "text": spanish["messages"][0]["text"],
        "received_at": spanish["messages"][0]["received_at"],
        "kind": "customer",
        "channel": "email",
        "sender": {"type": "email", "value": "ana.garcia@gmail.test", "name": "Ana García"},
        "warnings": [],
        "forwarded_by": None,
        "forward_note": "",
        "forwarded_from": None,
        "thread_reason": "new ticket: no open ticket on another channel within 72 h",
        "thread_confidence": 1.0,
    }
    assert "todavía no ha llegado" in spanish["messages"][0]["text"]
    # "todavía no ha llegado" is a complaint; "I would like a refund" a request.
    assert (spanish["intent"], english["intent"]) == ("complaint", "request")
    assert spanish["triage"]["intent_cues"][0] == "complaint: todavia no"
    assert len(smtp_server.wait_for(2)) == 2

    shown = ok(mailbot(env, "tickets", "show", english["ref"], "--json"))
    assert json.loads(shown.stdout) == english
    shown_lower = ok(mailbot(env, "tickets", "show", english["ref"].lower(), "--json"))
    assert json.loads(shown_lower.stdout) == english

    missing = mailbot(env, "tickets", "show", "NOPE", "--json")
    assert missing.returncode != 0
    assert missing.stdout == ""
    assert "NOPE" in missing.stderr


def test_a_display_name_posing_as_an_address_is_shown_and_never_answered(
    fresh_env: dict[str, str],
    dovecot: DovecotServer,
    smtp_server: SmtpSink,
    mailbox_user: tuple[str, str],
) -> None:
    env = fresh_env
    user, password = mailbox_user
    ok(mailbot(env, "db", "upgrade"))
    imap = f"imap://{user}:{password}@127.0.0.1:{dovecot.imap_port}/INBOX"
    smtp = f"smtp://127.0.0.1:{smtp_server.port}"
    ok(
        mailbot(
            env, "mailbox", "add", "support", "--imap", imap, "--smtp", smtp, "--address", "support@acme.test"
        )
    )
    # Unquoted, as a spoofer writes it: the stdlib parser takes alice for the address.
    spoofed = customer_mail("spoof@mail.evil.test", sender="alice@example.com <bob@example.com>")
    dovecot.append(user, password, spoofed)
    ok(mailbot(env, "poll", "--once"))
    ok(mailbot(env, "worker", "--burst"))

    [ticket] = json.loads(ok(mailbot(env, "tickets", "list", "--json")).stdout)
    assert ticket["contact"] == {
        "name": "",
        "email": "bob@example.com",
        "identities": [{"type": "email", "value": "bob@example.com"}],
    }
    shown = json.loads(ok(mailbot(env, "tickets", "show", ticket["ref"], "--json")).stdout)
    [message] = shown["messages"]
    assert message["from"] == "bob@example.com"
    [warning] = message["warnings"]
    assert "alice@example.com" in warning and "bob@example.com" in warning
    [ack] = smtp_server.wait_for(1)
    assert ack.rcpt_tos == ["bob@example.com"]  # the acknowledgement reached bob, and only bob
    assert ack.message["To"] == "bob@example.com"
    assert "alice" not in ack.raw.decode("utf-8", "replace")  # not even in the greeting


def test_mailbox_add_refuses_bad_input_clearly(
    mailbot_env: dict[str, str],
    dovecot: DovecotServer,
    smtp_server: SmtpSink,
    mailbox_user: tuple[str, str],
) -> None:
    user, password = mailbox_user
    imap = f"imap://{user}:{password}@127.0.0.1:{dovecot.imap_port}/INBOX"
    smtp = smtp_server.smtp_url()
    cases = {
        "imap://": ("--imap", f"ftp://{user}:{password}@127.0.0.1/INBOX", "--smtp", smtp),
        "bad port": ("--imap", f"imap://{user}:{password}@127.0.0.1:99999/INBOX", "--smtp", smtp),
        "needs a user": ("--imap", f"imap://127.0.0.1:{dovecot.imap_port}/INBOX", "--smtp", smtp),
        "smtp://": ("--imap", imap, "--smtp", "http://127.0.0.1:25"),
        "not an e-mail address": ("--imap", imap, "--smtp", smtp, "--address", "support"),
    }

    def attempt(args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
        if "--address" not in args:
            args = (*args, "--address", "support@acme.test")
        return mailbot(mailbot_env, "mailbox", "add", "support", *args)

    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        results = dict(zip(cases, pool.map(attempt, cases.values()), strict=True))
    for expected, result in results.items():
        assert result.returncode != 0, expected
        assert result.stdout == "", expected
        assert expected in result.stderr, (expected, result.stderr)
        assert "Traceback" not in result.stderr

    ok(attempt(("--imap", imap, "--smtp", smtp)))
    twice = attempt(("--imap", imap, "--smtp", smtp))
    assert twice.returncode != 0 and "already exists" in twice.stderr
    listed = json.loads(ok(mailbot(mailbot_env, "mailbox", "list", "--json")).stdout)
    assert [m["name"] for m in listed] == ["support"]
    assert password not in json.dumps(listed)  # never the secrets


def test_poll_once_exits_non_zero_when_a_mailbox_fails(
    mailbot_env: dict[str, str],
    dovecot: DovecotServer,
    smtp_server: SmtpSink,
    mailbox_user: tuple[str, str],
) -> None:
    user, _ = mailbox_user
    ok(
        mailbot(
            mailbot_env,
            "mailbox",
            "add",
            "broken",
            "--imap",
            f"imap://{user}:wrong@127.0.0.1:{dovecot.imap_port}/INBOX",
            "--smtp",
            smtp_server.smtp_url(),
            "--address",
            "support@acme.test",
        )
    )
    result = mailbot(mailbot_env, "poll", "--once")
    assert result.stdout == ""
    assert result.returncode != 0
    assert "mailbox broken:" in result.stderr and "AUTHENTICATIONFAILED" in result.stderr


def _desk_with_mail(
    env: dict[str, str],
    dovecot: DovecotServer,
    smtp_server: SmtpSink,
    mailbox_user: tuple[str, str],
    *mails: bytes,
) -> None:
    user, password = mailbox_user
    ok(
        mailbot(
            env,
            "mailbox",
            "add",
            "support",
            "--imap",
            f"imap://{user}:{password}@127.0.0.1:{dovecot.imap_port}/INBOX",
            "--smtp",
            smtp_server.smtp_url(),
            "--address",
            "support@acme.test",
        )
    )
    for raw in mails:
        dovecot.append(user, password, raw)
        ok(mailbot(env, "poll", "--once"))
        ok(mailbot(env, "worker", "--burst"))


def _audit_actions(env: dict[str, str]) -> list[tuple[str, str]]:
    from sqlalchemy import create_engine, select

    from mailbot.store.panel_models import AuditEntry

    engine = create_engine(env["MAILBOT_DATABASE_URL"])
    try:
        with engine.connect() as connection:
            return [
                (r.action, r.actor) for r in connection.execute(select(AuditEntry.action, AuditEntry.actor))
            ]
    finally:
        engine.dispose()


def test_tickets_split_moves_one_message_into_a_new_ticket_and_sends_nothing(
    mailbot_env: dict[str, str], dovecot: DovecotServer, smtp_server: SmtpSink, mailbox_user: tuple[str, str]
) -> None:
    env = mailbot_env
    reply = customer_mail(
        "cli-reply@mail.gmail.test",
        subject="Re: Mi pedido no ha llegado",
        body="Otra cosa: quiero cambiar la dirección de facturación.",
        extra_headers="In-Reply-To: <cli-first@mail.gmail.test>\r\n",
    )
    _desk_with_mail(
        env, dovecot, smtp_server, mailbox_user, customer_mail("cli-first@mail.gmail.test"), reply
    )
    [ticket] = json.loads(ok(mailbot(env, "tickets", "list", "--json")).stdout)
    assert [m["message_id"] for m in ticket["messages"]] == [
        "cli-first@mail.gmail.test",
        "cli-reply@mail.gmail.test",
    ]
    sent_before = len(smtp_server.received)

    split = ok(mailbot(env, "tickets", "split", ticket["ref"].lower(), "<cli-reply@mail.gmail.test>"))
    new_ref = split.stdout.strip()
    assert split.stdout == new_ref + "\n" and new_ref != ticket["ref"]  # stdout is the ref alone

    tickets = {t["ref"]: t for t in json.loads(ok(mailbot(env, "tickets", "list", "--json")).stdout)}
    assert set(tickets) == {ticket["ref"], new_ref}
    assert [m["message_id"] for m in tickets[ticket["ref"]]["messages"]] == ["cli-first@mail.gmail.test"]
    [moved] = tickets[new_ref]["messages"]
    assert moved["message_id"] == "cli-reply@mail.gmail.test"
    assert moved["thread_reason"].startswith(f"split out of {ticket['ref']} by cli")
    assert tickets[new_ref]["contact"] == tickets[ticket["ref"]]["contact"]
    ok(mailbot(env, "worker", "--burst"))
    assert len(smtp_server.received) == sent_before  # no second acknowledgement
    assert ("ticket.split", moved["thread_reason"].rpartition(" by ")[2]) in _audit_actions(env)

    for args, expected in (
        (("NOPE-123", "cli-reply@mail.gmail.test"), "no ticket NOPE-123"),
        ((new_ref, "<nobody@nowhere.test>"), f"{new_ref} has no message nobody@nowhere.test"),
        ((new_ref, "cli-reply@mail.gmail.test"), "only message"),  # nothing to split it from
    ):
        result = mailbot(env, "tickets", "split", *args)
        assert result.returncode != 0 and result.stdout == "", args
        assert expected in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_contacts_merge_and_unmerge_from_the_command_line(
    mailbot_env: dict[str, str], dovecot: DovecotServer, smtp_server: SmtpSink, mailbox_user: tuple[str, str]
) -> None:
    env = mailbot_env
    work = customer_mail(
        "cli-work@mail.work.test", sender="Ana García <ana@work.test>", subject="Factura de noviembre"
    )
    _desk_with_mail(env, dovecot, smtp_server, mailbox_user, customer_mail("cli-home@mail.gmail.test"), work)

    def contacts_by_subject() -> dict[str, dict]:
        listed = json.loads(ok(mailbot(env, "tickets", "list", "--json")).stdout)
        return {t["subject"]: t["contact"] for t in listed}

    before = contacts_by_subject()
    assert before["Factura de noviembre"]["email"] == "ana@work.test"

    merged = ok(mailbot(env, "contacts", "merge", "ana.garcia@gmail.test", "ana@work.test"))
    merge_id = merged.stdout.strip()
    assert merge_id.isdigit()
    after = contacts_by_subject()
    assert after["Factura de noviembre"] == after["Mi pedido no ha llegado"]
    assert after["Factura de noviembre"]["email"] == "ana.garcia@gmail.test"
    assert after["Factura de noviembre"]["identities"] == [
        {"type": "email", "value": "ana.garcia@gmail.test"},
        {"type": "email", "value": "ana@work.test"},
    ]

    restored = ok(mailbot(env, "contacts", "unmerge", merge_id))
    assert restored.stdout.strip().isdigit()
    assert contacts_by_subject() == before
    again = mailbot(env, "contacts", "unmerge", merge_id)
    assert again.returncode != 0 and "already undone" in again.stderr and again.stdout == ""
    unknown = mailbot(env, "contacts", "merge", "ana.garcia@gmail.test", "nobody@example.test")
    assert unknown.returncode != 0 and "no contact 'nobody@example.test'" in unknown.stderr
    actions = [a for a, actor in _audit_actions(env) if actor.startswith("cli")]
    assert actions == ["contact.merge", "contact.unmerge"]


def test_delivery_targets_from_the_command_line(fresh_env: dict[str, str]) -> None:
    """Issue 10's contract: `mailbot delivery add QUEUE --email | --slack --channel-id | --webhook`."""
    env = fresh_env
    ok(mailbot(env, "db", "upgrade"))
    ok(mailbot(env, "channel", "add", "slack", "acme", "--secret", "signing", "--token", "xoxb-1"))
    by_mail = ok(mailbot(env, "delivery", "add", "support", "--email", "Team@Acme.test"))
    by_slack = ok(mailbot(env, "delivery", "add", "support", "--slack", "acme", "--channel-id", "C0TEAM0001"))
    by_hook = ok(
        mailbot(
            env, "delivery", "add", "billing", "--webhook", "https://crm.example.test/in", "--secret", "s3"
        )
    )
    ids = [int(r.stdout.strip()) for r in (by_mail, by_slack, by_hook)]  # stdout: the id alone
    listed = json.loads(ok(mailbot(env, "delivery", "list", "--json")).stdout)
    assert [(t["id"], t["queue"], t["kind"], t["address"]) for t in listed] == [
        (ids[2], "billing", "webhook", "https://crm.example.test/in"),
        (ids[0], "support", "email", "team@acme.test"),
        (ids[1], "support", "slack", "C0TEAM0001"),
    ]
    assert "s3" not in json.dumps(listed)  # the secret never comes back

    for args, says in (
        (("--email", "team@acme.test"), "already delivers"),
        (("--email", "not an address"), "not one e-mail address"),
        (("--slack", "nope", "--channel-id", "C0TEAM0001"), "no slack channel named 'nope'"),
        (("--slack", "acme"), "--channel-id"),
        (("--slack", "acme", "--channel-id", "general"), "not a Slack channel id"),
        (("--webhook", "https://crm.example.test/in"), "--secret"),
        (("--webhook", "ftp://crm.example.test", "--secret", "x"), "not an http(s) URL"),
        (("--email", "a@b.test", "--webhook", "https://x.test", "--secret", "x"), "exactly one"),
        ((), "exactly one"),
    ):
        refused = mailbot(env, "delivery", "add", "support", *args)
        assert refused.returncode != 0 and refused.stdout == "", args
        assert says in refused.stderr, (args, refused.stderr)

    ok(mailbot(env, "delivery", "remove", str(ids[0])))
    assert [t["id"] for t in json.loads(ok(mailbot(env, "delivery", "list", "--json")).stdout)] == ids[2:0:-1]
    gone = mailbot(env, "delivery", "remove", str(ids[0]))
    assert gone.returncode != 0 and f"no delivery target {ids[0]}" in gone.stderr


SLA_EXAMPLE = {
    "timezone": "Europe/Madrid",
    "business_hours": {"mon": ["09:00", "18:00"], "tue": ["09:00", "18:00"]},
    "holidays": "ES",
    "policies": [
        {
            "name": "social",
            "channels": ["x", "whatsapp"],
            "priorities": ["urgent", "high"],
            "first_response_minutes": 120,
            "escalate": [{"after_minutes": 90, "notify": "mailto:leads@example.com", "raise_priority": True}],
        },
        {"name": "mail", "channels": ["email"], "first_response_minutes": 240, "around_the_clock": True},
    ],
}


def test_sla_import_replaces_the_configuration_and_new_tickets_follow_it(
    fresh_env: dict[str, str],
    dovecot: DovecotServer,
    smtp_server: SmtpSink,
    mailbox_user: tuple[str, str],
    tmp_path: Path,
) -> None:
    """Issue 9's contract: `mailbot sla import FILE.json` replaces the SLA configuration;
    a bad file exits non-zero with the reason and changes nothing."""
    env = fresh_env
    ok(mailbot(env, "db", "upgrade"))
    builtin = json.loads(ok(mailbot(env, "sla", "show")).stdout)
    assert [p["first_response_minutes"] for p in builtin["policies"]] == [24 * 60, 120]

    path = tmp_path / "sla.json"
    path.write_text(json.dumps(SLA_EXAMPLE), encoding="utf-8")
    imported = ok(mailbot(env, "sla", "import", str(path)))
    assert imported.stdout == "" and "2 SLA policies imported" in imported.stderr
    assert json.loads(ok(mailbot(env, "sla", "show")).stdout) == SLA_EXAMPLE

    for name, content, says in (
        ("broken.json", "{", "broken.json"),
        ("zone.json", json.dumps({**SLA_EXAMPLE, "timezone": "Europe/Atlantis"}), "unknown time zone"),
        (
            "notify.json",
            json.dumps(
                {
                    "policies": [
                        {
                            "name": "p",
                            "first_response_minutes": 5,
                            "escalate": [{"after_minutes": 1, "notify": "sms:+34600"}],
                        }
                    ]
                }
            ),
            "neither mailto:ADDRESS nor slack:CHANNEL_ID",
        ),
        ("minutes.json", json.dumps({"policies": [{"name": "p"}]}), "first_response_minutes"),
    ):
        bad = tmp_path / name
        bad.write_text(content, encoding="utf-8")
        refused = mailbot(env, "sla", "import", str(bad))
        assert refused.returncode != 0 and refused.stdout == "", name
        assert says in refused.stderr, (name, refused.stderr)
    missing = mailbot(env, "sla", "import", str(tmp_path / "nope.json"))
    assert missing.returncode != 0 and "nope.json" in missing.stderr
    assert json.loads(ok(mailbot(env, "sla", "show")).stdout) == SLA_EXAMPLE  # unchanged

    user, password = mailbox_user
    ok(
        mailbot(
            env,
            "mailbox",
            "add",
            "support",
            "--imap",
            f"imap://{user}:{password}@127.0.0.1:{dovecot.imap_port}/INBOX",
            "--smtp",
            f"smtp://127.0.0.1:{smtp_server.port}",
            "--address",
            "support@acme.test",
        )
    )
    dovecot.append(
        user,
        password,
        customer_mail(
            "sla1@mail.outlook.test",
            sender="John Smith <john.smith@outlook.test>",
            subject="Refund for a damaged parcel",
            body="Hello, my parcel arrived damaged and I would like a refund, please.",
        ),
    )
    ok(mailbot(env, "poll", "--once"))
    ok(mailbot(env, "worker", "--burst"))
    [ticket] = json.loads(ok(mailbot(env, "tickets", "list", "--json")).stdout)
    due, created = datetime.fromisoformat(ticket["sla_due_at"]), datetime.fromisoformat(ticket["created_at"])
    assert due - created == timedelta(hours=4)  # the "mail" policy, around the clock
    assert ticket["escalations"] == []
    [ack] = smtp_server.wait_for(1)
    assert "within 4 hours" in ack.message.get_content()  # the promise follows the policy
def test_canned_responses_from_the_command_line(fresh_env: dict[str, str], tmp_path: Path) -> None:
    """`mailbot canned import FILE` (JSON Lines {"name", "lang", "text"}; the same name and
    lang replaces), `list --json`, `remove`; a bad file keeps nothing and says which line."""
    env = fresh_env
    ok(mailbot(env, "db", "upgrade"))
    first = tmp_path / "canned.jsonl"
    spanish = "Hola {customer_first_name}: desbloquee la tarjeta en la app ({ref})."
    english = "Hello {customer_first_name}, unblock the card in the app ({ref})."
    first.write_text(
        "".join(
            json.dumps({"name": "card-blocked", "lang": lang, "text": text}, ensure_ascii=False) + "\n"
            for lang, text in (("es", spanish), ("en", english))
        ),
        encoding="utf-8",
    )
    assert ok(mailbot(env, "canned", "import", str(first))).stdout == "2 created, 0 updated\n"
    again = tmp_path / "again.jsonl"
    again.write_text('{"name": "card-blocked", "lang": "en", "text": "Hi {customer_name}, see the app."}\n')
    assert ok(mailbot(env, "canned", "import", str(again))).stdout == "0 created, 1 updated\n"
    listed = [json.loads(line) for line in ok(mailbot(env, "canned", "list", "--json")).stdout.splitlines()]
    assert listed == [
        {"name": "card-blocked", "lang": "en", "text": "Hi {customer_name}, see the app."},
        {"name": "card-blocked", "lang": "es", "text": spanish},
    ]

    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"name": "refund", "lang": "fr", "text": "Bonjour"}\n{"name": "x", "lang": "de", "text": "{oops}"}\n'
    )
    refused = mailbot(env, "canned", "import", str(bad))
    assert (
        refused.returncode != 0
        and "line 2" in refused.stderr
        and "unknown placeholder {oops}" in refused.stderr
    )
    assert "Traceback" not in refused.stderr
    assert "refund" not in ok(mailbot(env, "canned", "list")).stdout  # nothing of the bad file kept

    ok(mailbot(env, "canned", "remove", "card-blocked", "--lang", "en"))
    assert [
        json.loads(x)["lang"] for x in ok(mailbot(env, "canned", "list", "--json")).stdout.splitlines()
    ] == ["es"]
    gone = mailbot(env, "canned", "remove", "card-blocked", "--lang", "en")
    assert gone.returncode != 0 and "no canned response card-blocked in en" in gone.stderr


def test_tickets_handoff_tells_the_customer_once_and_keeps_the_note_inside(
    mailbot_env: dict[str, str], dovecot: DovecotServer, smtp_server: SmtpSink, mailbox_user: tuple[str, str]
) -> None:
    env = mailbot_env
    _desk_with_mail(env, dovecot, smtp_server, mailbox_user, customer_mail("cli-handoff@mail.gmail.test"))
    [ticket] = json.loads(ok(mailbot(env, "tickets", "list", "--json")).stdout)
    ref = ticket["ref"]
    smtp_server.wait_for(1)  # the acknowledgement
    ok(mailbot(env, "admin", "create", "li@acme.test", "--password", "specialist pw 1", "--role", "agent"))

    handed = ok(
        mailbot(
            env,
            "tickets",
            "handoff",
            ref,
            "--queue",
            "shipping",
            "--to",
            "li@acme.test",
            "--note",
            "Claim it.",
        )
    )
    assert handed.stdout == "li@acme.test (shipping)\n"
    ok(mailbot(env, "worker", "--burst"))
    ok(mailbot(env, "worker", "--burst"))
    [ack, notice] = smtp_server.wait_for(2)
    assert len(smtp_server.received) == 2 and notice.rcpt_tos == ["ana.garcia@gmail.test"]
    assert "en manos de un especialista" in notice.message.get_content()
    assert "Claim it." not in notice.message.get_content()

    [ticket] = json.loads(ok(mailbot(env, "tickets", "list", "--json")).stdout)
    assert (ticket["queue"], ticket["assignee"]) == ("shipping", "li@acme.test")
    [note] = [m for m in ticket["messages"] if m["kind"] == "note"]
    assert note["text"] == "Handed to li@acme.test (shipping): Claim it." and note["sender"]["type"] == "cli"

    for args, says in (
        ((ref, "--queue", "shipping", "--to", "li@acme.test"), "already with li@acme.test (shipping)"),
        ((ref, "--to", "stranger@evil.test"), "stranger@evil.test is not an agent"),
        ((ref, "--note", "only a note"), "name the specialist queue"),
        (("MB-NOSUCH", "--queue", "billing"), "no ticket MB-NOSUCH"),
    ):
        refused = mailbot(env, "tickets", "handoff", *args)
        assert refused.returncode != 0 and refused.stdout == "", args
        assert says in refused.stderr and "Traceback" not in refused.stderr, refused.stderr


FAQ_LINES = [
    {
        "id": "es-password",
        "lang": "es",
        "question": "¿Cómo restablezco mi contraseña?",
        "answer": "En la página de acceso pulsa «¿Has olvidado la contraseña?» y sigue el enlace del correo.",
        "url": "https://help.acme.test/es/contrasena",
    },
    {
        "id": "es-invoice",
        "lang": "es",
        "question": "¿Dónde descargo mi factura?",
        "answer": "Las facturas están en Cuenta, Facturas, en PDF.",
    },
    {
        "id": "en-password",
        "lang": "en",
        "question": "How do I reset my password?",
        "answer": "Choose 'Forgot password' on the login page.",
    },
]


def _jsonl(entries: list[dict[str, str]]) -> str:
    return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries)


def test_faq_import_adds_and_updates_by_id_and_the_ticket_names_what_it_suggested(
    fresh_env: dict[str, str],
    dovecot: DovecotServer,
    smtp_server: SmtpSink,
    mailbox_user: tuple[str, str],
    tmp_path: Path,
) -> None:
    env = fresh_env
    user, password = mailbox_user
    ok(mailbot(env, "db", "upgrade"))
    faq_file = tmp_path / "faq.jsonl"
    faq_file.write_text(_jsonl(FAQ_LINES), encoding="utf-8")
    imported = ok(mailbot(env, "faq", "import", str(faq_file)))
    assert imported.stdout == "" and "3 added" in imported.stderr

    # Again, with one answer changed and one entry new: same ids update, nothing doubles.
    changed = [{**FAQ_LINES[0], "answer": "Pulsa «¿Has olvidado la contraseña?» en la página de acceso."}]
    extra = {
        "id": "es-shipping",
        "lang": "es",
        "question": "¿Cuánto tarda el envío?",
        "answer": "2 a 4 días.",
    }
    faq_file.write_text(_jsonl([*changed, extra]), encoding="utf-8")
    again = ok(mailbot(env, "faq", "import", str(faq_file)))
    assert "1 added, 1 updated" in again.stderr
    listed = [json.loads(line) for line in ok(mailbot(env, "faq", "list")).stdout.splitlines()]
    assert sorted(e["id"] for e in listed) == ["en-password", "es-invoice", "es-password", "es-shipping"]
    assert next(e for e in listed if e["id"] == "es-password")["answer"] == changed[0]["answer"]

    # A bad line refuses the whole file, names the line, and imports nothing.
    faq_file.write_text(_jsonl([{**extra, "id": "es-new"}]) + '{"id": "x", "lang": "es"}\n', encoding="utf-8")
    refused = mailbot(env, "faq", "import", str(faq_file))
    assert refused.returncode != 0 and refused.stdout == ""
    assert "line 2" in refused.stderr and "question" in refused.stderr and "Traceback" not in refused.stderr
    assert "es-new" not in ok(mailbot(env, "faq", "list")).stdout

    imap = f"imap://{user}:{password}@127.0.0.1:{dovecot.imap_port}/INBOX"
    ok(
        mailbot(
            env,
            "mailbox",
            "add",
            "support",
            "--imap",
            imap,
            "--smtp",
            f"smtp://127.0.0.1:{smtp_server.port}",
            "--address",
            "support@acme.test",
        )
    )
    dovecot.append(
        user,
        password,
        customer_mail(
            "faq1@mail.gmail.test",
            subject="No puedo entrar",
            body="Hola, olvidé mi contraseña y no puedo entrar. ¿Cómo la restablezco?",
        ),
    )
    dovecot.append(
        user,
        password,
        customer_mail(
            "faq2@mail.gmail.test",
            sender="Luis <luis@gmail.test>",
            subject="Gracias",
            body="Muchas gracias por la ayuda con mi contraseña, todo perfecto.",
        ),
    )
    ok(mailbot(env, "poll", "--once"))
    ok(mailbot(env, "worker", "--burst"))
    tickets = {
        t["contact"]["email"]: t for t in json.loads(ok(mailbot(env, "tickets", "list", "--json")).stdout)
    }
    question, thanks = tickets["ana.garcia@gmail.test"], tickets["luis@gmail.test"]
    assert question["suggested_faq"] == ["es-password"]
    assert (thanks["intent"], thanks["suggested_faq"]) == ("praise", [])  # never for thanks
    assert question["satisfaction_score"] is None
    acks = {m.rcpt_tos[0]: m for m in smtp_server.wait_for(2)}
    body = acks["ana.garcia@gmail.test"].message.get_content()
    assert "¿Cómo restablezco mi contraseña?" in body and "https://help.acme.test/es/contrasena" in body
    assert "/feedback/faq/" + question["ref"] + "/es-password/yes/" in body
    assert "/feedback/faq/" not in acks["luis@gmail.test"].message.get_content()
