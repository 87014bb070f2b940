"""The weekly statement a leader receives: last week's orders and GMV of their community,
and their own earnings statement from services.earnings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tortoise.functions import Sum

from models.community import Community
from models.growth import EarningStatement
from models.order import Order
from services import earnings, groupchat


@dataclass(frozen=True)
class WeekStatement:
    """Last week (Monday to Sunday) of a community and of its leader's earnings."""

    first_day: date
    last_day: date
    orders: int
    gmv: int  # fen
    earnings: EarningStatement | None  # None: no earnings moved that week


async def last_week(*, community: Community, at: datetime) -> WeekStatement:
    """The week before ``at``'s week: the community's paid orders and GMV, and the leader's
    earnings statement (the clock makes those for every earner, once a week)."""
    tz = ZoneInfo(community.timezone)
    monday, start, end = earnings.week_bounds(at.astimezone(tz).date() - timedelta(days=7), tz)
    statement = await EarningStatement.get_or_none(earner_id=community.leader_id, week_start=monday)
    paid = Order.filter(
        community_id=community.id,
        paid_at__gte=start,
        paid_at__lt=end,
        status__in=groupchat.PAID_STATES,
    )
    rows = await paid.annotate(total=Sum("amount")).group_by("community_id").values("total")
    return WeekStatement(
        first_day=monday,
        last_day=monday + timedelta(days=6),
        orders=await paid.count(),
        gmv=int(rows[0]["total"] or 0) if rows else 0,
        earnings=statement,
    )
