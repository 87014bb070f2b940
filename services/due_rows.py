"""The clock's look-ups over the tables that grow with history: open teams, reserved seats and
unpaid orders, each by its deadline.

Settled teams, paid seats and finished orders keep their times, all in the past; an index on the
time alone makes "the earliest open one" and "every open one now due" walk that whole history
first (a million settled teams: 0.4 s a look-up, twice per deadline). Migration 0085 indexes
only the open rows (partial indexes), and these statements write the state out in their text,
so that every plan, generic ones of prepared statements included, can prove it may use them
(an ORM filter sends the state as a parameter, which no partial index matches).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from tortoise import connections

from models.groupbuy import SeatStatus, TeamStatus
from models.order import OrderKind, OrderStatus

_OPEN = TeamStatus.OPEN.value
_RESERVED = SeatStatus.RESERVED.value
_UNPAID = OrderStatus.PENDING_PAYMENT.value
_LAPSING_KINDS = (OrderKind.DIRECT, OrderKind.FLASH, OrderKind.BARGAIN)

_EARLIEST = f"""
SELECT min(at) AS at FROM (
    SELECT min(deadline_at) AS at FROM teams WHERE status = '{_OPEN}'
    UNION ALL
    SELECT min(reserved_until) FROM seats WHERE status = '{_RESERVED}'
    UNION ALL
    SELECT min(reserved_until) FROM orders
    WHERE status = '{_UNPAID}' AND kind = ANY($1::text[])
) AS earliest
"""

_DUE_TEAMS = f"""
SELECT id FROM teams WHERE status = '{_OPEN}' AND deadline_at <= $1
ORDER BY deadline_at LIMIT $2
"""

_LAPSED_SEATS = f"""
SELECT id FROM seats WHERE status = '{_RESERVED}' AND reserved_until <= $1
ORDER BY reserved_until LIMIT $2
"""

_LAPSED_ORDERS = f"""
SELECT id FROM orders WHERE status = '{_UNPAID}' AND reserved_until <= $1
AND kind = ANY($2::text[]) ORDER BY reserved_until LIMIT $3
"""


async def earliest() -> datetime | None:
    """The earliest deadline of an open team, a reserved seat or an unpaid order that lapses."""
    _, rows = await connections.get("default").execute_query(
        _EARLIEST, [[kind.value for kind in _LAPSING_KINDS]]
    )
    return rows[0]["at"] if rows else None


async def due_teams(*, now: datetime, limit: int) -> list[uuid.UUID]:
    """Open teams whose deadline has come, earliest first."""
    _, rows = await connections.get("default").execute_query(_DUE_TEAMS, [now, limit])
    return [row["id"] for row in rows]


async def lapsed_seats(*, now: datetime, limit: int) -> list[uuid.UUID]:
    """Reserved seats whose payment window has passed, earliest first."""
    _, rows = await connections.get("default").execute_query(_LAPSED_SEATS, [now, limit])
    return [row["id"] for row in rows]


async def lapsed_orders(*, now: datetime, kinds: list[OrderKind], limit: int) -> list[uuid.UUID]:
    """Unpaid orders of these kinds whose payment window has passed, earliest first."""
    _, rows = await connections.get("default").execute_query(
        _LAPSED_ORDERS, [now, [kind.value for kind in kinds], limit]
    )
    return [row["id"] for row in rows]
