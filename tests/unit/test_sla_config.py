"""The SLA file: what is accepted, and a clear error naming the place for what is not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mailbot.sla.config import DEFAULT_DOCUMENT, SlaError, parse_config
from mailbot.sla.escalate import raised
from mailbot.sla.watchdog import WatchedTicket, due_steps

CHANNELS = frozenset({"email", "form", "slack", "whatsapp", "x", "telegram"})


def policy(**overrides: Any) -> dict[str, Any]:
    return {"name": "p", "first_response_minutes": 60, **overrides}


def parse(**document: Any) -> Any:
    document.setdefault("policies", [policy()])
    return parse_config(document, CHANNELS)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "is a JSON object"),
        ({"policies": []}, "policies: a non-empty list"),
        ({"policy": [policy()]}, "unknown keys \\['policy'\\]"),
        ({"timezone": "Mars/Olympus", "policies": [policy()]}, "unknown time zone 'Mars/Olympus'"),
        ({"timezone": "", "policies": [policy()]}, "timezone: an IANA"),
        ({"business_hours": {"monday": ["09:00", "18:00"]}, "policies": [policy()]}, "unknown day 'monday'"),
        ({"business_hours": {"mon": ["9am", "18:00"]}, "policies": [policy()]}, "'9am' is not a time HH:MM"),
        ({"business_hours": {"mon": ["09:00", "24:30"]}, "policies": [policy()]}, "'24:30' is not a time"),
        ({"business_hours": {"mon": ["18:00", "09:00"]}, "policies": [policy()]}, "ends before it starts"),
        (
            {"business_hours": {"mon": [["09:00", "13:00"], ["12:00", "18:00"]]}, "policies": [policy()]},
            "intervals overlap",
        ),
        ({"business_hours": {}, "policies": [policy()]}, "leave it out for 24/7"),
        ({"holidays": "Spain", "policies": [policy()]}, "is not a country code"),
        ({"holidays": "ZZ", "policies": [policy()]}, "no holiday calendar for 'ZZ'"),
        ({"holidays": "ES-ZZ", "policies": [policy()]}, "no holiday calendar for 'ES-ZZ'"),
        ({"extra_holidays": ["24/12/2026"], "policies": [policy()]}, "'24/12/2026' is not a date"),
        ({"policies": [policy(name="")]}, r"policies\[0\].name"),
        ({"policies": [policy(), policy()]}, "names must be unique, repeated: p"),
        ({"policies": [policy(first_response_minutes=0)]}, "first_response_minutes: a whole number"),
        ({"policies": [policy(first_response_minutes="120")]}, "first_response_minutes: a whole number"),
        ({"policies": [policy(first_response_minutes=True)]}, "first_response_minutes: a whole number"),
        ({"policies": [policy(channels=["fax"])]}, r"channels: unknown \['fax'\]"),
        ({"policies": [policy(priorities=["critical"])]}, r"priorities: unknown \['critical'\]"),
        ({"policies": [policy(channels=[])]}, "channels: a non-empty list"),
        ({"policies": [policy(sla=1)]}, r"unknown keys \['sla'\]"),
        ({"policies": [policy(escalate={"after_minutes": 5})]}, "escalate: a list of steps"),
        ({"policies": [policy(escalate=[{"after_minutes": 5}])]}, "notifies someone, raises the priority"),
        (
            {"policies": [policy(escalate=[{"after_minutes": 5, "notify": "leads@example.com"}])]},
            "neither mailto:ADDRESS nor slack:CHANNEL_ID",
        ),
        (
            {"policies": [policy(escalate=[{"after_minutes": 5, "notify": "mailto:not an address"}])]},
            "is not one e-mail address",
        ),
        (
            {"policies": [policy(escalate=[{"after_minutes": 5, "notify": "slack:#support"}])]},
            "is not a Slack channel id",
        ),
        (
            {"policies": [policy(escalate=[{"after_minutes": -1, "raise_priority": True}])]},
            r"escalate\[0\].after_minutes",
        ),
        (
            {"policies": [policy(escalate=[{"after_minutes": 5, "raise_priority": "yes"}])]},
            "raise_priority: true or false",
        ),
        ({"policies": [policy(around_the_clock="no")]}, "around_the_clock: true or false"),
    ],
)
def test_a_bad_file_is_refused_with_the_place_named(document: Any, message: str) -> None:
    with pytest.raises(SlaError, match=message):
        parse_config(document, CHANNELS)


def test_the_default_document_is_a_valid_configuration() -> None:
    cfg = parse_config(DEFAULT_DOCUMENT, CHANNELS)
    assert [p.name for p in cfg.policies] == ["mail-and-form", "chat-and-social"]
    assert cfg.calendar.around_the_clock


def test_names_and_codes_are_read_leniently() -> None:
    cfg = parse(
        holidays="es-md",
        policies=[
            policy(
                channels="WhatsApp",
                priorities=["HIGH"],
                escalate=[{"after_minutes": 5, "notify": "mailto:Leads@Example.com"}],
            )
        ],
    )
    assert (cfg.calendar.holiday_country, cfg.calendar.holiday_subdivision) == ("ES", "MD")
    (p,) = cfg.policies
    assert p.channels == {"whatsapp"} and p.priorities == {"high"}
    assert p.escalate[0].notify == "mailto:leads@example.com"


def test_levels_are_numbered_along_the_chain() -> None:
    steps = [
        {"after_minutes": 30, "notify": "slack:C0123ABCD"},
        {"after_minutes": 60, "raise_priority": True},
        {"after_minutes": 90, "notify": "mailto:boss@example.com", "raise_priority": True},
    ]
    (p,) = parse(policies=[policy(escalate=steps)]).policies
    assert [(s.level, s.after_minutes, s.notify_kind) for s in p.escalate] == [
        (1, 30, "slack"),
        (2, 60, None),
        (3, 90, "mailto"),
    ]


@pytest.mark.parametrize(
    ("before", "after"), [("low", "normal"), ("normal", "high"), ("high", "urgent"), ("urgent", "urgent")]
)
def test_raising_a_priority_is_one_step_up(before: str, after: str) -> None:
    assert raised(before) == after


# -- the watchdog's decision -----------------------------------------------------------

CREATED = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
CHAIN = parse(
    policies=[
        policy(
            name="chat",
            channels=["whatsapp"],
            first_response_minutes=120,
            escalate=[
                {"after_minutes": 90, "notify": "mailto:leads@example.com"},
                {"after_minutes": 150, "notify": "slack:C0123ABCD", "raise_priority": True},
            ],
        ),
        policy(name="mail", first_response_minutes=600),
    ]
)


def levels(now: datetime, reached: frozenset[int] = frozenset(), channel: str = "whatsapp") -> list[int]:
    ticket = WatchedTicket(7, channel, "normal", CREATED, reached)
    return [d.step.level for d in due_steps(CHAIN, ticket, now)]


def test_no_level_is_due_before_its_time() -> None:
    assert levels(CREATED + timedelta(minutes=89)) == []


def test_a_level_is_due_when_its_time_comes_nearing_the_due_time() -> None:
    assert levels(CREATED + timedelta(minutes=90)) == [1]


def test_past_due_every_level_whose_time_passed_is_due_once() -> None:
    assert levels(CREATED + timedelta(minutes=200)) == [1, 2]
    assert levels(CREATED + timedelta(minutes=200), frozenset({1})) == [2]
    assert levels(CREATED + timedelta(minutes=200), frozenset({1, 2})) == []


def test_a_policy_without_a_chain_never_escalates() -> None:
    assert levels(CREATED + timedelta(days=30), channel="email") == []
