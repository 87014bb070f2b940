"""Keyset page cursors: the last item's (stamp, id), opaque to callers. Newest first by
default; ``ascending`` pages a list that reads soonest first (campaigns by their end, teams by
their deadline).

One mechanism for every list a page at a time (products, a shopper's orders, the audit log,
the operators' campaigns, the running campaigns, the front page's open teams)."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tortoise.expressions import Q

from qunshop.errors import ErrorCode, Invalid

if TYPE_CHECKING:
    from tortoise.queryset import QuerySet


def encode(created_at: datetime, key: uuid.UUID) -> str:
    raw = f"{created_at.astimezone(UTC).isoformat()}|{key}"
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def _refused() -> Invalid:
    msg = "not a cursor this API gave"
    return Invalid(
        ErrorCode.INVALID_CURSOR,
        f"cursor: {msg}",
        errors=[{"loc": ["cursor"], "msg": msg, "type": ErrorCode.INVALID_CURSOR.value}],
    )


def decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, ident = raw.partition("|")
        when, key = datetime.fromisoformat(stamp), uuid.UUID(ident)
    except ValueError:
        raise _refused() from None
    if when.tzinfo is None:
        raise _refused()
    return when.astimezone(UTC), key


def after(cursor: str, *, stamp: str = "created_at", ascending: bool = False) -> Q:
    """The rows past the cursor, in ``order_by(f"-{stamp}", "-id")`` (or, ``ascending``,
    ``order_by(stamp, "id")``)."""
    when, key = decode(cursor)
    past = "gt" if ascending else "lt"
    return Q(**{f"{stamp}__{past}": when}) | Q(**{stamp: when, f"id__{past}": key})


async def page(
    query: QuerySet[Any],
    *,
    limit: int,
    cursor: str | None,
    stamp: str = "created_at",
    ascending: bool = False,
) -> tuple[list[Any], str | None]:
    """``limit`` rows of ``query``, newest ``stamp`` first (or oldest, ``ascending``), after
    ``cursor``; and the cursor of the next page (None: this was the last). One query:
    ``limit + 1`` rows tell if more follow; ``id`` breaks ties, so the order is total."""
    if cursor:
        query = query.filter(after(cursor, stamp=stamp, ascending=ascending))
    order = (stamp, "id") if ascending else (f"-{stamp}", "-id")
    rows = await query.order_by(*order).limit(limit + 1)
    shown = rows[:limit]
    more = len(rows) > limit
    return shown, encode(getattr(shown[-1], stamp), shown[-1].id) if more else None
