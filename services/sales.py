"""Sales as every door shows them: net of refunds. Money paid counts on the day it was paid,
money refunded (a refund WeChat Pay reported done) on the day it came back, and the
sales of a span are what was paid in it less what was refunded in it, so an order paid and
refunded is not a sale. The rollups (``funnel_days``: ``gmv`` paid, ``refunded`` back) and
the raw rows read here follow the same rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from tortoise import connections


def net(paid: int, refunded: int) -> int:
    """The one rule: what was paid less what was refunded (fen; may be negative on a day
    whose refunds are for earlier days' orders)."""
    return int(paid) - int(refunded)


def with_net(row: dict[str, Any]) -> dict[str, Any]:
    """A rollup row (``gmv``, ``refunded``) with its ``net`` beside them."""
    return {**row, "net": net(row.get("gmv") or 0, row.get("refunded") or 0)}


@dataclass(frozen=True)
class Sales:
    orders: int  # paid orders, refunded or not
    paid: int  # fen
    refunds: int  # refunds done
    refunded: int  # fen

    @property
    def net(self) -> int:
        return net(self.paid, self.refunded)


# Both halves in one round trip, each one scan through its own time index.
_SALES = """
SELECT o.orders, o.paid, r.refunds, r.refunded
FROM (SELECT count(*) AS orders, coalesce(sum(amount), 0) AS paid FROM orders
      WHERE community_id = $1 AND paid_at >= $2 AND paid_at < $3
        AND ($4::text IS NULL OR chat_id = $4)) o,
     (SELECT count(*) AS refunds, coalesce(sum(r.amount), 0) AS refunded
      FROM refunds r JOIN orders x ON x.id = r.order_id
      WHERE x.community_id = $1 AND r.status = 'succeeded' AND r.settled_at >= $2
        AND r.settled_at < $3 AND ($4::text IS NULL OR x.chat_id = $4)) r
"""
_EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC))


async def of_community(
    community_id: object,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    chat_id: str | None = None,
) -> Sales:
    """A community's sales in [since, until) (all time without them), or one group chat's."""
    start, end = since or _EVER[0], until or _EVER[1]
    rows = await connections.get("default").execute_query_dict(
        _SALES, [community_id, start, end, chat_id]
    )
    row = rows[0]
    return Sales(
        orders=int(row["orders"]),
        paid=int(row["paid"]),
        refunds=int(row["refunds"]),
        refunded=int(row["refunded"]),
    )


# The same rule by local day and group chat, for the charts: what was paid on a day (paid_at)
# and what was refunded on it (settled_at), each an event of its own day.
_DAILY = """
SELECT chat_id, day, sum(orders) AS orders, sum(paid) AS paid, sum(refunds) AS refunds,
       sum(refunded) AS refunded
FROM (SELECT chat_id, (paid_at AT TIME ZONE $2)::date AS day, 1 AS orders, amount AS paid,
             0 AS refunds, 0 AS refunded
      FROM orders WHERE community_id = $1 AND paid_at >= $3
      UNION ALL
      SELECT x.chat_id, (r.settled_at AT TIME ZONE $2)::date, 0, 0, 1, r.amount
      FROM refunds r JOIN orders x ON x.id = r.order_id
      WHERE x.community_id = $1 AND r.status = 'succeeded' AND r.settled_at >= $3) AS money
GROUP BY 1, 2
"""


async def by_day(
    community_id: object, *, since: datetime, timezone: str
) -> dict[tuple[str | None, date], Sales]:
    """A community's sales since ``since``, by (group chat, local day in ``timezone``): the
    figures ``of_community`` gives for that day and chat (None: no group named)."""
    rows = await connections.get("default").execute_query_dict(
        _DAILY, [community_id, timezone, since]
    )
    return {
        (row["chat_id"], row["day"]): Sales(
            orders=int(row["orders"]),
            paid=int(row["paid"]),
            refunds=int(row["refunds"]),
            refunded=int(row["refunded"]),
        )
        for row in rows
    }
