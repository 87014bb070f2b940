"""When a scheduled activity runs: crontab expressions in a community's time zone.

Expressions are standard crontab (minute hour day-of-month month day-of-week, Sunday = 0 or
7), parsed by APScheduler's ``CronTrigger.from_crontab``. APScheduler 3 numbers weekdays from
Monday = 0 (its issue 286), so the day-of-week field is first rewritten as weekday names:
``0 9 * * 1`` means Monday 09:00 here, as it does in every crontab.
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
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token) % 7
    raise BadCron(f"{token!r} is not a day of the week (0-7 or sun-sat)")


def _weekdays(field: str) -> str:
    """A crontab day-of-week field as explicit weekday names APScheduler reads the same way."""
    days: set[int] = set()
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) < 1:
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


def trigger(expr: str, timezone: str) -> CronTrigger:
    """The trigger of a crontab line; BadCron when it is malformed."""
    fields = expr.split()
    if len(fields) != 5:
        raise BadCron(f"a cron expression has 5 fields, not {len(fields)}")
    fields[4] = _weekdays(fields[4])
    try:
        made = CronTrigger.from_crontab(" ".join(fields), timezone=ZoneInfo(timezone))
    except ValueError as exc:
        raise BadCron(str(exc)) from None
    return made


def next_fire(expr: str, timezone: str, *, after: datetime) -> datetime | None:
    """The first firing strictly after ``after``, in UTC: every missed one coalesces into it.

    None when it never fires again (``0 9 31 2 *``).
    """
    fire = trigger(expr, timezone).get_next_fire_time(None, after + _TICK)
    return fire.astimezone(UTC) if fire is not None else None
