from __future__ import annotations

from typing import Any

import pytest

from mailbot.message import InboundMessage
from mailbot.pipeline.classify import AUTO_REPLY, BOUNCE, CUSTOMER
from mailbot.pipeline.identify import KnownContact
from mailbot.pipeline.refs import reply_address
from mailbot.pipeline.thread import (
    BODY_REFERENCE,
    HEADER_CHAIN,
    OPEN_SUBJECT,
    REPLY_ADDRESS,
    SUBJECT_REFERENCE,
    Candidates,
    ThreadMatch,
    ThreadSignals,
    TicketCandidate,
    decide_thread,
    same_party,
    thread_signals,
    without_auto_reply_phrase,
)

KEY = "unit-test-secret"
ANA = KnownContact(1, "Ana García", "ana@brightlabs.example")
LUIS = KnownContact(2, "Luis Ortega", "luis@brightlabs.example")  # Ana's colleague
EVE = KnownContact(3, "Eve", "eve@elsewhere.example")  # a stranger
ANA_GMAIL = KnownContact(4, "Ana", "ana.garcia@gmail.test")
MARTA_GMAIL = KnownContact(5, "Marta", "marta@gmail.test")  # shares only a freemail domain
TELEGRAM = KnownContact(6, "Ana on Telegram", None)


def ticket(
    id: int,
    ref: str,
    owner: KnownContact = ANA,
    subject: str = "wrong size delivered",
    status: str = "open",
) -> TicketCandidate:
    return TicketCandidate(id, ref, status, owner.id, owner.email, subject)


ORDER = ticket(10, "MB-7K3Q9P")
INVOICE = ticket(11, "MB-4HWX2N", subject="invoice for november")
EVES = ticket(12, "MB-9RTM3C", owner=EVE, subject="my account")
GMAIL = ticket(13, "MB-ZZ23AB", owner=ANA_GMAIL, subject="pedido")


def message(**overrides: Any) -> InboundMessage:
    fields: dict[str, Any] = {
        "channel": "email",
        "sender_address": "ana@brightlabs.example",
        "sender_name": "Ana García",
        "subject": "Something else entirely",
        "text": "Hello",
    }
    fields.update(overrides)
    return InboundMessage(**fields)


def decide(
    msg: InboundMessage,
    sender: KnownContact | None = ANA,
    tickets: tuple[TicketCandidate, ...] = (ORDER, INVOICE, EVES, GMAIL),
    known_ids: dict[str, int] | None = None,
    kind: str = CUSTOMER,
) -> ThreadMatch | None:
    return decide_thread(thread_signals(msg, KEY, kind), sender, Candidates(tickets, known_ids or {}))


# --- signals -------------------------------------------------------------------


def test_header_ids_trust_in_reply_to_first_then_references_from_the_newest() -> None:
    signals = thread_signals(message(in_reply_to=["c@x"], references=["a@x", "b@x", "c@x", ""]), KEY)
    assert signals.header_ids == ("c@x", "b@x", "a@x")


def test_a_message_without_any_signal_has_none() -> None:
    signals = thread_signals(message(subject="", text=""), KEY)
    assert signals == ThreadSignals(channel="email")


def test_reply_refs_come_only_from_addresses_signed_with_our_key() -> None:
    good = reply_address(KEY, "support@acme.test", "MB-7K3Q9P")
    forged = reply_address("someone-elses-key", "support@acme.test", "MB-4HWX2N")
    signals = thread_signals(
        message(recipients=["support+tag@acme.test", forged, good, "support@acme.test"]), KEY
    )
    assert signals.reply_refs == ("MB-7K3Q9P",)


def test_references_are_read_from_subject_and_from_body_and_quote_separately() -> None:
    signals = thread_signals(
        message(subject="Re: [#MB-7K3Q9P] order", text="see mb-4hwx2n", quoted_text="> MB-9RTM3C"), KEY
    )
    assert signals.subject_refs == ("MB-7K3Q9P",)
    assert signals.body_refs == ("MB-4HWX2N", "MB-9RTM3C")


def test_a_customer_subject_is_compared_as_normalised_and_only_so() -> None:
    signals = thread_signals(message(subject="RE: AW: Automatic reply: Wrong size"), KEY)
    assert signals.subjects == ("automatic reply: wrong size",)


