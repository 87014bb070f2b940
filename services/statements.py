"""The weekly statement a leader receives: last week's orders and GMV of their community,
and their own earnings statement from services.earnings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from models.community import Community
from models.growth import EarningStatement
from services import earnings, sales


@dataclass(frozen=True)
class WeekStatement:
    """Last week (Monday to Sunday) of a community and of its leader's earnings."""

    first_day: date
    last_day: date
    orders: int  # paid that week
    gmv: int  # fen: paid that week less refunded that week (services/sales.py)
    refunded: int  # fen
    earnings: EarningStatement | None  # None: no earnings moved that week


async def last_week(*, community: Community, at: datetime) -> WeekStatement:
    """The week before ``at``'s week: the community's paid orders and net sales, and the leader's
    earnings statement (the clock makes those for every earner, once a week)."""
    tz = ZoneInfo(community.timezone)
    monday, start, end = earnings.week_bounds(at.astimezone(tz).date() - timedelta(days=7), tz)
    statement = await EarningStatement.get_or_none(earner_id=community.leader_id, week_start=monday)
    money = await sales.of_community(community.id, since=start, until=end)
    return WeekStatement(
        first_day=monday,
        last_day=monday + timedelta(days=6),
        orders=money.orders,
        gmv=money.net,
        refunded=money.refunded,
        earnings=statement,
    )
