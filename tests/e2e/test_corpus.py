"""The corpus under tests/corpus/, end to end: each .eml is appended into Dovecot in order,
polled and processed by the real pipeline; its side file says what must have happened
(ticket, kind, acknowledgement, contact, language, stored text). See tests/corpus/README.md."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mailbot.devservers.dovecot import DovecotServer
from mailbot.devservers.redis_instance import RedisInstance
from mailbot.devservers.smtp_sink import SmtpSink
from mailbot.pipeline.refs import ack_message_id, reply_address
from mailbot.runtime import current_runtime
from mailbot.store.models import Inbound, Message, OutboxEntry, Ticket
from tests.fixtures.mail import Desk

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
CASES = sorted(p.stem for p in CORPUS.glob("*.eml"))
PLACEHOLDER = re.compile(r"\{\{(ref|ack_message_id|reply_address|sent_ack):([\w-]+)\}\}")

pytestmark = pytest.mark.slow


@dataclass
class CaseResult:
    inbound_status: str = ""
    verdict: str | None = None
    reason: str | None = None
    error: str | None = None
    ticket_ref: str | None = None
    ticket_is_new: bool = False
    contact_email: str | None = None
    language: str | None = None
    text: str | None = None
    acks_to: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    forwarded_by: str | None = None
    forward_note: str | None = None
    forwarded_from: str | None = None


@dataclass
class CorpusRun:
    results: dict[str, CaseResult]
    refs: dict[str, str]
    outbox_status_by_ref: dict[str, str]


def _substitute(raw: bytes, refs: dict[str, str], secret_key: str, sent_acks: dict[str, bytes]) -> bytes:
    text = raw.decode("latin-1")
    line_end = "\r\n" if "\r\n" in text else "\n"

    def replace(match: re.Match[str]) -> str:
        kind, case = match.groups()
        ref = refs[case]
        if kind == "ref":
            return ref
        if kind == "ack_message_id":
            return ack_message_id(secret_key, ref, "support@acme.test")
        if kind == "sent_ack":
            # The acknowledgement exactly as the SMTP sink received it, in the case's line ends.
            assert ref in sent_acks, f"no acknowledgement of {case} reached the SMTP sink"
            return sent_acks[ref].decode("latin-1").replace("\r\n", "\n").replace("\n", line_end)
        return reply_address(secret_key, "support@acme.test", ref)

    return PLACEHOLDER.sub(lambda m: replace(m), text).encode("latin-1")


def _sent_acks(desk: Desk) -> dict[str, bytes]:
    """Ticket ref -> the bytes of its acknowledgement, as the SMTP sink received them."""
    acks: dict[str, bytes] = {}
    for mail in desk.smtp.received:
        key = str(mail.message.get("X-Mailbot-Outbox", ""))
        if key.startswith("ack:"):
            acks.setdefault(key.removeprefix("ack:"), mail.raw)
    return acks


@pytest.fixture(scope="module")
def corpus_run(
    dovecot: DovecotServer, redis_server: RedisInstance, sqlite_template: Path
) -> Iterator[CorpusRun]:
    data_dir = Path(tempfile.mkdtemp(prefix="mailbot-corpus-"))
    shutil.copy(sqlite_template, data_dir / "mailbot.sqlite3")
    redis_server.flush()
    with pytest.MonkeyPatch.context() as patch, SmtpSink() as smtp:
        patch.setenv("MAILBOT_DATABASE_URL", f"sqlite:///{data_dir / 'mailbot.sqlite3'}")
        patch.setenv("MAILBOT_REDIS_URL", redis_server.url)
        patch.setenv("MAILBOT_DATA_DIR", str(data_dir))
        patch.setenv("MAILBOT_SECRET_KEY", "corpus-" + uuid.uuid4().hex)
        runtime = current_runtime()
        desk = Desk(runtime, dovecot, smtp)
        mailboxes = {
            "support": desk.add_mailbox("support", "support@acme.test"),
            "ventas": desk.add_mailbox("ventas", "ventas@acme.test"),
        }
        yield _run_cases(desk, mailboxes)
    shutil.rmtree(data_dir, ignore_errors=True)


def _run_cases(desk: Desk, mailboxes: dict[str, tuple[str, str]]) -> CorpusRun:
    refs: dict[str, str] = {}
    results: dict[str, CaseResult] = {}
    for case in CASES:
        expected = json.loads((CORPUS / f"{case}.json").read_text())
        raw = _substitute(
            (CORPUS / f"{case}.eml").read_bytes(), refs, desk.runtime.settings.secret_key, _sent_acks(desk)
        )
        user, password = mailboxes[expected.get("mailbox", "support")]
        sent_before = len(desk.smtp.received)
        uid = desk.dovecot.append(user, password, raw)
        desk.run()
        result = CaseResult(acks_to=[r for m in desk.smtp.received[sent_before:] for r in m.rcpt_tos])
        with desk.runtime.sessions() as session:
            inbound = session.scalar(
                select(Inbound).where(Inbound.imap_uid == uid).order_by(Inbound.id.desc()).limit(1)
            )
            assert inbound is not None, f"{case}: not imported"
            result.inbound_status, result.verdict, result.reason, result.error = (
                inbound.status,
                inbound.verdict,
                inbound.verdict_reason,
                inbound.error,
            )
            ticket = session.get(Ticket, inbound.ticket_id) if inbound.ticket_id else None
            if ticket is not None:
                first = session.scalar(
                    select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id)
                )
                result.ticket_ref = ticket.ref
                result.ticket_is_new = first is not None and first.inbound_id == inbound.id
                result.contact_email, result.language = ticket.contact.email, ticket.language
                if result.ticket_is_new:
                    refs[case] = ticket.ref
            own = session.scalar(select(Message).where(Message.inbound_id == inbound.id))
            result.text = own.text if own else None
            if own is not None:
                result.warnings = list(own.warnings or [])
                result.forwarded_by, result.forward_note = own.forwarded_by, own.forward_note
                result.forwarded_from = own.forwarded_from
        results[case] = result
    with desk.runtime.sessions() as session:
        statuses = {
            ticket.ref: entry.status
            for entry, ticket in session.execute(
                select(OutboxEntry, Ticket).join(Ticket, OutboxEntry.ticket_id == Ticket.id)
            )
        }
    return CorpusRun(results, refs, statuses)


def test_corpus_is_large_and_varied() -> None:
    expectations = [json.loads((CORPUS / f"{c}.json").read_text()) for c in CASES]
    kinds = {e["kind"] for e in expectations}
    assert len(CASES) >= 60
    assert {"customer", "auto_reply", "bounce", "duplicate", "own_echo", "quarantined"} <= kinds
    assert {e.get("language") for e in expectations} >= {"es", "it", "en", "pt", "fr", "de"}


@pytest.mark.parametrize("case", CASES)
def test_corpus_case(case: str, corpus_run: CorpusRun) -> None:
    expected: dict[str, Any] = json.loads((CORPUS / f"{case}.json").read_text())
    got = corpus_run.results[case]
    context = f"{expected['description']}\n got: {got}"
    kind = expected["kind"]

    if kind == "quarantined":
        assert got.inbound_status == "quarantined" and got.error, context
    elif kind == "duplicate":
        assert got.inbound_status == "duplicate", context
    elif kind == "own_echo":
        assert got.inbound_status == "ignored" and got.verdict == "own_echo", context
    else:
        assert got.inbound_status == "processed" and got.verdict == kind, context

    target = expected["ticket"]
    if target == "new":
        assert got.ticket_is_new, context
        assert got.contact_email == expected["contact_email"], context
        assert got.language == expected["language"], context
    elif target.startswith("thread:"):
        assert got.ticket_ref == corpus_run.refs[target.split(":", 1)[1]], context
        assert not got.ticket_is_new, context
    elif target == "none" and kind != "duplicate":
        assert got.ticket_ref is None, context

    if expected["acknowledged"]:
        assert got.acks_to == [expected.get("contact_email") or got.contact_email], context
    else:
        assert got.acks_to == [], context

    for snippet in expected.get("text_contains", []):
        assert got.text is not None and snippet in got.text, f"{snippet!r} missing; {context}"
    for snippet in expected.get("reason_contains", []):
        assert got.reason is not None and snippet in got.reason, f"{snippet!r} not in reason; {context}"
    for snippet in expected.get("text_excludes", []):
        assert got.text is None or snippet not in got.text, f"{snippet!r} kept; {context}"
    # Stored on the message for the agent: display-name warnings, staff forwards, customer forwards.
    for snippet in expected.get("warnings_contain", []):
        assert any(snippet in warning for warning in got.warnings), f"{snippet!r} not warned; {context}"
    if "warnings_contain" not in expected:
        assert got.warnings == [], context
    if "forwarded_by" in expected:
        assert got.forwarded_by == expected["forwarded_by"], context
    for snippet in expected.get("forward_note_contains", []):
        assert got.forward_note is not None and snippet in got.forward_note, f"{snippet!r} missing; {context}"
    if "forwarded_from" in expected:
        assert got.forwarded_from == expected["forwarded_from"], context
    if "ack_failed_for" in expected:
        ref = corpus_run.refs[expected["ack_failed_for"]]
        assert corpus_run.outbox_status_by_ref[ref] == "bounced", context
