"""Whether a message earns an acknowledgement, and what the acknowledgement says."""

from __future__ import annotations

import os
from typing import Any

import pytest

from mailbot.ack_templates import available_languages, choose_language, render_ack
from mailbot.message import InboundMessage
from mailbot.pipeline.acknowledge import AckDecision, build_ack, decide_ack
from mailbot.pipeline.refs import ack_message_id, ref_from_reply_address
from mailbot.runtime import Runtime
from mailbot.store.models import OutboxEntry, Ticket

BASE = dict(kind="customer", new_ticket=True, may_acknowledge=True, hold_reason=None, cap_reason=None)


def decide(**changes: object) -> AckDecision:
    return decide_ack(**{**BASE, **changes})  # type: ignore[arg-type]


def test_a_new_ticket_from_a_person_is_acknowledged() -> None:
    decision = decide()
    assert decision.send is True
    assert decision.reason == "new ticket from a person"


@pytest.mark.parametrize("kind", ["auto_reply", "bounce", "own_echo", "agent"])
def test_machines_and_ourselves_are_never_acknowledged(kind: str) -> None:
    decision = decide(kind=kind)
    assert decision.send is False
    assert kind in decision.reason


def test_a_message_that_continues_a_ticket_is_not_acknowledged() -> None:
    decision = decide(new_ticket=False)
    assert decision.send is False and "continues" in decision.reason


def test_history_is_not_acknowledged() -> None:
    decision = decide(may_acknowledge=False)
    assert decision.send is False and "history" in decision.reason


def test_a_held_sender_is_not_acknowledged_and_the_hold_says_why() -> None:
    decision = decide(hold_reason="31 messages from x@y within the window: held for review")
    assert decision == AckDecision(False, "31 messages from x@y within the window: held for review")


def test_a_rate_cap_stops_the_acknowledgement() -> None:
    decision = decide(cap_reason="10 acknowledgements to x@y already in the window")
    assert decision.send is False
    assert decision.reason == "rate cap: 10 acknowledgements to x@y already in the window"


def test_the_first_reason_that_applies_is_the_one_given() -> None:
    everything = dict(new_ticket=False, may_acknowledge=False, hold_reason="held", cap_reason="capped")
    assert "auto_reply" in decide(kind="auto_reply", **everything).reason
    assert "continues" in decide(**everything).reason
    assert "history" in decide(**{**everything, "new_ticket": True}).reason
    assert decide(**{**everything, "new_ticket": True, "may_acknowledge": True}).reason == "held"


HOURS_WORD = {"en": "hours", "es": "horas", "it": "ore", "pt": "horas", "fr": "heures", "de": "Stunden"}


def test_every_documented_language_has_a_template() -> None:
    assert set(HOURS_WORD) <= set(available_languages())


@pytest.mark.parametrize("language", sorted(HOURS_WORD))
def test_each_language_names_the_ref_and_the_response_time(language: str) -> None:
    subject, body = render_ack(
        language, {"ref": "MB-7K3Q9P", "name": "Ana", "subject": "Mi pedido", "response_hours": 8}
    )
    assert subject == "[#MB-7K3Q9P] Mi pedido"
    assert "\n" not in subject
    assert body.count("MB-7K3Q9P") >= 2  # in the text and on its own reference line
    assert f"8 {HOURS_WORD[language]}" in body
    assert "Ana" in body.splitlines()[0]
    assert body.endswith("\n")


@pytest.mark.parametrize("language", sorted(HOURS_WORD))
def test_a_sender_without_a_name_is_greeted_without_a_gap(language: str) -> None:
    _, body = render_ack(language, {"ref": "MB-7K3Q9P", "name": "", "subject": "x", "response_hours": 24})
    first = body.splitlines()[0]
    assert "  " not in first and not first[:-1].endswith(" ")


def test_a_multi_line_subject_becomes_one_line() -> None:
    subject, _ = render_ack(
        "en", {"ref": "MB-7K3Q9P", "name": "", "subject": "line one\r\n line two", "response_hours": 24}
    )
    assert subject == "[#MB-7K3Q9P] line one line two"


