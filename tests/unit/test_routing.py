from __future__ import annotations

from typing import Any

import pytest

from mailbot.pipeline.routing import Routing, RuleError, TicketFacts, parse_rules, route

ISSUE_EXAMPLE: list[dict[str, Any]] = [
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
    }
]


def facts(**overrides: Any) -> TicketFacts:
    fields: dict[str, Any] = {
        "channel": "email",
        "mailbox": "soporte",
        "language": "es",
        "text": "Reclamación\nLa FACTURA de octubre está mal, es inaceptable.",
        "intent": "complaint",
        "attributes": {"vip": "Yes", "plan": "gold"},
    }
    fields.update(overrides)
    return TicketFacts(**fields)


def test_the_issue_example_matches_and_says_why() -> None:
    routing = route(parse_rules(ISSUE_EXAMPLE), facts())
    assert routing == Routing(
        queue="vip",
        assignee="ana@example.com",
        priority="high",
        tags=("vip",),
        matched_rule="vip-billing",
        reason="vip-billing: channel=email; language=es; intent=complaint; words: factura; vip=yes",
        matched=("vip-billing",),
    )


@pytest.mark.parametrize(
    "change",
    [
        {"channel": "whatsapp"},
        {"language": "it"},
        {"intent": "question"},
        {"text": "Mi pedido no llega"},
        {"attributes": {"vip": "no"}},
        {"attributes": {}},
    ],
)
def test_each_condition_can_fail_the_rule(change: dict[str, Any]) -> None:
    assert route(parse_rules(ISSUE_EXAMPLE), facts(**change)) == Routing()


def test_without_a_match_the_queue_is_support_and_no_rule() -> None:
    routing = route([], facts())
    assert (routing.queue, routing.matched_rule, routing.assignee, routing.priority, routing.tags) == (
        "support",
        None,
        None,
        None,
        (),
    )


def test_lists_match_any_of_their_values() -> None:
    rules = parse_rules([{"name": "chat", "if": {"channel": ["x", "whatsapp"]}, "then": {"queue": "social"}}])
    assert route(rules, facts(channel="whatsapp")).queue == "social"
    assert route(rules, facts(channel="x")).queue == "social"
    assert route(rules, facts(channel="email")).queue == "support"


@pytest.mark.parametrize("text", ["Factura pendiente", "FACTURA", "facturá", "la factura, por favor"])
def test_words_match_case_and_accent_insensitively(text: str) -> None:
    rules = parse_rules([{"name": "billing", "if": {"words": ["Factura"]}, "then": {"tags": ["billing"]}}])
    assert route(rules, facts(text=text)).tags == ("billing",)


def test_words_match_whole_words_and_phrases() -> None:
    rules = parse_rules(
        [{"name": "card", "if": {"words": ["tarjeta bloqueada"]}, "then": {"tags": ["card-blocked"]}}]
    )
    assert route(rules, facts(text="Mi TARJETA BLOQUEADA otra vez")).tags == ("card-blocked",)
    assert route(rules, facts(text="tarjetas bloqueadas")).tags == ()


def test_the_first_match_sets_queue_every_match_adds_tags() -> None:
    rules = parse_rules(
        [
            {
                "name": "billing",
                "if": {"words": ["factura"]},
                "then": {"queue": "billing", "tags": ["billing"]},
            },
            {
                "name": "spanish",
                "if": {"language": ["es"]},
                "then": {"queue": "es", "tags": ["es", "billing"]},
            },
            {"name": "never", "if": {"language": ["de"]}, "then": {"queue": "de", "tags": ["de"]}},
        ]
    )
    routing = route(rules, facts())
    assert (routing.queue, routing.matched_rule, routing.tags, routing.matched) == (
        "billing",
        "billing",
        ("billing", "es"),
        ("billing", "spanish"),
    )


def test_a_tags_condition_sees_tags_added_by_earlier_rules() -> None:
    rules = parse_rules(
        [
            {"name": "tag-billing", "if": {"words": ["factura"]}, "then": {"tags": ["billing"]}},
            {"name": "billing-queue", "if": {"tags": ["billing"]}, "then": {"tags": ["finance"]}},
        ]
    )
    assert route(rules, facts()).tags == ("billing", "finance")
    assert route(list(reversed(rules)), facts()).tags == ("billing",)


