"""A community's figures by day for its leader's charts: visits, teams started, paid orders
and net sales (services/sales.py's one rule, the one 统计 says), over the last ``DAYS`` days
in the shop's time zone; for the community as a whole and for each of its group chats
(attributed as services/group_stats.py counts them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tortoise import connections

from models.groupbuy import Team
from models.growth import Visit
from services import communities, sales
from services.group_stats import people

if TYPE_CHECKING:
    from services.auth import Principal

DAYS = 7


@dataclass(frozen=True)
class Day:
    day: date
    visits: int
    teams: int
    orders: int  # paid that day (refunded since or not)
    gmv: int  # fen: paid that day less refunded that day (services/sales.py)


async def by_day(
    *, principal: Principal, community_id: str, now: datetime, timezone: str
) -> list[Day]:
    """Oldest first; days with nothing are zeros, so the chart's bars line up."""
    community = await communities.get_community(community_id)
    await communities.ensure_can_manage(principal, community)
    tz, days, since = _window(now, timezone)
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
    for (_, day), money in (
        await sales.by_day(community.id, since=since, timezone=timezone)
    ).items():
        if day in counts:
            counts[day][2] += money.orders
            counts[day][3] += money.net
    return [Day(d, *counts[d]) for d in days]


def _window(now: datetime, timezone: str) -> tuple[ZoneInfo, list[date], datetime]:
    """The last ``DAYS`` local days, oldest first, and the instant the first one began."""
    tz = ZoneInfo(timezone)
    first = now.astimezone(tz).date() - timedelta(days=DAYS - 1)
    return (
        tz,
        [first + timedelta(days=k) for k in range(DAYS)],
        datetime.combine(first, time(0), tzinfo=tz),
    )


# One statement per figure, grouped by group chat and local day in the database, so the
# console costs three queries however many groups and days there are.
_VISITS_SQL = (
    "SELECT opengid AS chat_id, (created_at AT TIME ZONE $2)::date AS day, count(*) AS n, "
    "0 AS amount FROM visits WHERE community_id = $1 AND opengid IS NOT NULL "
    "AND created_at >= $3 GROUP BY 1, 2"
)
_TEAMS_SQL = (
    "SELECT t.chat_id, (t.created_at AT TIME ZONE $2)::date AS day, count(*) AS n, "
    "0 AS amount FROM teams t JOIN campaigns c ON c.id = t.campaign_id "
    "WHERE c.community_id = $1 AND t.chat_id IS NOT NULL AND t.created_at >= $3 GROUP BY 1, 2"
)


async def by_group(
    *, principal: Principal, community_id: str, now: datetime, timezone: str
) -> dict[str, list[Day]]:
    """Each group chat's days, oldest first, for the groups with anything in the window and
    the chat the community is bound to (zeros until it has)."""
    community = await communities.get_community(community_id)
    await communities.ensure_can_manage(principal, community)
    _, days, since = _window(now, timezone)
    counts: dict[str, dict[date, list[int]]] = {}
    if community.chat_id:
        counts[community.chat_id] = {d: [0, 0, 0, 0] for d in days}
    db = connections.get("default")
    for index, sql in ((0, _VISITS_SQL), (1, _TEAMS_SQL)):
        for row in await db.execute_query_dict(sql, [community.id, timezone, since]):
            group = counts.setdefault(row["chat_id"], {d: [0, 0, 0, 0] for d in days})
            if row["day"] in group:  # a row dated after today (a clock behind) is left out
                group[row["day"]][index] += int(row["n"])
    for (chat_id, day), money in (
        await sales.by_day(community.id, since=since, timezone=timezone)
    ).items():
        if chat_id is None:
            continue
        group = counts.setdefault(chat_id, {d: [0, 0, 0, 0] for d in days})
        if day in group:
            group[day][2] += money.orders
            group[day][3] += money.net
    persons = await people(set(counts) - {community.chat_id})
    return {
        chat: [Day(d, *figures[d]) for d in days]
        for chat, figures in counts.items()
        if chat not in persons
    }
