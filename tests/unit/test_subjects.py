from __future__ import annotations

import pytest

from mailbot.mail.subject_prefixes import (
    FORWARD_PREFIXES,
    REPLY_PREFIXES,
    is_forward_subject,
    strip_subject_prefixes,
)
from mailbot.pipeline.subjects import find_ticket_refs, normalize_subject, strip_reply_prefixes


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("My order 1234", "my order 1234"),
        ("Re: My order", "my order"),
        ("RE: RE: Re: My order", "my order"),
        ("Re[2]: My order", "my order"),
        ("Re(3): My order", "my order"),
        ("RV: Mi pedido", "mi pedido"),
        ("R: Il mio ordine", "il mio ordine"),
        ("I: Il mio ordine", "il mio ordine"),
        ("AW: WG: Meine Bestellung", "meine bestellung"),
        ("Fwd: Fw: FW: My order", "my order"),
        ("Enc: RES: Meu pedido", "meu pedido"),
        ("TR : RE : Ma commande", "ma commande"),
        ("SV: Antw: Odp: Order", "order"),
        ("Re:My order", "my order"),
        ("[#MB-7K3Q9P] My order", "my order"),
        ("Re: My order [#MB-7K3Q9P]", "my order"),
        ("Re: [#MB-7K3Q9P] Re: My order", "my order"),
        ("Re: My order (MB-7K3Q9P)", "my order"),
        ("Re: My order #MB-7K3Q9P", "my order"),
        ("[users] Re: [users] Question", "question"),
        ("Re:   Too    many\tspaces ", "too many spaces"),
        ("Re: Pedido ENVIADO con ÉXITO", "pedido enviado con éxito"),
        ("Re: Straße", "strasse"),
        ("Reembolso", "reembolso"),
        ("Regarding: my order", "regarding: my order"),
        ("Fwd", "fwd"),
        ("", ""),
    ],
)
def test_normalize_subject(subject: str, expected: str) -> None:
    assert normalize_subject(subject) == expected


def test_normalized_reply_matches_original() -> None:
    assert normalize_subject("AW: Re: [#MB-7K3Q9P] Lieferung") == normalize_subject("Lieferung")


def test_strip_reply_prefixes_keeps_case_and_inner_text() -> None:
    assert strip_reply_prefixes("Re: AW: Automatic reply: Re: Order") == "Automatic reply: Re: Order"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Re: order [#MB-7K3Q9P]", ["MB-7K3Q9P"]),
        ("about #MB-7K3Q9P and (MB-ABCDEF)", ["MB-7K3Q9P", "MB-ABCDEF"]),
        ("lower case mb-7k3q9p works", ["MB-7K3Q9P"]),
        ("MB-7K3Q9P twice MB-7K3Q9P and mb-7k3q9p", ["MB-7K3Q9P"]),
        ("second MB-ZZZZZZ then first MB-222222", ["MB-ZZZZZZ", "MB-222222"]),
        ("MB-7K3Q9P.", ["MB-7K3Q9P"]),
        ("ref:MB-7K3Q9P,", ["MB-7K3Q9P"]),
        ("MB-7K3Q9PX is seven characters", []),
        ("MB-7K3Q9 is five", []),
        ("XMB-7K3Q9P glued to a letter", []),
        ("MB-7K3Q0P has a zero", []),
        ("MB-IOIOIO uses letters we never issue", []),
        ("MB-1K3Q9P has a one", []),
        ("100MB-ABCDEF file", []),
        ("no reference here", []),
    ],
)
def test_find_ticket_refs(text: str, expected: list[str]) -> None:
    assert find_ticket_refs(text) == expected


@pytest.mark.parametrize("word", REPLY_PREFIXES + FORWARD_PREFIXES)
def test_threading_and_forward_detection_read_the_same_prefixes(word: str) -> None:
    # One list (mail/subject_prefixes.py): every prefix threading strips, forward detection
    # reads, and only the forward ones say "forwarded".
    for written in (f"{word.upper()}: Pedido 55", f"{word.title()}[2]: Pedido 55", f"{word} ：Pedido 55"):
        assert normalize_subject(written) == "pedido 55"
        assert strip_subject_prefixes(written) == "Pedido 55"
        assert is_forward_subject(written) == (word in FORWARD_PREFIXES)


def test_reply_and_forward_prefixes_do_not_overlap() -> None:
    assert not set(REPLY_PREFIXES) & set(FORWARD_PREFIXES)
    assert "rv" in FORWARD_PREFIXES  # Outlook's Spanish "RV:" is reenviado, a forward


def test_strip_subject_prefixes_keeps_list_tags() -> None:
    # The forwarded origin's subject keeps everything but the prefixes; threading also drops tags.
    assert strip_subject_prefixes("Fwd: [users] Question") == "[users] Question"
    assert normalize_subject("Fwd: [users] Question") == "question"