def test_a_rule_without_queue_files_in_support_but_still_counts_as_matched() -> None:
    rules = parse_rules([{"name": "tagger", "if": {"words": ["factura"]}, "then": {"tags": ["billing"]}}])
    routing = route(rules, facts())
    assert (routing.queue, routing.matched_rule, routing.priority) == ("support", "tagger", None)


def test_a_rule_without_conditions_matches_everything() -> None:
    routing = route(parse_rules([{"name": "all", "then": {"queue": "triage"}}]), facts())
    assert (routing.queue, routing.reason) == ("triage", "all: no conditions")


@pytest.mark.parametrize(
    ("wanted", "actual", "matches"),
    [
        ("yes", True, True),
        ("yes", "true", True),
        ("yes", "1", True),
        ("no", False, True),
        ("no", "no", True),
        ("yes", False, False),
        ("no", None, False),
        (["gold", "platinum"], "Gold", True),
        ("gold", "silver", False),
    ],
)
def test_attribute_values(wanted: Any, actual: Any, matches: bool) -> None:
    rules = parse_rules([{"name": "a", "if": {"attributes": {"x": wanted}}, "then": {"queue": "q"}}])
    attributes = {} if actual is None else {"X": actual}
    assert (route(rules, facts(attributes=attributes)).matched_rule == "a") is matches


def test_mailbox_condition() -> None:
    rules = parse_rules([{"name": "m", "if": {"mailbox": ["ventas"]}, "then": {"queue": "sales"}}])
    assert route(rules, facts(mailbox="Ventas")).queue == "sales"
    assert route(rules, facts(mailbox=None)).queue == "support"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x"}, "JSON array"),
        (["x"], "rule #1: a rule is an object"),
        ([{"if": {}, "then": {"queue": "q"}}], "rule #1: name"),
        ([{"name": "a", "then": {}}], "then sets nothing"),
        ([{"name": "a", "if": {"colour": ["red"]}, "then": {"queue": "q"}}], "unknown conditions ['colour']"),
        ([{"name": "a", "then": {"queue": "q", "colour": "red"}}], "unknown actions ['colour']"),
        ([{"name": "a", "then": {"priority": "asap"}}], "priority must be one of"),
        ([{"name": "a", "if": {"intent": ["anger"]}, "then": {"queue": "q"}}], "unknown intent ['anger']"),
        ([{"name": "a", "if": {"words": []}, "then": {"queue": "q"}}], "if.words: expected a non-empty list"),
        ([{"name": "a", "if": {"words": [3]}, "then": {"queue": "q"}}], "if.words"),
        ([{"name": "a", "if": {"attributes": ["vip"]}, "then": {"queue": "q"}}], "if.attributes must be"),
        ([{"name": "a", "then": {"queue": ""}}], "then.queue must be a non-empty string"),
        ([{"name": "a", "then": {"queue": "q"}}, {"name": "a", "then": {"queue": "r"}}], "unique: ['a']"),
        ([{"name": "a", "iff": {}, "then": {"queue": "q"}}], "unknown keys ['iff']"),
        ([{"name": "a", "then": {"tags": ["two words"]}}], "['two words']: a queue or tag name"),
        ([{"name": "a", "then": {"queue": "vip queue"}}], "['vip queue']: a queue or tag name"),
        ([{"name": "a", "then": {"tags": ["x" * 51]}}], "a queue or tag name"),
        ([{"name": "a", "then": {"tags": [f"t{n}" for n in range(21)]}}], "at most 20 tags"),
    ],
)
def test_bad_rules_are_refused_with_where_and_what(data: Any, message: str) -> None:
    with pytest.raises(RuleError, match=None) as raised:
        parse_rules(data)
    assert message in str(raised.value)


def test_a_single_string_is_a_list_of_one() -> None:
    rules = parse_rules([{"name": "a", "if": {"channel": "email"}, "then": {"queue": "q"}}])
    assert route(rules, facts()).queue == "q"
