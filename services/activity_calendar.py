"""A community's scheduled activities laid out by day: what the leader's calendar shows.

Each upcoming activity is placed at every firing inside the week (a recurring one may fire
several times); the firings are computed from the same schedule the clock runs by.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from services import activities, communities, schedules

if TYPE_CHECKING:
    import uuid

    from models.activity import Activity
    from services.auth import Principal

DAYS = 7
MAX_PER_ACTIVITY = 50  # a cron every minute would otherwise fill the page


@dataclass(frozen=True)
class Slot:
    activity: Activity
    at: datetime  # local time of this firing


@dataclass(frozen=True)
class Day:
    day: date
    slots: list[Slot]


def _firings(activity: Activity, tz: str, start: datetime, end: datetime) -> list[datetime]:
    if activity.cron is None:
        due = activity.next_run_at
        return [due] if due is not None and start <= due < end else []
    found: list[datetime] = []
    after = start - timedelta(microseconds=1)
    while len(found) < MAX_PER_ACTIVITY:
        due = schedules.next_fire(activity.cron, tz, after=after)
        if due is None or due >= end:
            break
        found.append(due)
        after = due
    return found


async def week(
    *, principal: Principal, community_id: str | uuid.UUID, first_day: date, now: datetime
) -> list[Day]:
    """Seven days from ``first_day`` (in the community's time zone); past firings not shown."""
    community = await communities.get_community(community_id)
    tz = ZoneInfo(community.timezone)
    start = max(datetime.combine(first_day, time(), tzinfo=tz), now)
    end = datetime.combine(first_day + timedelta(days=DAYS), time(), tzinfo=tz)
    views = await activities.list_activities(principal=principal, community_id=community.id)
    by_day: dict[date, list[Slot]] = {first_day + timedelta(days=i): [] for i in range(DAYS)}
    for view in views:
        for due in _firings(view.activity, community.timezone, start, end):
            local = due.astimezone(tz)
            by_day[local.date()].append(Slot(activity=view.activity, at=local))
    return [Day(day=d, slots=sorted(s, key=lambda x: x.at)) for d, s in by_day.items()]
