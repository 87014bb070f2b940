"""A community's figures by day for its leader's chart: visits, teams started, paid orders
and GMV, over the last ``DAYS`` days in the shop's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from models.groupbuy import Team
from models.growth import Visit
from models.order import Order
from services import communities
from services.groupchat import PAID_STATES

if TYPE_CHECKING:
    from services.auth import Principal

DAYS = 7


@dataclass(frozen=True)
class Day:
    day: date
    visits: int
    teams: int
    orders: int
    gmv: int  # fen


async def by_day(
    *, principal: Principal, community_id: str, now: datetime, timezone: str
) -> list[Day]:
    """Oldest first; days with nothing are zeros, so the chart's bars line up."""
    community = await communities.get_community(community_id)
    await communities.ensure_can_manage(principal, community)
    tz = ZoneInfo(timezone)
    today = now.astimezone(tz).date()
    first = today - timedelta(days=DAYS - 1)
    since = datetime.combine(first, time(0), tzinfo=tz)
    days = [first + timedelta(days=k) for k in range(DAYS)]
    counts = {d: [0, 0, 0, 0] for d in days}

    def add(when: datetime | None, index: int, amount: int = 1) -> None:
        day = when.astimezone(tz).date() if when else None
        if day in counts:
            counts[day][index] += amount

    for when in await Visit.filter(community_id=community.id, created_at__gte=since).values_list(
        "created_at", flat=True
    ):
        add(when, 0)
    for when in await Team.filter(
        campaign__community_id=community.id, created_at__gte=since
    ).values_list("created_at", flat=True):
        add(when, 1)
    for when, amount in await Order.filter(
        community_id=community.id, status__in=PAID_STATES, paid_at__gte=since
    ).values_list("paid_at", "amount"):
        add(when, 2)
        add(when, 3, int(amount))
    return [Day(d, *counts[d]) for d in days]
