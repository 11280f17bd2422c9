"""The SLA clock: a number of working minutes added to a moment, on a calendar of
business hours and holidays in its time zone. Pure.

Business hours are wall-clock times in the calendar's zone: 09:00-18:00 is nine hours
on an ordinary day, and on the day clocks change the interval still opens at 09:00 and
closes at 18:00 local time. Minutes are real elapsed minutes, counted in UTC, so a
night shift across a DST change counts the hour that really passed (or did not).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from mailbot.sla.config import Calendar
from mailbot.timeutil import as_utc

# Far enough for any real calendar; a configuration whose holidays close every day for
# this long falls back to the around-the-clock time rather than refusing a ticket a due time.
MAX_DAYS = 800


def add_working_minutes(calendar: Calendar | None, start: datetime, minutes: int) -> datetime:
    """The moment `minutes` working minutes after `start` (None or no hours: 24/7)."""
    start = as_utc(start)
    if calendar is None or calendar.around_the_clock:
        return start + timedelta(minutes=minutes)
    remaining = timedelta(minutes=minutes)
    day = start.astimezone(calendar.zone).date()
    for _ in range(MAX_DAYS):
        for day_opens, closes in open_spans(calendar, day):
            opens = max(day_opens, start)
            if opens >= closes:
                continue
            if remaining <= closes - opens:
                return opens + remaining
            remaining -= closes - opens
        day += timedelta(days=1)
    return start + timedelta(minutes=minutes)


def open_spans(calendar: Calendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    """The local day's open intervals in UTC; none on a holiday. Cached on the calendar."""
    spans = calendar.spans.get(day)
    if spans is None:
        if len(calendar.spans) > MAX_DAYS:
            calendar.spans.clear()
        zone = calendar.zone
        hours = () if calendar.is_holiday(day) else calendar.hours.get(day.weekday(), ())
        spans = calendar.spans[day] = tuple((_local(day, o, zone), _local(day, c, zone)) for o, c in hours)
    return spans


def _local(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """Minute `minute` (0-1440) of local day `day`, in UTC."""
    if minute == 24 * 60:
        day, minute = day + timedelta(days=1), 0
    local = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone)
    return local.astimezone(UTC)
