"""The first-response due time: the built-in default, business hours, weekends, holidays
(national and regional), time zones, daylight-saving changes, and which policy applies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mailbot.sla.clock import add_working_minutes
from mailbot.sla.config import default_config, parse_config
from mailbot.sla.due import due_at, hours_until, policy_for, step_due_at

MADRID = ZoneInfo("Europe/Madrid")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = {day: ["09:00", "18:00"] for day in ("mon", "tue", "wed", "thu", "fri")}


def madrid(*args: int) -> datetime:
    return datetime(*args, tzinfo=MADRID)  # type: ignore[misc]


def config(**overrides: Any) -> Any:
    document: dict[str, Any] = {
        "timezone": "Europe/Madrid",
        "business_hours": WEEKDAYS,
        "policies": [{"name": "all", "first_response_minutes": 120}],
    }
    document.update(overrides)
    return parse_config(document)


def due(cfg: Any, start: datetime, channel: str = "email", priority: str = "normal") -> datetime:
    return due_at(cfg, channel, priority, start)


# -- the built-in default: 2 h on chat and social, 24 h by mail and form, 24/7 --------


@pytest.mark.parametrize(
    ("channel", "hours"),
    [
        ("email", 24),
        ("form", 24),
        ("slack", 2),
        ("telegram", 2),
        ("whatsapp", 2),
        ("messenger", 2),
        ("twilio", 2),
        ("x", 2),
        ("generic", 2),
    ],
)
@pytest.mark.parametrize("priority", ["low", "normal", "high", "urgent"])
def test_the_default_is_by_channel_whatever_the_priority(channel: str, hours: int, priority: str) -> None:
    start = datetime(2026, 12, 5, 23, 10, tzinfo=UTC)  # a Saturday night: the clock still runs
    assert due_at(default_config(), channel, priority, start) == start + timedelta(hours=hours)


def test_the_default_ignores_holidays_and_daylight_saving() -> None:
    start = madrid(2026, 3, 28, 12, 0)  # the night clocks go forward lies within the 24 h
    assert due(default_config(), start) == start.astimezone(UTC) + timedelta(hours=24)
    christmas = datetime(2026, 12, 25, 8, 0, tzinfo=UTC)
    assert due(default_config(), christmas, "x") == christmas + timedelta(hours=2)


# -- business hours and weekends ------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (madrid(2026, 11, 30, 10, 0), madrid(2026, 11, 30, 12, 0)),  # Monday morning: same day
        (madrid(2026, 11, 30, 16, 0), madrid(2026, 11, 30, 18, 0)),  # ends exactly at closing
        (madrid(2026, 11, 30, 17, 0), madrid(2026, 12, 1, 10, 0)),  # one hour today, one tomorrow
        (madrid(2026, 11, 30, 7, 15), madrid(2026, 11, 30, 11, 0)),  # before opening: from 09:00
        (madrid(2026, 11, 30, 21, 0), madrid(2026, 12, 1, 11, 0)),  # after closing: tomorrow
        (madrid(2026, 12, 4, 17, 30), madrid(2026, 12, 7, 10, 30)),  # Friday evening: Monday
        (madrid(2026, 12, 5, 11, 0), madrid(2026, 12, 7, 11, 0)),  # Saturday: Monday from 09:00
        (madrid(2026, 12, 6, 23, 59), madrid(2026, 12, 7, 11, 0)),  # Sunday night
        (madrid(2026, 12, 4, 18, 0), madrid(2026, 12, 7, 11, 0)),  # at closing: nothing left today
    ],
)
def test_the_clock_runs_in_business_hours_only(start: datetime, expected: datetime) -> None:
    assert due(config(), start) == expected


def test_a_target_longer_than_a_day_spans_several_days() -> None:
    cfg = config(policies=[{"name": "slow", "first_response_minutes": 3 * 9 * 60}])  # three working days
    assert due(cfg, madrid(2026, 12, 3, 9, 0)) == madrid(2026, 12, 7, 18, 0)  # Thu, Fri, Mon


def test_several_intervals_a_day_skip_the_lunch_break() -> None:
    cfg = config(business_hours={"mon": [["09:00", "13:00"], ["15:00", "19:00"]]})
    assert due(cfg, madrid(2026, 11, 30, 12, 0)) == madrid(2026, 11, 30, 16, 0)
    assert due(cfg, madrid(2026, 11, 30, 13, 30)) == madrid(2026, 11, 30, 17, 0)


def test_a_day_open_until_midnight() -> None:
    cfg = config(business_hours={"sat": ["20:00", "24:00"], "sun": ["00:00", "02:00"]})
    assert due(cfg, madrid(2026, 12, 5, 23, 0)) == madrid(2026, 12, 6, 1, 0)


def test_only_the_days_named_are_open() -> None:
    cfg = config(business_hours={"wed": ["10:00", "11:00"]})
    assert due(cfg, madrid(2026, 11, 30, 10, 0)) == madrid(2026, 12, 9, 11, 0)  # two Wednesdays


# -- holidays -------------------------------------------------------------------------


def test_a_national_holiday_is_closed() -> None:
    # 8 December, Immaculate Conception, a Tuesday in 2026.
    cfg = config(holidays="ES")
    assert due(cfg, madrid(2026, 12, 7, 17, 0)) == madrid(2026, 12, 9, 10, 0)


def test_a_regional_holiday_is_closed_in_that_region_only() -> None:
    # Madrid moves Constitution Day (a Sunday in 2026) to Monday 7 December; Spain does not.
    start = madrid(2026, 12, 4, 17, 0)
    assert due(config(holidays="ES"), start) == madrid(2026, 12, 7, 10, 0)
    assert due(config(holidays="ES-MD"), start) == madrid(2026, 12, 9, 10, 0)


def test_each_country_closes_on_its_own_holidays() -> None:
    # 12 October 2026, a Monday, is Spain's National Day and an ordinary day in Italy.
    friday = madrid(2026, 10, 9, 17, 0)
    assert due(config(holidays="IT"), friday) == madrid(2026, 10, 12, 10, 0)
    assert due(config(holidays="ES"), friday) == madrid(2026, 10, 13, 10, 0)


def test_extra_closed_days_add_to_the_country_calendar() -> None:
    cfg = config(holidays="ES", extra_holidays=["2026-12-09"])
    assert due(cfg, madrid(2026, 12, 7, 17, 0)) == madrid(2026, 12, 10, 10, 0)


def test_holidays_without_business_hours_do_not_stop_a_clock_that_runs_around_the_clock() -> None:
    cfg = parse_config({"holidays": "ES", "policies": [{"name": "all", "first_response_minutes": 120}]})
    start = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
    assert due(cfg, start) == start + timedelta(hours=2)


# -- time zones and daylight saving ----------------------------------------------------


def test_business_hours_are_in_the_configured_time_zone() -> None:
    cfg = config(timezone="America/New_York", business_hours={"mon": ["09:00", "17:00"]})
    start = datetime(2026, 11, 30, 13, 0, tzinfo=UTC)  # 08:00 in New York
    assert due(cfg, start) == datetime(2026, 11, 30, 11, 0, tzinfo=NEW_YORK)
    assert due(cfg, start).astimezone(UTC) == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)


def test_the_same_instant_is_a_different_day_in_another_zone() -> None:
    # Monday 00:30 in Madrid is still Sunday in New York: closed there until Monday 09:00.
    start = madrid(2026, 11, 30, 0, 30)
    cfg = config(timezone="America/New_York", business_hours={"mon": ["09:00", "17:00"]})
    assert due(cfg, start) == datetime(2026, 11, 30, 11, 0, tzinfo=NEW_YORK)
    cfg = config(business_hours={"sun": ["00:00", "24:00"]})  # Madrid: Monday, closed
    assert due(cfg, start) == madrid(2026, 12, 6, 2, 0)


def test_opening_hours_stay_on_the_wall_clock_across_a_dst_change() -> None:
    # Friday 27 March 2026 17:00 CET (UTC+1); clocks go forward on Sunday 29 March.
    start = madrid(2026, 3, 27, 17, 0)
    result = due(config(), start)
    assert result == madrid(2026, 3, 30, 10, 0)
    assert result.astimezone(UTC) == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)  # now UTC+2
    assert (result - start) == timedelta(days=2, hours=16)  # 2 days 17 h of wall clock, 1 h lost


def test_a_day_with_23_hours_and_one_with_25() -> None:
    every_day = {day: ["00:00", "24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    cfg = config(business_hours=every_day, policies=[{"name": "day", "first_response_minutes": 24 * 60}])
    # Spring forward: midnight to midnight is 23 real hours, so 24 working hours end at 01:00.
    assert due(cfg, madrid(2026, 3, 29, 0, 0)) == madrid(2026, 3, 30, 1, 0)
    # Fall back: 25 real hours, so 24 working hours end at 23:00 the same day.
    assert due(cfg, madrid(2026, 10, 25, 0, 0)) == madrid(2026, 10, 25, 23, 0)


def test_a_night_shift_across_the_change_counts_the_real_minutes() -> None:
    # 02:00-03:00 does not exist on 29 March: the shift has 5 real hours.
    cfg = config(
        business_hours={"sun": ["00:00", "06:00"]}, policies=[{"name": "n", "first_response_minutes": 300}]
    )
    assert due(cfg, madrid(2026, 3, 29, 0, 0)) == madrid(2026, 3, 29, 6, 0)


# -- which policy applies ---------------------------------------------------------------


ISSUE_EXAMPLE = {
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
        }
    ],
}


def test_the_issue_example_parses_as_written() -> None:
    cfg = parse_config(ISSUE_EXAMPLE)
    (policy,) = cfg.policies
    assert policy.channels == {"x", "whatsapp"} and policy.priorities == {"urgent", "high"}
    (step,) = policy.escalate
    assert (step.level, step.after_minutes, step.notify_kind, step.notify_target, step.raise_priority) == (
        1,
        90,
        "mailto",
        "leads@example.com",
        True,
    )
    # Tuesday 17:00: one hour on Tuesday, Wednesday to Sunday closed, one hour next Monday.
    assert due(cfg, madrid(2026, 12, 1, 17, 0), "x", "high") == madrid(2026, 12, 7, 10, 0)


def test_the_first_matching_policy_applies() -> None:
    cfg = parse_config(
        {
            "policies": [
                {
                    "name": "vip-chat",
                    "channels": ["whatsapp"],
                    "priorities": ["urgent"],
                    "first_response_minutes": 15,
                },
                {"name": "chat", "channels": ["whatsapp", "telegram"], "first_response_minutes": 60},
                {"name": "urgent", "priorities": ["urgent"], "first_response_minutes": 30},
                {"name": "rest", "first_response_minutes": 600},
            ]
        }
    )
    assert policy_for(cfg, "whatsapp", "urgent")[0].name == "vip-chat"
    assert policy_for(cfg, "whatsapp", "normal")[0].name == "chat"
    assert policy_for(cfg, "email", "urgent")[0].name == "urgent"
    assert policy_for(cfg, "email", "low")[0].name == "rest"


def test_a_ticket_no_policy_matches_keeps_the_built_in_target() -> None:
    cfg = parse_config(ISSUE_EXAMPLE)
    monday = madrid(2026, 11, 30, 10, 0)
    # Not x/whatsapp, or not urgent/high: the default, around the clock.
    assert due(cfg, monday, "email", "high") == monday.astimezone(UTC) + timedelta(hours=24)
    assert due(cfg, monday, "x", "normal") == monday.astimezone(UTC) + timedelta(hours=2)


def test_a_policy_may_run_around_the_clock_on_a_business_hours_calendar() -> None:
    cfg = config(
        policies=[
            {
                "name": "urgent",
                "priorities": ["urgent"],
                "first_response_minutes": 60,
                "around_the_clock": True,
            },
            {"name": "rest", "first_response_minutes": 60},
        ]
    )
    saturday = madrid(2026, 12, 5, 3, 0)
    assert due(cfg, saturday, priority="urgent") == saturday + timedelta(hours=1)
    assert due(cfg, saturday, priority="normal") == madrid(2026, 12, 7, 10, 0)


def test_escalation_steps_run_on_the_policy_clock() -> None:
    cfg = parse_config(ISSUE_EXAMPLE)
    policy, source = policy_for(cfg, "x", "urgent")
    # Tuesday 17:00 + 90 working minutes: 60 on Tuesday, 30 on the next Monday.
    assert step_due_at(source, policy, policy.escalate[0], madrid(2026, 12, 1, 17, 0)) == madrid(
        2026, 12, 7, 9, 30
    )


# -- what the acknowledgement promises --------------------------------------------------


@pytest.mark.parametrize(
    ("left", "hours"),
    [
        (timedelta(hours=24), 24),
        (timedelta(hours=2), 2),
        (timedelta(hours=63, minutes=47), 64),  # Friday evening to Monday: rounded up
        (timedelta(minutes=5), 1),
        (timedelta(minutes=-30), 1),  # already late: "within an hour", never "0 hours"
    ],
)
def test_the_promise_is_the_time_left_rounded_up(left: timedelta, hours: int) -> None:
    now = datetime(2026, 12, 4, 19, 13, tzinfo=UTC)
    assert hours_until(now + left, now) == hours


def test_no_due_time_promises_nothing() -> None:
    assert hours_until(None, datetime(2026, 12, 4, tzinfo=UTC)) == 0


def test_a_naive_start_is_read_as_utc() -> None:
    # SQLite hands back naive datetimes for the ticket's created_at.
    naive = datetime(2026, 12, 5, 10, 0)
    assert add_working_minutes(None, naive, 30) == datetime(2026, 12, 5, 10, 30, tzinfo=UTC)
