"""The SLA configuration: the file `mailbot sla import` reads and the panel edits, checked
into typed policies, or SlaError saying what is wrong and where.

    {"timezone": "Europe/Madrid",
     "business_hours": {"mon": ["09:00", "18:00"], "sat": [["09:00", "13:00"]]},
     "holidays": "ES", "extra_holidays": ["2026-12-24"],
     "policies": [{"name": "social", "channels": ["x", "whatsapp"], "priorities": ["urgent", "high"],
                   "first_response_minutes": 120,
                   "escalate": [{"after_minutes": 90, "notify": "mailto:leads@example.com",
                                 "raise_priority": true}]}]}

Pure: no store, no clock. The holidays come from the maintained `holidays` library.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from mailbot.delivery_targets import SLACK_CHANNEL_ID
from mailbot.mail.addresses import parse_address_list
from mailbot.pipeline.triage import PRIORITIES

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
_HOLIDAYS = re.compile(r"^([A-Z]{2})(?:-([A-Z0-9]{1,5}))?$")
TOP_KEYS = frozenset({"timezone", "business_hours", "holidays", "extra_holidays", "policies"})
POLICY_KEYS = frozenset(
    {
        "name",
        "channels",
        "priorities",
        "first_response_minutes",
        "escalate",
        "around_the_clock",
        "description",
    }
)
STEP_KEYS = frozenset({"after_minutes", "notify", "raise_priority"})
# Mail and forms are answered by mail; every other channel is a chat or a social network.
SLOW_CHANNELS = ("email", "form")
# The built-in configuration until one is imported or edited in the panel (issue 9):
# 2 hours on chat and social channels, 24 hours by mail and form, around the clock.
DEFAULT_DOCUMENT: dict[str, Any] = {
    "timezone": "UTC",
    "policies": [
        {"name": "mail-and-form", "channels": list(SLOW_CHANNELS), "first_response_minutes": 24 * 60},
        {"name": "chat-and-social", "first_response_minutes": 120},
    ],
}
MAX_MINUTES = 366 * 24 * 60
MAX_POLICIES = 200
MAX_EXTRA_HOLIDAYS = 1000


class SlaError(ValueError):
    """An SLA configuration that cannot be used as given: what is wrong and where."""


@dataclass(frozen=True)
class EscalationStep:
    level: int  # 1 for the first step of a policy's chain
    after_minutes: int  # on the policy's clock, from the ticket's creation
    notify: str | None  # "mailto:ADDRESS" or "slack:CHANNEL_ID"
    raise_priority: bool

    @property
    def notify_kind(self) -> str | None:
        return self.notify.split(":", 1)[0] if self.notify else None

    @property
    def notify_target(self) -> str:
        return self.notify.split(":", 1)[1] if self.notify else ""


@dataclass(frozen=True)
class Policy:
    name: str
    channels: frozenset[str]  # empty: every channel
    priorities: frozenset[str]  # empty: every priority
    first_response_minutes: int
    escalate: tuple[EscalationStep, ...] = ()
    # An urgent line may run day and night while the rest follows business hours.
    around_the_clock: bool = False

    def applies_to(self, channel: str, priority: str) -> bool:
        return (not self.channels or channel in self.channels) and (
            not self.priorities or priority in self.priorities
        )


@dataclass(frozen=True)
class Calendar:
    """When the clock runs: per weekday (0 is Monday) open intervals in minutes since local
    midnight, minus holidays. No hours at all: around the clock."""

    timezone: str = "UTC"
    hours: Mapping[int, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    extra_holidays: frozenset[date] = frozenset()
    # Per local day, its open intervals in UTC (clock.py): every watchdog run asks again
    # for the same few days for every ticket.
    spans: dict[date, tuple[tuple[datetime, datetime], ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def around_the_clock(self) -> bool:
        return not self.hours

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_holiday(self, day: date) -> bool:
        if day in self.extra_holidays:
            return True
        if self.holiday_country is None:
            return False
        return day in _country_holidays(self.holiday_country, self.holiday_subdivision)


@dataclass(frozen=True)
class SlaConfig:
    calendar: Calendar
    policies: tuple[Policy, ...]
    document: Mapping[str, Any]  # as imported: what `mailbot sla show` and the panel print


@lru_cache(maxsize=64)
def _country_holidays(country: str, subdivision: str | None) -> holidays.HolidayBase:
    # One object per calendar: it computes each year's holidays once, on first use.
    return holidays.country_holidays(country, subdiv=subdivision)


def parse_config(data: Any, channel_types: frozenset[str] | None = None) -> SlaConfig:
    """Check a decoded SLA file. `channel_types`: the channel names a policy may list
    (None: any name)."""
    if not isinstance(data, dict):
        raise SlaError("an SLA configuration is a JSON object with timezone, business_hours, policies ...")
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise SlaError(f"unknown keys {sorted(unknown)}; known: {sorted(TOP_KEYS)}")
    country, subdivision = _holidays(data.get("holidays"))
    calendar = Calendar(
        timezone=_timezone(data.get("timezone", "UTC")),
        hours=_business_hours(data.get("business_hours")),
        holiday_country=country,
        holiday_subdivision=subdivision,
        extra_holidays=_extra_holidays(data.get("extra_holidays", [])),
    )
    policies = data.get("policies")
    if not isinstance(policies, list) or not policies:
        raise SlaError("policies: a non-empty list of policies")
    if len(policies) > MAX_POLICIES:
        raise SlaError(f"policies: at most {MAX_POLICIES}")
    parsed = tuple(_policy(p, i, channel_types) for i, p in enumerate(policies))
    names = [p.name for p in parsed]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SlaError(f"policies: names must be unique, repeated: {', '.join(duplicates)}")
    return SlaConfig(calendar=calendar, policies=parsed, document=data)


def default_config() -> SlaConfig:
    return parse_config(DEFAULT_DOCUMENT)


def _timezone(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SlaError("timezone: an IANA time zone name such as Europe/Madrid")
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise SlaError(
            f"timezone: unknown time zone {value!r} (an IANA name such as Europe/Madrid)"
        ) from error
    return value.strip()


def _minute_of(value: Any, where: str) -> int:
    if not isinstance(value, str) or not _CLOCK.match(value):
        raise SlaError(f"{where}: {value!r} is not a time HH:MM (00:00 to 24:00)")
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _business_hours(value: Any) -> dict[int, tuple[tuple[int, int], ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not value:
        raise SlaError('business_hours: an object such as {"mon": ["09:00", "18:00"]}; leave it out for 24/7')
    hours: dict[int, tuple[tuple[int, int], ...]] = {}
    for day, spans in value.items():
        if day not in DAYS:
            raise SlaError(f"business_hours: unknown day {day!r}; one of {', '.join(DAYS)}")
        where = f"business_hours.{day}"
        # One interval ["09:00", "18:00"], or several [["09:00", "13:00"], ["15:00", "19:00"]].
        if isinstance(spans, list) and len(spans) == 2 and all(isinstance(s, str) for s in spans):
            spans = [spans]
        if not isinstance(spans, list) or not spans:
            raise SlaError(f'{where}: ["HH:MM", "HH:MM"] or a list of such pairs')
        intervals = []
        for span in spans:
            if not isinstance(span, list) or len(span) != 2:
                raise SlaError(f'{where}: each interval is a pair ["HH:MM", "HH:MM"]')
            start, end = _minute_of(span[0], where), _minute_of(span[1], where)
            if end <= start:
                raise SlaError(
                    f"{where}: {span[0]}-{span[1]} ends before it starts (split a night shift in two days)"
                )
            intervals.append((start, end))
        intervals.sort()
        for (_, end), (start, _) in zip(intervals, intervals[1:], strict=False):
            if start < end:
                raise SlaError(f"{where}: intervals overlap")
        hours[DAYS.index(day)] = tuple(intervals)
    return hours


def _holidays(value: Any) -> tuple[str | None, str | None]:
    if value is None or value == "":
        return None, None
    match = _HOLIDAYS.match(value.strip().upper()) if isinstance(value, str) else None
    if match is None:
        raise SlaError(f"holidays: {value!r} is not a country code (ES) or country and subdivision (ES-MD)")
    country, subdivision = match.group(1), match.group(2)
    try:
        _country_holidays(country, subdivision)
    except NotImplementedError as error:
        raise SlaError(f"holidays: no holiday calendar for {value!r} ({error})") from error
    return country, subdivision


def _extra_holidays(value: Any) -> frozenset[date]:
    if not isinstance(value, list) or len(value) > MAX_EXTRA_HOLIDAYS:
        raise SlaError(f"extra_holidays: a list of up to {MAX_EXTRA_HOLIDAYS} dates YYYY-MM-DD")
    days = set()
    for item in value:
        try:
            days.add(date.fromisoformat(item))
        except (TypeError, ValueError) as error:
            raise SlaError(f"extra_holidays: {item!r} is not a date YYYY-MM-DD") from error
    return frozenset(days)


def _minutes(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_MINUTES:
        raise SlaError(f"{where}: a whole number of minutes from 1 to {MAX_MINUTES}")
    return value


def _names(value: Any, where: str, allowed: frozenset[str] | None) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise SlaError(f"{where}: a non-empty list of names (leave it out to match every one)")
    names = frozenset(v.strip().lower() for v in value)
    if allowed is not None and names - allowed:
        raise SlaError(f"{where}: unknown {sorted(names - allowed)}; known: {', '.join(sorted(allowed))}")
    return names


def _policy(data: Any, index: int, channel_types: frozenset[str] | None) -> Policy:
    where = f"policies[{index}]"
    if not isinstance(data, dict):
        raise SlaError(f"{where}: a policy is an object with name and first_response_minutes")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise SlaError(f"{where}.name: a string of 1 to 100 characters")
    where = f"policy {name!r}"
    unknown = set(data) - POLICY_KEYS
    if unknown:
        raise SlaError(f"{where}: unknown keys {sorted(unknown)}")
    steps = data.get("escalate", [])
    if not isinstance(steps, list):
        raise SlaError(f"{where}.escalate: a list of steps")
    around = data.get("around_the_clock", False)
    if not isinstance(around, bool):
        raise SlaError(f"{where}.around_the_clock: true or false")
    parsed_steps = tuple(_step(s, f"{where}.escalate[{i}]", i + 1) for i, s in enumerate(steps))
    return Policy(
        name=name.strip(),
        channels=_names(data.get("channels"), f"{where}.channels", channel_types),
        priorities=_names(data.get("priorities"), f"{where}.priorities", frozenset(PRIORITIES)),
        first_response_minutes=_minutes(
            data.get("first_response_minutes"), f"{where}.first_response_minutes"
        ),
        escalate=parsed_steps,
        around_the_clock=around,
    )


def _step(data: Any, where: str, level: int) -> EscalationStep:
    if not isinstance(data, dict):
        raise SlaError(f"{where}: a step is an object with after_minutes, notify and/or raise_priority")
    unknown = set(data) - STEP_KEYS
    if unknown:
        raise SlaError(f"{where}: unknown keys {sorted(unknown)}")
    raise_priority = data.get("raise_priority", False)
    if not isinstance(raise_priority, bool):
        raise SlaError(f"{where}.raise_priority: true or false")
    notify = data.get("notify")
    if notify is not None:
        notify = _notify(notify, f"{where}.notify")
    if notify is None and not raise_priority:
        raise SlaError(f"{where}: a step notifies someone, raises the priority, or both")
    return EscalationStep(
        level, _minutes(data.get("after_minutes"), f"{where}.after_minutes"), notify, raise_priority
    )


def _notify(value: Any, where: str) -> str:
    kind, _, target = value.partition(":") if isinstance(value, str) else ("", "", "")
    if kind == "mailto":
        parsed = parse_address_list(target)
        if len(parsed) == 1 and parsed[0].address == target.strip().lower():
            return f"mailto:{parsed[0].address}"
        raise SlaError(f"{where}: {target!r} is not one e-mail address")
    if kind == "slack":
        if SLACK_CHANNEL_ID.match(target):
            return f"slack:{target}"
        raise SlaError(f"{where}: {target!r} is not a Slack channel id (C0123ABCD)")
    raise SlaError(f"{where}: {value!r} is neither mailto:ADDRESS nor slack:CHANNEL_ID")
