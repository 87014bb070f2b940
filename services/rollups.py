"""Keeping the dashboards' rollups (``models.rollup``) current, by the clock.

Each run recomputes the most recent days (``DAYS``, in the shop's time zone) from the raw
rows of those days only, read through the indexes on the event times (0071): a share code
made, a visit, an order placed, paid, picked up, a refund settled. A day's rows are replaced
in one transaction, so a rerun changes nothing and a reader sees a whole day or the one
before. An event is counted on the day it happened (an order paid on Monday and picked up
on Wednesday is paid on Monday, picked up on Wednesday). The funnel of the orders placed on a
day (``joined_paid``, ``joined_picked_up``: of them, paid since, and of those picked up
since) is counted on the day they were placed, so a day's payments and pickups also
recompute the rows of the days their orders were placed on; no other day further back
changes, and none is read again.

Members (services/members.py: who joined, or paid an order there) touched in that window
(joined, or paid) get their ``member_stats`` recomputed from their own orders, and the
cohorts of their communities from ``member_stats``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.transactions import in_transaction

from models.rollup import NO_CAMPAIGN
from services.members import members_sql

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from tortoise.backends.base.client import BaseDBAsyncClient

DAYS = 2  # today and yesterday: what a commit running over midnight may still change
# When the last refresh finished, as the instant it counted up to: the stats pages say how
# fresh their figures are from this, not from the reader's clock.
REFRESHED_KEY = "qunshop:rollups:refreshed_at"

_FUNNEL = f"""
INSERT INTO funnel_days (id, community_id, campaign_id, day, shared, opened, joined, paid,
                         picked_up, gmv, refunds, refunded, joined_paid, joined_picked_up)
SELECT gen_random_uuid(), community_id, coalesce(campaign_id, '{NO_CAMPAIGN}'), $3::date,
       sum(shared), sum(opened), sum(joined), sum(paid), sum(picked_up), sum(gmv),
       sum(refunds), sum(refunded), sum(joined_paid), sum(joined_picked_up)
FROM (
  SELECT community_id, campaign_id, 1 AS shared, 0 AS opened, 0 AS joined, 0 AS paid,
         0 AS picked_up, 0 AS gmv, 0 AS refunds, 0 AS refunded, 0 AS joined_paid,
         0 AS joined_picked_up
  FROM share_codes WHERE created_at >= $1 AND created_at < $2 AND community_id IS NOT NULL
  UNION ALL
  SELECT community_id, campaign_id, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0
  FROM visits WHERE created_at >= $1 AND created_at < $2 AND community_id IS NOT NULL
  UNION ALL
  SELECT community_id, campaign_id, 0, 0, 1, 0, 0, 0, 0, 0, (paid_at IS NOT NULL)::int,
         (paid_at IS NOT NULL AND picked_up_at IS NOT NULL)::int
  FROM orders WHERE created_at >= $1 AND created_at < $2 AND community_id IS NOT NULL
  UNION ALL
  SELECT community_id, campaign_id, 0, 0, 0, 1, 0, amount, 0, 0, 0, 0
  FROM orders WHERE paid_at >= $1 AND paid_at < $2 AND community_id IS NOT NULL
  UNION ALL
  SELECT community_id, campaign_id, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0
  FROM orders WHERE picked_up_at >= $1 AND picked_up_at < $2 AND community_id IS NOT NULL
  UNION ALL
  SELECT o.community_id, o.campaign_id, 0, 0, 0, 0, 0, 0, 1, r.amount, 0, 0
  FROM refunds r JOIN orders o ON o.id = r.order_id
  WHERE r.status = 'succeeded' AND r.settled_at >= $1 AND r.settled_at < $2
    AND o.community_id IS NOT NULL
) AS events
GROUP BY community_id, campaign_id
"""
# The days the orders paid or picked up in [$1, $2) were placed on: their funnel (joined_paid,
# joined_picked_up) changed, however long ago they were placed.
_PLACED_DAYS = """
SELECT DISTINCT (created_at AT TIME ZONE $3)::date AS day FROM orders
WHERE community_id IS NOT NULL
  AND ((paid_at >= $1 AND paid_at < $2) OR (picked_up_at >= $1 AND picked_up_at < $2))
