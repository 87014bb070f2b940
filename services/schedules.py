"""When a scheduled activity runs: crontab expressions in a community's time zone.

Expressions are standard crontab (minute hour day-of-month month day-of-week, Sunday = 0 or
7), parsed by APScheduler's ``CronTrigger.from_crontab``. APScheduler 3 numbers weekdays from
Monday = 0 (its issue 286), so the day-of-week field is first rewritten as weekday names:
``0 9 * * 1`` means Monday 09:00 here, as it does in every crontab. A line that restricts
both the day of the month and the day of the week fires on either, as crontab does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_TICK = timedelta(microseconds=1)


class BadCron(ValueError):
    """The expression is not a crontab line that ever fires."""


def _weekday(token: str) -> int:
    token = token.strip().lower()
    if token in _NAMES:
        return _NAMES.index(token)
    if token.isdecimal() and 0 <= int(token) <= 7:
        return int(token) % 7
    raise BadCron(f"{token!r} is not a day of the week (0-7 or sun-sat)")


def _weekdays(field: str) -> str:
    """A crontab day-of-week field as explicit weekday names APScheduler reads the same way."""
    days: set[int] = set()
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdecimal() or int(step_text) < 1:
                raise BadCron(f"{part!r} has a bad step")
            step = int(step_text)
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            low, _, high = span.partition("-")
            first, last = _weekday(low), _weekday(high)
            if high.strip() == "7":
                last = 7
            if first > last:
                raise BadCron(f"{part!r} runs backwards")
        else:
            first = last = _weekday(span)
            if step_text:
                last = 6
        days.update(day % 7 for day in range(first, last + 1, step))
    if len(days) == 7:
        return "*"
    return ",".join(_NAMES[day] for day in sorted(days))


def _trigger(fields: list[str], timezone: str) -> CronTrigger:
    try:
        return CronTrigger.from_crontab(" ".join(fields), timezone=ZoneInfo(timezone))
    except ValueError as exc:
        raise BadCron(str(exc)) from None


def triggers(expr: str, timezone: str) -> list[CronTrigger]:
    """The triggers of a crontab line, whose firings together are the line's; BadCron when
    it is malformed.

    APScheduler requires every field to match, but crontab fires when either day field
    matches if both are restricted (neither starts with ``*``): ``0 9 1 * 1`` is the 1st of
    the month and every Monday. That line is two triggers, one per day field.
    """
    fields = expr.split()
    if len(fields) != 5:
        raise BadCron(f"a cron expression has 5 fields, not {len(fields)}")
    fields[4] = _weekdays(fields[4])
    if fields[2].startswith("*") or fields[4].startswith("*"):
        return [_trigger(fields, timezone)]
    by_date = [*fields[:4], "*"]
    by_weekday = [*fields[:2], "*", *fields[3:]]
    return [_trigger(by_date, timezone), _trigger(by_weekday, timezone)]


def next_fire(expr: str, timezone: str, *, after: datetime) -> datetime | None:
    """The first firing strictly after ``after``, in UTC: every missed one coalesces into it.

    None when it never fires again (``0 9 31 2 *``).
    """
    fires = [
        fire
        for made in triggers(expr, timezone)
        if (fire := made.get_next_fire_time(None, after + _TICK)) is not None
    ]
    return min(fires).astimezone(UTC) if fires else None
