"""Sales as every door shows them: net of refunds. Money paid counts on the day it was paid,
money refunded (a refund WeChat Pay reported done) on the day it came back, and the
sales of a span are what was paid in it less what was refunded in it, so an order paid and
refunded is not a sale. The rollups (``funnel_days``: ``gmv`` paid, ``refunded`` back) and
the raw rows read here follow the same rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
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