def test_an_auto_reply_subject_is_also_compared_past_its_phrase() -> None:
    signals = thread_signals(message(subject="Automatic reply: Wrong size"), KEY, AUTO_REPLY)
    assert signals.subjects == ("automatic reply: wrong size", "wrong size")


def test_an_empty_subject_is_never_compared() -> None:
    assert thread_signals(message(subject="Re: "), KEY).subjects == ()
    assert thread_signals(message(subject="Automatic reply:"), KEY, AUTO_REPLY).subjects == (
        "automatic reply:",
    )


# --- precedence ------------------------------------------------------------------


def test_nothing_names_a_ticket() -> None:
    assert decide(message()) is None


def test_header_chain_threads() -> None:
    match = decide(message(in_reply_to=["ack@acme.test"]), known_ids={"ack@acme.test": 10})
    assert match == ThreadMatch(ORDER, HEADER_CHAIN)


def test_header_chain_beats_a_reference_to_another_ticket() -> None:
    msg = message(in_reply_to=["ack@acme.test"], subject="[#MB-4HWX2N] invoice for november")
    assert decide(msg, known_ids={"ack@acme.test": 10}) == ThreadMatch(ORDER, HEADER_CHAIN)


def test_the_parent_named_by_in_reply_to_beats_older_references() -> None:
    msg = message(in_reply_to=["new@x"], references=["old@x", "new@x"])
    assert decide(msg, known_ids={"old@x": 11, "new@x": 10}) == ThreadMatch(ORDER, HEADER_CHAIN)


def test_the_newest_known_reference_wins_when_in_reply_to_is_unknown() -> None:
    msg = message(in_reply_to=["lost@x"], references=["old@x", "mid@x", "lost@x"])
    assert decide(msg, known_ids={"old@x": 10, "mid@x": 11}) == ThreadMatch(INVOICE, HEADER_CHAIN)


def test_header_chain_is_trusted_from_any_sender_and_on_a_closed_ticket() -> None:
    # Our acknowledgement's Message-ID is signed (refs.ack_message_id), so whoever holds it
    # was sent it; a closed ticket is reopened by the filing, not skipped here.
    closed = ticket(10, "MB-7K3Q9P", status="closed")
    msg = message(in_reply_to=["ack@acme.test"])
    match = decide(msg, sender=EVE, tickets=(closed,), known_ids={"ack@acme.test": 10})
    assert match == ThreadMatch(closed, HEADER_CHAIN)


def test_unknown_header_ids_fall_through_to_the_next_signal() -> None:
    msg = message(in_reply_to=["unknown@x"], subject="Re: [#MB-7K3Q9P] hello")
    assert decide(msg) == ThreadMatch(ORDER, SUBJECT_REFERENCE)


def test_signed_reply_address_beats_a_subject_reference() -> None:
    msg = message(
        recipients=[reply_address(KEY, "support@acme.test", "MB-4HWX2N")], subject="[#MB-7K3Q9P] hi"
    )
    assert decide(msg) == ThreadMatch(INVOICE, REPLY_ADDRESS)


def test_signed_reply_address_lets_a_colleague_in_cc_or_anyone_join() -> None:
    msg = message(recipients=[reply_address(KEY, "support+x@acme.test", "MB-7K3Q9P")])
    assert decide(msg, sender=EVE) == ThreadMatch(ORDER, REPLY_ADDRESS)
    assert decide(msg, sender=None) == ThreadMatch(ORDER, REPLY_ADDRESS)


def test_a_reply_address_for_a_ticket_not_on_file_threads_nowhere() -> None:
    msg = message(recipients=[reply_address(KEY, "support@acme.test", "MB-22222A")])
    assert decide(msg) is None


def test_subject_reference_beats_body_reference() -> None:
    msg = message(subject="About MB-4HWX2N", text="as in MB-7K3Q9P")
    assert decide(msg) == ThreadMatch(INVOICE, SUBJECT_REFERENCE)


def test_body_reference_threads_from_the_quoted_acknowledgement() -> None:
    msg = message(subject="Pedido", quoted_text="> Referencia del ticket: MB-7K3Q9P")
    assert decide(msg) == ThreadMatch(ORDER, BODY_REFERENCE)


