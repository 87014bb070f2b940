"""Crontab lines read as every crontab reads them, in the community's time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from services import schedules

MONDAY = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai


@pytest.mark.parametrize(
    ("expr", "weekdays"),
    [
        ("0 9 * * 1", {"Mon"}),
        ("0 9 * * 0", {"Sun"}),
        ("0 9 * * 7", {"Sun"}),
        ("0 9 * * 1-5", {"Mon", "Tue", "Wed", "Thu", "Fri"}),
        ("0 9 * * 5-7", {"Fri", "Sat", "Sun"}),
        ("0 9 * * */2", {"Sun", "Tue", "Thu", "Sat"}),
        ("0 9 * * mon,WED", {"Mon", "Wed"}),
        ("0 9 * * *", {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}),
    ],
)
def test_weekdays_mean_what_crontab_means(expr: str, weekdays: set[str]) -> None:
    seen, after = set(), MONDAY
    for _ in range(14):
        fire = schedules.next_fire(expr, "Asia/Shanghai", after=after)
        assert fire is not None and fire.tzinfo is UTC
        seen.add(fire.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%a"))
        after = fire
    assert seen == weekdays


@pytest.mark.parametrize(
    "expr",
    [
        "",
        "0 9 * *",
        "60 9 * * *",
        "0 9 * * 8",
        "0 9 * * 5-1",
        "0 9 * * */0",
        "x y z a b",
        "0 9 * * ²",  # a digit to str.isdigit, not to int()
        "0 9 * * 1/²",
    ],
)
def test_bad_lines_are_refused(expr: str) -> None:
    with pytest.raises(schedules.BadCron):
        schedules.next_fire(expr, "Asia/Shanghai", after=MONDAY)


def test_strictly_after_and_never() -> None:
    nine = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    assert schedules.next_fire("0 9 * * *", "Asia/Shanghai", after=nine) == nine.replace(day=3)
    assert schedules.next_fire("0 9 31 2 *", "Asia/Shanghai", after=nine) is None


def test_day_of_month_and_day_of_week_mean_either() -> None:
    """As in crontab(5): both day fields restricted, a day matching either one fires."""
    days, after = [], MONDAY  # Monday 2 March 2026
    for _ in range(6):
        fire = schedules.next_fire("0 9 1,15 * 5", "Asia/Shanghai", after=after)
        assert fire is not None
        days.append(fire.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%d %a"))
        after = fire
    assert days == ["06 Fri", "13 Fri", "15 Sun", "20 Fri", "27 Fri", "01 Wed"]
    # a day field starting with * makes both fields hold together, as crontab reads it
    fire = schedules.next_fire("0 9 */2 * 5", "Asia/Shanghai", after=MONDAY)
    assert fire is not None and fire.astimezone(ZoneInfo("Asia/Shanghai")).day == 13  # odd, Fri
    # a date that never comes no longer stops a line that also names a weekday
    fire = schedules.next_fire("0 9 31 2 1", "Asia/Shanghai", after=MONDAY)
    assert fire is not None and fire.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%a") == "Mon"