"""
_PRODUCTS = """
INSERT INTO product_days (id, community_id, sku_id, day, orders, quantity, gmv)
SELECT gen_random_uuid(), community_id, sku_id, $3::date, count(*), sum(quantity), sum(amount)
FROM orders WHERE paid_at >= $1 AND paid_at < $2 AND community_id IS NOT NULL
GROUP BY community_id, sku_id
"""
# Who joined, paid or was refunded in the window: their rows are recomputed from their own orders.
_TOUCHED = """
SELECT DISTINCT community_id, user_id FROM (
  SELECT community_id, user_id FROM memberships WHERE joined_at >= $1 AND joined_at < $2
  UNION ALL
  SELECT community_id, user_id FROM orders
  WHERE paid_at >= $1 AND paid_at < $2 AND community_id IS NOT NULL
  UNION ALL
  SELECT o.community_id, o.user_id FROM refunds r JOIN orders o ON o.id = r.order_id
  WHERE r.settled_at >= $1 AND r.settled_at < $2 AND o.community_id IS NOT NULL
) AS touched
"""
_MEMBERS = f"""
INSERT INTO member_stats (id, community_id, user_id, joined_at, orders, spent,
                          first_paid_at, last_paid_at)
SELECT gen_random_uuid(), m.community_id, m.user_id, m.joined_at,
       count(o.id), coalesce(sum(o.amount), 0), min(o.paid_at), max(o.paid_at)
FROM ({members_sql("(community_id, user_id) IN (SELECT * FROM unnest($1::uuid[], $2::uuid[]))")}
) AS m
LEFT JOIN orders o ON o.user_id = m.user_id AND o.community_id = m.community_id
     AND o.paid_at IS NOT NULL AND o.status NOT IN ('refunding', 'refunded')
GROUP BY m.community_id, m.user_id, m.joined_at
ON CONFLICT (community_id, user_id) DO UPDATE SET
  joined_at = excluded.joined_at, orders = excluded.orders, spent = excluded.spent,
  first_paid_at = excluded.first_paid_at, last_paid_at = excluded.last_paid_at
"""
_COHORTS = """
INSERT INTO member_cohorts (id, community_id, week, members, buyers, repeaters)
SELECT gen_random_uuid(), community_id,
       date_trunc('week', joined_at AT TIME ZONE $2)::date,
       count(*), count(*) FILTER (WHERE orders >= 1), count(*) FILTER (WHERE orders >= 2)
FROM member_stats WHERE community_id = ANY($1::uuid[])
GROUP BY community_id, 3
"""


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)


async def _funnel_day(db: BaseDBAsyncClient, day: date, tz: ZoneInfo) -> None:
    start, end = day_bounds(day, tz)
    await db.execute_query("DELETE FROM funnel_days WHERE day = $1", [day])
    await db.execute_query(_FUNNEL, [start, end, day])


async def refresh_day(day: date, *, tz: ZoneInfo) -> None:
    """Recompute one day's funnel and product rows, and the members it touched; and the
    funnel rows of the earlier days whose orders were paid or picked up on this one."""
    start, end = day_bounds(day, tz)
    placed = await connections.get("default").execute_query_dict(_PLACED_DAYS, [start, end, tz.key])
    async with in_transaction() as db:
        await _funnel_day(db, day, tz)
        for earlier in sorted({row["day"] for row in placed if row["day"] < day}):
            await _funnel_day(db, earlier, tz)
        await db.execute_query("DELETE FROM product_days WHERE day = $1", [day])
        await db.execute_query(_PRODUCTS, [start, end, day])
    touched = await connections.get("default").execute_query_dict(_TOUCHED, [start, end])
    if not touched:
        return
    community_ids = [row["community_id"] for row in touched]
    user_ids = [row["user_id"] for row in touched]
    changed = sorted(set(community_ids))
    async with in_transaction() as db:
        await db.execute_query(_MEMBERS, [community_ids, user_ids])
        await db.execute_query(
            "DELETE FROM member_cohorts WHERE community_id = ANY($1::uuid[])", [changed]
        )
        await db.execute_query(_COHORTS, [changed, tz.key])


async def refresh(*, now: datetime, tz: ZoneInfo, days: int = DAYS) -> list[date]:
    """The clock's step: the last ``days`` days, oldest first. Returns the days done."""
    today = now.astimezone(tz).date()
    done = [today - timedelta(days=back) for back in range(days - 1, -1, -1)]
    for day in done:
        await refresh_day(day, tz=tz)
    return done


async def refresh_and_record(*, now: datetime, tz: ZoneInfo, redis: Redis) -> list[date]:
    """The clock's step (``refresh``), then its record: the figures count up to ``now``."""
    done = await refresh(now=now, tz=tz)
    await redis.set(REFRESHED_KEY, now.isoformat())
    return done


async def refreshed_at(*, redis: Redis) -> datetime | None:
    """Up to when the rollups last counted; None before their first refresh."""
    raw = await redis.get(REFRESHED_KEY)
    return datetime.fromisoformat(raw.decode() if isinstance(raw, bytes) else raw) if raw else None