def test_body_reference_beats_the_open_subject() -> None:
    msg = message(subject="Wrong size delivered", text="and about MB-4HWX2N")
    assert decide(msg) == ThreadMatch(INVOICE, BODY_REFERENCE)


def test_open_subject_is_the_last_resort() -> None:
    assert decide(message(subject="Re: Wrong size delivered")) == ThreadMatch(ORDER, OPEN_SUBJECT)


# --- who may join by a bare reference ---------------------------------------------


def test_a_stranger_quoting_someones_reference_does_not_join() -> None:
    assert decide(message(subject="[#MB-7K3Q9P] let me in"), sender=EVE) is None
    assert decide(message(text="I saw MB-7K3Q9P on a screen"), sender=EVE) is None


def test_a_stranger_quoting_a_reference_still_joins_their_own_open_subject() -> None:
    msg = message(subject="[#MB-7K3Q9P] My account")
    assert decide(msg, sender=EVE) == ThreadMatch(EVES, OPEN_SUBJECT)


def test_a_colleague_at_the_same_company_domain_joins_by_reference() -> None:
    assert decide(message(subject="Re: [#MB-7K3Q9P]"), sender=LUIS) == ThreadMatch(ORDER, SUBJECT_REFERENCE)


def test_sharing_a_freemail_domain_is_not_being_colleagues() -> None:
    assert decide(message(subject="[#MB-ZZ23AB] pedido"), sender=MARTA_GMAIL) is None
    assert decide(message(subject="[#MB-ZZ23AB] pedido"), sender=ANA_GMAIL) == ThreadMatch(
        GMAIL, SUBJECT_REFERENCE
    )


def test_an_unknown_sender_never_joins_by_reference_or_subject() -> None:
    assert decide(message(subject="[#MB-7K3Q9P] wrong size delivered"), sender=None) is None


def test_the_first_reference_the_sender_may_join_wins() -> None:
    msg = message(subject="[#MB-9RTM3C] and [#MB-4HWX2N] and [#MB-7K3Q9P]")
    assert decide(msg) == ThreadMatch(INVOICE, SUBJECT_REFERENCE)


def test_a_reference_to_a_ticket_not_on_file_is_ignored() -> None:
    assert decide(message(subject="[#MB-22222A] hello")) is None


@pytest.mark.parametrize(
    ("owner", "sender", "expected"),
    [
        (ANA, ANA, True),
        (ANA, LUIS, True),
        (ANA, EVE, False),
        (ANA_GMAIL, MARTA_GMAIL, False),
        (ANA, TELEGRAM, False),
        (TELEGRAM, TELEGRAM, True),
        (TELEGRAM, ANA, False),
        (ANA, KnownContact(9, "Sub", "x@sub.brightlabs.example"), False),
    ],
)
def test_same_party(owner: KnownContact, sender: KnownContact, expected: bool) -> None:
    assert same_party(ticket(1, "MB-AAAAAA", owner=owner), sender) is expected


# --- the sender's open ticket with the same subject -----------------------------------


def test_a_closed_ticket_is_not_joined_by_subject() -> None:
    closed = ticket(10, "MB-7K3Q9P", status="closed")
    assert decide(message(subject="Wrong size delivered"), tickets=(closed,)) is None


def test_a_closed_ticket_is_still_joined_by_its_reference() -> None:
    closed = ticket(10, "MB-7K3Q9P", status="closed")
    assert decide(message(subject="[#MB-7K3Q9P]"), tickets=(closed,)) == ThreadMatch(
        closed, SUBJECT_REFERENCE
    )


def test_someone_elses_ticket_with_the_same_subject_is_not_joined() -> None:
    assert decide(message(subject="My account")) is None


def test_the_newest_open_ticket_with_the_subject_wins() -> None:
    older, newer = ticket(10, "MB-7K3Q9P"), ticket(20, "MB-8K3Q9P")
    assert decide(message(subject="wrong size delivered"), tickets=(newer, older)) == ThreadMatch(
        newer, OPEN_SUBJECT
    )


def test_subjects_must_match_after_normalising_not_loosely() -> None:
    assert decide(message(subject="Wrong size delivered again")) is None
    assert decide(message(subject="Fwd: [#MB-7K3Q9P] WRONG  size delivered"), sender=EVE) is None


