"""Canned responses: placeholders checked when saved, filled from the ticket and customer,
the version chosen by language, and JSON Lines imports checked line by line."""

from __future__ import annotations

import pytest

from mailbot.canned import (
    CannedError,
    CannedSpec,
    FillValues,
    choose,
    fill,
    parse_import,
    placeholders_of,
    validate_spec,
)
from mailbot.store.models import CannedResponse

ANA = FillValues(
    ref="MB-7K3Q9P",
    subject="Card blocked",
    customer_name="Ana María Pérez",
    customer_email="ana@example.net",
    agent_name="Jane",
    queue="cards",
    language="es",
    attributes={"plan": "gold", "orders": 12},
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hola {customer_first_name}", "Hola Ana"),
        ("Hola {customer_name}, caso {ref}", "Hola Ana María Pérez, caso MB-7K3Q9P"),
        ("{agent_name} ({queue}) re: {subject}", "Jane (cards) re: Card blocked"),
        ("Plan {attributes.plan}, {attributes.orders} pedidos", "Plan gold, 12 pedidos"),
        ("Sin dato: [{attributes.missing}]", "Sin dato: []"),
        ("Llaves {{literales}} y {ref}", "Llaves {literales} y MB-7K3Q9P"),
        ("Escríbanos a {customer_email}", "Escríbanos a ana@example.net"),
        ("{ ref }", "MB-7K3Q9P"),
    ],
)
def test_placeholders_are_filled(text: str, expected: str) -> None:
    validate_spec(CannedSpec("x", "es", text))
    assert fill(text, ANA) == expected


def test_the_same_question_gets_the_same_answer_for_two_customers() -> None:
    text = "Hola {customer_first_name}: su tarjeta se desbloquea en la app (caso {ref})."
    luis = FillValues(ref="MB-AAAA22", customer_name="Luis", language="es")
    assert fill(text, ANA).replace("Ana", "N").replace("MB-7K3Q9P", "R") == fill(text, luis).replace(
        "Luis", "N"
    ).replace("MB-AAAA22", "R")


@pytest.mark.parametrize(
    ("language", "expected"),
    [("es", "Hola, su caso MB-1"), ("en", "Hola there, su caso MB-1"), ("fr", "Hola, su caso MB-1")],
)
def test_an_unknown_name_leaves_no_gap_before_punctuation(language: str, expected: str) -> None:
    values = FillValues(ref="MB-1", language=language)
    assert fill("Hola {customer_first_name}, su caso {ref}", values) == expected


def test_french_spaces_before_punctuation_are_kept() -> None:
    assert fill("Merci {customer_first_name} ! Une question ?", ANA) == "Merci Ana ! Une question ?"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("Hi {custmer_name}", "unknown placeholder {custmer_name}"),
        ("Hi {attributes.}", "unknown placeholder"),
        ("A lone { brace", "a lone '{'"),
        ("A lone } brace", "a lone '}'"),
        ("   ", "the text is empty"),
        ("with \x00 nul", "the text is empty"),
    ],
)
def test_a_broken_text_is_refused_with_a_reason(text: str, error: str) -> None:
    with pytest.raises(CannedError, match=error.replace("{", r"\{").replace("}", r"\}").replace("(", r"\(")):
        validate_spec(CannedSpec("greeting", "en", text))


@pytest.mark.parametrize(("name", "language"), [("Upper", "en"), ("", "en"), ("ok", "english"), ("ok", "E")])
def test_names_and_languages_are_checked(name: str, language: str) -> None:
    with pytest.raises(CannedError):
        validate_spec(CannedSpec(name, language, "Hello"))


def test_placeholders_are_listed_in_order() -> None:
    assert placeholders_of("{ref} {{x}} {customer_name} {attributes.plan}") == [
        "ref",
        "customer_name",
        "attributes.plan",
    ]


def _rows(*languages: str) -> list[CannedResponse]:
    return [CannedResponse(name="n", language=lang, body=lang) for lang in languages]


@pytest.mark.parametrize(
    ("available", "ticket", "default", "chosen"),
    [
        (("en", "es", "it"), "it", "en", "it"),
        (("en", "es"), "pt", "es", "es"),
        (("en", "de"), "pt", "es", "en"),
        (("de",), "pt", "es", None),
    ],
)
def test_the_tickets_language_first_then_the_default_then_english(
    available: tuple[str, ...], ticket: str, default: str, chosen: str | None
) -> None:
    found = choose(_rows(*available), ticket, default)
    assert (found.language if found else None) == chosen


def test_an_import_is_checked_line_by_line() -> None:
    specs = parse_import(
        [
            '{"name": "refund", "lang": "EN", "text": "Your refund for {ref} is on its way."}\n',
            "\n",
            '{"name": "refund", "lang": "pt", "text": "O reembolso do pedido {ref} foi enviado."}\n',
        ]
    )
    assert [(s.name, s.language) for s in specs] == [("refund", "en"), ("refund", "pt")]
    with pytest.raises(CannedError, match="line 2: not JSON"):
        parse_import(['{"name": "a", "lang": "en", "text": "x"}', "{oops"])
    with pytest.raises(CannedError, match="line 1: expected"):
        parse_import(['{"name": "a", "lang": "en"}'])
    with pytest.raises(CannedError, match="line 1: .*unknown placeholder"):
        parse_import(['{"name": "a", "lang": "en", "text": "{nope}"}'])