@pytest.mark.parametrize(
    "wanted, fallback, chosen",
    [
        ("it", "es", "it"),
        ("ja", "es", "es"),  # no Japanese template: the mailbox's language
        (None, "fr", "fr"),
        ("ja", "zz", "en"),  # neither exists: English
        ("", "de", "de"),
    ],
)
def test_language_choice_falls_back(wanted: str | None, fallback: str, chosen: str) -> None:
    assert choose_language(wanted, fallback) == chosen


def _ticket(language: str) -> Ticket:
    return Ticket(
        id=7, ref="MB-7K3Q9P", subject="Ordine non arrivato", language=language, mailbox_id=3, channel="email"
    )


def _msg() -> InboundMessage:
    return InboundMessage(
        channel="email",
        sender_address="mario.rossi@libero.test",
        sender_name="Mario Rossi",
        subject="Ordine non arrivato",
        text="Il mio ordine non è arrivato.",
        message_id="m1@libero.test",
        references=["older@libero.test"],
    )


def _build(runtime: Runtime, ticket: Ticket, msg: InboundMessage, **options: Any) -> OutboxEntry:
    # No template edited in the panel: the files under templates/ack/ are used.
    with runtime.sessions() as session:
        return build_ack(session, ticket, msg, support_address="support@acme.test", secret_key="k", **options)


def test_build_ack_fills_the_outbox_row(runtime: Runtime) -> None:
    entry = _build(runtime, _ticket("it"), _msg(), default_language="en", response_hours=24)
    assert entry.key == "ack:MB-7K3Q9P" and entry.kind == "ack"
    assert entry.ticket_id == 7 and entry.mailbox_id == 3
    assert (entry.to_address, entry.from_address) == ("mario.rossi@libero.test", "support@acme.test")
    assert ref_from_reply_address("k", entry.reply_to or "") == "MB-7K3Q9P"
    assert entry.internet_message_id == ack_message_id("k", "MB-7K3Q9P", "support@acme.test")
    assert entry.internet_message_id.startswith("mailbot.ack.mb-7k3q9p.")
    assert entry.in_reply_to == "m1@libero.test"
    assert entry.references == "<older@libero.test> <m1@libero.test>"
    assert entry.subject == "[#MB-7K3Q9P] Ordine non arrivato"
    assert "Ciao Mario," in entry.body and "24 ore" in entry.body
    assert entry.normalized_subject == "ordine non arrivato"


def test_build_ack_in_an_unknown_language_uses_the_mailbox_language(runtime: Runtime) -> None:
    entry = _build(runtime, _ticket("ja"), _msg(), default_language="es", response_hours=48)
    assert "48 horas" in entry.body and "Hola Mario" in entry.body


def test_build_ack_keeps_only_the_last_ten_references(runtime: Runtime) -> None:
    msg = _msg()
    msg.references = [f"r{n}@x.test" for n in range(20)]
    entry = _build(runtime, _ticket("en"), msg, default_language="en", response_hours=24)
    refs = entry.references.split()
    assert len(refs) == 10 and refs[-1] == "<m1@libero.test>" and refs[0] == "<r11@x.test>"


def test_a_template_file_added_or_removed_is_seen_at_the_next_acknowledgement(tmp_path, monkeypatch) -> None:
    ack = tmp_path / "ack"
    ack.mkdir()
    (ack / "en.txt").write_text("x", encoding="utf-8")
    monkeypatch.setenv("MAILBOT_TEMPLATES_DIR", str(tmp_path))
    assert available_languages() == ["en"]
    (ack / "pt.txt").write_text("x", encoding="utf-8")
    os.utime(ack, ns=(0, ack.stat().st_mtime_ns + 1_000_000))  # however coarse the file system's clock
    assert available_languages() == ["en", "pt"]
    (ack / "en.txt").unlink()
    os.utime(ack, ns=(0, ack.stat().st_mtime_ns + 1_000_000))
    assert available_languages() == ["pt"]
