"""What the leaders' and operators' dashboards show, read from the rollups only
(``models.rollup``): a 30-day dashboard reads at most a few hundred small rows, whatever the
number of orders behind them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tortoise import connections

from models.rollup import NO_CAMPAIGN
from services import audit, communities

if TYPE_CHECKING:
    from services.auth import Principal

STEPS = ("shared", "opened", "joined", "paid", "picked_up")
MONEY = ("gmv", "refunds", "refunded")
COHORT_WEEKS = 12
TOP_PRODUCTS = 10
TOP_COMMUNITIES = 200

_SUMS = ", ".join(f"sum({c})::bigint AS {c}" for c in (*STEPS, *MONEY))
_BY_DAY = f"""
SELECT day, {_SUMS} FROM funnel_days
WHERE community_id = $1 AND day >= $2 AND day <= $3 GROUP BY day ORDER BY day
"""
_BY_CAMPAIGN = f"""
SELECT f.campaign_id, coalesce(c.title, '') AS title, {_SUMS}
FROM funnel_days f LEFT JOIN campaigns c ON c.id = f.campaign_id
WHERE f.community_id = $1 AND f.day >= $2 AND f.day <= $3
GROUP BY f.campaign_id, c.title ORDER BY sum(f.gmv) DESC
"""
_COHORTS = """
SELECT week, members, buyers, repeaters FROM member_cohorts
WHERE community_id = $1 ORDER BY week DESC LIMIT $2
"""
_PRODUCTS = """
SELECT t.sku_id, coalesce(p.title, '') AS title, coalesce(s.name, '') AS sku_name,
       t.orders, t.quantity, t.gmv
FROM (SELECT sku_id, sum(orders)::bigint AS orders, sum(quantity)::bigint AS quantity,
             sum(gmv)::bigint AS gmv
      FROM product_days WHERE community_id = $1 AND day >= $2 AND day <= $3
      GROUP BY sku_id ORDER BY sum(gmv) DESC LIMIT $4) AS t
LEFT JOIN skus s ON s.id = t.sku_id LEFT JOIN products p ON p.id = s.product_id
ORDER BY t.gmv DESC
"""
_BY_COMMUNITY = """
SELECT f.community_id, c.name, c.leader_id, sum(f.paid)::bigint AS orders,
       sum(f.gmv)::bigint AS gmv, sum(f.refunds)::bigint AS refunds,
       sum(f.refunded)::bigint AS refunded
FROM funnel_days f JOIN communities c ON c.id = f.community_id
WHERE f.day >= $1 AND f.day <= $2
GROUP BY f.community_id, c.name, c.leader_id ORDER BY sum(f.gmv) DESC LIMIT $3
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
    sums = {key: sum(int(row[key]) for row in rows) for key in (*STEPS, *MONEY)}
    conversion = {
        f"{after}_rate": _rate(sums[after], sums[before])
        for before, after in zip(STEPS, STEPS[1:], strict=False)
    }
    average = sums["gmv"] // sums["paid"] if sums["paid"] else 0
    return {**sums, **conversion, "average_order": average}


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (int(v) if k in (*STEPS, *MONEY) else v) for k, v in row.items()}


async def community_dashboard(
    *, principal: Principal, community_id: str, days: int, now: datetime, tz: ZoneInfo
) -> Dashboard:
    community = await communities.get_community(community_id)
    await communities.ensure_can_manage(principal, community)
    window = Window.last(days, now=now, tz=tz)
    db = connections.get("default")
    span = [community.id, window.since, window.until]
    by_day = [_plain(r) for r in await db.execute_query_dict(_BY_DAY, span)]
    campaigns = [
        {
            **_plain(r),
            "campaign_id": None if str(r["campaign_id"]) == NO_CAMPAIGN else r["campaign_id"],
        }
        for r in await db.execute_query_dict(_BY_CAMPAIGN, span)
    ]
    cohorts = [
        {
            **r,
            "repeat_rate": _rate(r["repeaters"], r["members"]),
            "buyer_rate": _rate(r["buyers"], r["members"]),
        }
        for r in await db.execute_query_dict(_COHORTS, [community.id, COHORT_WEEKS])
    ]
    products = await db.execute_query_dict(_PRODUCTS, [*span, TOP_PRODUCTS])
    return Dashboard(
        community_id=str(community.id),
        window=window,
        days=by_day,
        totals=totals_of(by_day),
        campaigns=campaigns,
        cohorts=cohorts,
        products=[dict(r) for r in products],
    )


async def by_community(
    *, actor: Principal, days: int, now: datetime, tz: ZoneInfo
) -> tuple[Window, list[dict[str, Any]]]:
    """Operators: GMV, paid orders, average order and refunds by community and its leader."""
    audit.ensure_admin(actor)
    window = Window.last(days, now=now, tz=tz)
    rows = await connections.get("default").execute_query_dict(
        _BY_COMMUNITY, [window.since, window.until, TOP_COMMUNITIES]
    )
    return window, [
        {**r, "average_order": r["gmv"] // r["orders"] if r["orders"] else 0} for r in rows
    ]
