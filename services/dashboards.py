"""What the leaders' and operators' dashboards show, read from the rollups only
(``models.rollup``): a 30-day dashboard reads at most a few hundred small rows, whatever the
number of orders behind them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tortoise import connections

from models.community import Community
from models.rollup import NO_CAMPAIGN
from qunshop.errors import ErrorCode, NotFound
from services import audit, communities, sales
from services.ids import parse_uuid

if TYPE_CHECKING:
    from services.auth import Principal

STEPS = ("shared", "opened", "joined", "paid", "picked_up")  # each day's events
# The funnel: the orders placed, of them those paid, of those the ones picked up. Each step a
# subset of the one before, so no conversion passes 100 %. ``paid`` beside ``joined`` was two
# populations (paid that day, placed that day): an order placed at 23:55 and paid at 00:05
# made a day, or a window's edge, show more paid than placed. Shares and opens are reach, not
# steps: one share is opened many times, and an order placed in the group chat opened nothing.
FUNNEL = ("joined", "joined_paid", "joined_picked_up")
MONEY = ("gmv", "refunds", "refunded")
COHORT_WEEKS = 12
TOP_PRODUCTS = 10
TOP_COMMUNITIES = 200

_SUMS = ", ".join(f"sum({c})::bigint AS {c}" for c in (*STEPS, *FUNNEL[1:], *MONEY))
# The whole dashboard in one round trip: PostgreSQL builds the JSON, four index range reads.
_DASHBOARD = f"""
SELECT c.leader_id, json_build_object(
  'days', (SELECT coalesce(json_agg(d ORDER BY d.day), '[]') FROM (
    SELECT day, {_SUMS} FROM funnel_days
    WHERE community_id = $1 AND day >= $2 AND day <= $3 GROUP BY day) d),
  'campaigns', (SELECT coalesce(json_agg(k ORDER BY k.gmv - k.refunded DESC), '[]') FROM (
    SELECT f.campaign_id, coalesce(c.title, '') AS title, {_SUMS}
    FROM funnel_days f LEFT JOIN campaigns c ON c.id = f.campaign_id
    WHERE f.community_id = $1 AND f.day >= $2 AND f.day <= $3
    GROUP BY f.campaign_id, c.title) k),
  'cohorts', (SELECT coalesce(json_agg(w ORDER BY w.week DESC), '[]') FROM (
    SELECT week, members, buyers, repeaters FROM member_cohorts
    WHERE community_id = $1 ORDER BY week DESC LIMIT {COHORT_WEEKS}) w),
  'products', (SELECT coalesce(json_agg(t ORDER BY t.gmv DESC), '[]') FROM (
    SELECT t.sku_id, coalesce(p.title, '') AS title, coalesce(s.name, '') AS sku_name,
           t.orders, t.quantity, t.gmv
    FROM (SELECT sku_id, sum(orders)::bigint AS orders, sum(quantity)::bigint AS quantity,
                 sum(gmv)::bigint AS gmv
          FROM product_days WHERE community_id = $1 AND day >= $2 AND day <= $3
          GROUP BY sku_id ORDER BY sum(gmv) DESC LIMIT {TOP_PRODUCTS}) AS t
    LEFT JOIN skus s ON s.id = t.sku_id LEFT JOIN products p ON p.id = s.product_id) t)
)::text AS board
FROM communities c WHERE c.id = $1
"""
_BY_COMMUNITY = """
SELECT f.community_id, c.name, c.leader_id, sum(f.paid)::bigint AS orders,
       sum(f.gmv)::bigint AS gmv, sum(f.refunds)::bigint AS refunds,
       sum(f.refunded)::bigint AS refunded
FROM funnel_days f JOIN communities c ON c.id = f.community_id
WHERE f.day >= $1 AND f.day <= $2
GROUP BY f.community_id, c.name, c.leader_id ORDER BY sum(f.gmv) - sum(f.refunded) DESC
LIMIT $3
"""


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class Window:
    since: date
    until: date

    @classmethod
    def last(cls, days: int, *, now: datetime, tz: ZoneInfo) -> Window:
        until = now.astimezone(tz).date()
        return cls(since=until - timedelta(days=days - 1), until=until)


@dataclass(frozen=True)
class Dashboard:
    community_id: str
    window: Window
    days: list[dict[str, Any]]  # one per day with activity: the steps and the money
    totals: dict[str, Any]  # the window's sums, each step's conversion, average order
    campaigns: list[dict[str, Any]]
    cohorts: list[dict[str, Any]]  # newest week first, with the repeat rate
    products: list[dict[str, Any]] = field(default_factory=list)


def totals_of(rows: list[dict[str, Any]]) -> dict[str, Any]:
    sums = {key: sum(int(row[key]) for row in rows) for key in (*STEPS, *FUNNEL[1:], *MONEY)}
    conversion = {
        f"{after}_rate": _rate(sums[after], sums[before])
        for before, after in zip(FUNNEL, FUNNEL[1:], strict=False)
    }
    average = sums["gmv"] // sums["paid"] if sums["paid"] else 0
    return {**sales.with_net(sums), **conversion, "average_order": average}


async def community_dashboard(
    *, principal: Principal, community_id: str, days: int, now: datetime, tz: ZoneInfo
) -> Dashboard:
    """One round trip: the community's leader (who may see it) and the board together."""
    key = parse_uuid(community_id)
    window = Window.last(days, now=now, tz=tz)
    rows = (
        await connections.get("default").execute_query_dict(
            _DASHBOARD, [key, window.since, window.until]
        )
        if key is not None
        else []
    )
    if not rows:
        raise NotFound(ErrorCode.COMMUNITY_NOT_FOUND, "no community has this id")
    community = Community(id=key, leader_id=rows[0]["leader_id"])
    await communities.ensure_can_manage(principal, community)
    board = json.loads(rows[0]["board"])
    by_day = [sales.with_net({**r, "day": date.fromisoformat(r["day"])}) for r in board["days"]]
    campaigns = [
        sales.with_net(
            {**r, "campaign_id": None if r["campaign_id"] == NO_CAMPAIGN else r["campaign_id"]}
        )
        for r in board["campaigns"]
    ]
    cohorts = [
        {
            **r,
            "week": date.fromisoformat(r["week"]),
            "repeat_rate": _rate(r["repeaters"], r["members"]),
            "buyer_rate": _rate(r["buyers"], r["members"]),
        }
        for r in board["cohorts"]
    ]
    return Dashboard(
        community_id=str(community.id),
        window=window,
        days=by_day,
        totals=totals_of(by_day),
        campaigns=campaigns,
        cohorts=cohorts,
        products=board["products"],
    )


async def by_community(
    *, actor: Principal, days: int, now: datetime, tz: ZoneInfo
) -> tuple[Window, list[dict[str, Any]]]:
    """Operators: paid, refunded and net sales, paid orders and average order by community
    and its leader, the best net sales first."""
    audit.ensure_admin(actor)
    window = Window.last(days, now=now, tz=tz)
    rows = await connections.get("default").execute_query_dict(
        _BY_COMMUNITY, [window.since, window.until, TOP_COMMUNITIES]
    )
    return window, [
        sales.with_net({**r, "average_order": r["gmv"] // r["orders"] if r["orders"] else 0})
        for r in rows
    ]