# --- auto-replies ------------------------------------------------------------------------


def test_an_auto_reply_without_ids_joins_the_senders_open_ticket_with_that_subject() -> None:
    # mailbot/demo.py: "Automatic reply: Wrong size delivered", no In-Reply-To, no reference.
    msg = message(subject="Automatic reply: Wrong size delivered", text="I am out of the office")
    assert decide(msg, kind=AUTO_REPLY) == ThreadMatch(ORDER, OPEN_SUBJECT)


def test_the_auto_reply_phrase_is_seen_past_only_for_auto_replies() -> None:
    msg = message(subject="Automatic reply: Wrong size delivered")
    assert decide(msg, kind=CUSTOMER) is None
    assert decide(msg, kind=BOUNCE) is None


def test_an_auto_reply_from_someone_else_with_that_subject_joins_nothing() -> None:
    msg = message(subject="Automatic reply: Wrong size delivered")
    assert decide(msg, sender=EVE, kind=AUTO_REPLY) is None
    assert decide(msg, sender=None, kind=AUTO_REPLY) is None


def test_an_auto_reply_does_not_join_a_closed_ticket_by_subject() -> None:
    closed = ticket(10, "MB-7K3Q9P", status="closed")
    msg = message(subject="Out of Office: Wrong size delivered")
    assert decide(msg, tickets=(closed,), kind=AUTO_REPLY) is None


def test_an_auto_reply_carrying_our_message_id_still_threads_by_it_first() -> None:
    msg = message(subject="Automatic reply: invoice for november", in_reply_to=["ack@acme.test"])
    assert decide(msg, known_ids={"ack@acme.test": 10}, kind=AUTO_REPLY) == ThreadMatch(ORDER, HEADER_CHAIN)


@pytest.mark.parametrize(
    ("subject", "answered"),
    [
        ("Automatic reply: Wrong size delivered", "Wrong size delivered"),
        ("AUTOMATIC REPLY: Wrong size delivered", "Wrong size delivered"),
        ("Out of Office: Wrong size delivered", "Wrong size delivered"),
        ("Out of the office - Wrong size delivered", "Wrong size delivered"),
        ("Out of Office AutoReply: Wrong size delivered", "Wrong size delivered"),
        ("Auto-Reply: Wrong size delivered", "Wrong size delivered"),
        ("Respuesta automática: Mi pedido no ha llegado", "Mi pedido no ha llegado"),
        ("RESPUESTA AUTOMATICA: Mi pedido no ha llegado", "Mi pedido no ha llegado"),
        ("Risposta automatica: Fattura di marzo", "Fattura di marzo"),
        ("Resposta automática: Problema com a encomenda", "Problema com a encomenda"),
        ("Réponse automatique : Question sur ma facture", "Question sur ma facture"),
        ("Automatische Antwort: Lieferung unvollständig", "Lieferung unvollständig"),
        ("Abwesenheitsnotiz: Lieferung unvollständig", "Lieferung unvollständig"),
        ("Außer Haus: Lieferung", "Lieferung"),
        ("Ausente: Pedido", "Pedido"),
        # Reply prefixes on either side, and our tag after the phrase, as Exchange writes them.
        ("Re: Automatic reply: Re: [#MB-7K3Q9P] Wrong size", "Wrong size"),
        ("AW: Automatische Antwort: AW: Lieferung", "Lieferung"),
        # Decomposed accents (NFD, as some macOS clients send) are cut with their marks.
        ("Re\u0301ponse automatique : Facture", "Facture"),
        ("Automatic reply", ""),
    ],
)
def test_without_auto_reply_phrase(subject: str, answered: str) -> None:
    assert without_auto_reply_phrase(subject) == answered


@pytest.mark.parametrize(
    "subject",
    [
        "Wrong size delivered",
        "Automatically renewed subscription",  # a word that only starts like the phrase
        "Autoreplying robots",
        "My automatic reply did not help",  # the phrase, but not opening the subject
        "",
    ],
)
def test_a_subject_without_the_phrase_is_left_as_it_is(subject: str) -> None:
    assert without_auto_reply_phrase(subject) == subject


def test_what_is_left_keeps_its_accents_and_case() -> None:
    assert without_auto_reply_phrase("Respuesta automática: Envío dañado") == "Envío dañado"
