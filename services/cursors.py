"""Keyset page cursors: the last item's (stamp, id), opaque to callers. Newest first by
default; ``ascending`` pages a list that reads soonest first (campaigns by their end, teams by
their deadline).

One mechanism for every list a page at a time (products, a shopper's orders, the audit log,
the operators' campaigns, the running campaigns, the front page's open teams, the claimable
coupons, a person's coupons and teams, the post feeds). A list read in parts, each in its own
order (a person's usable coupons, soonest to expire, then the rest, newest first), names the
part in its cursor (``page_parts``)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tortoise.expressions import Q

from qunshop.errors import ErrorCode, Invalid

if TYPE_CHECKING:
    from tortoise.queryset import QuerySet


def encode(created_at: datetime, key: uuid.UUID, *, part: int = 0) -> str:
    raw = f"{created_at.astimezone(UTC).isoformat()}|{key}" + (f"|{part}" if part else "")
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def _refused() -> Invalid:
    msg = "not a cursor this API gave"
    return Invalid(
        ErrorCode.INVALID_CURSOR,
        f"cursor: {msg}",
        errors=[{"loc": ["cursor"], "msg": msg, "type": ErrorCode.INVALID_CURSOR.value}],
    )


def _read(cursor: str) -> tuple[int, datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, ident, *rest = raw.split("|")
        when, key = datetime.fromisoformat(stamp), uuid.UUID(ident)
        part = int(rest[0]) if len(rest) == 1 else 0 if not rest else -1
    except ValueError:
        raise _refused() from None
    if when.tzinfo is None or part < 0:
        raise _refused()
    return part, when.astimezone(UTC), key


def decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    _, when, key = _read(cursor)
    return when, key


def after(cursor: str, *, stamp: str = "created_at", ascending: bool = False) -> Q:
    """The rows past the cursor, in ``order_by(f"-{stamp}", "-id")`` (or, ``ascending``,
    ``order_by(stamp, "id")``)."""
    when, key = decode(cursor)
    return _past(when, key, stamp=stamp, ascending=ascending)


def _past(when: datetime, key: uuid.UUID, *, stamp: str, ascending: bool) -> Q:
    past = "gt" if ascending else "lt"
    return Q(**{f"{stamp}__{past}": when}) | Q(**{stamp: when, f"id__{past}": key})


@dataclass(frozen=True)
class Part:
    """One part of a list read part after part, in its own order: ``stamp`` newest first (or
    oldest, ``ascending``), ``id`` breaking ties."""

    query: QuerySet[Any]
    stamp: str = "created_at"
    ascending: bool = False


async def page_parts(
    parts: Sequence[Part], *, limit: int, cursor: str | None
) -> tuple[list[Any], str | None]:
    """``limit`` rows of the parts in turn, after ``cursor``; and the cursor of the next page
    (None: this was the last). A query per part the page reaches: ``limit + 1`` rows in all
    tell if more follow."""
    start, when, key = _read(cursor) if cursor else (0, None, None)
    if start >= len(parts):
        raise _refused()
    rows: list[tuple[int, Any]] = []
    for index in range(start, len(parts)):
        part, query = parts[index], parts[index].query
        if index == start and when is not None and key is not None:
            query = query.filter(_past(when, key, stamp=part.stamp, ascending=part.ascending))
        order = (part.stamp, "id") if part.ascending else (f"-{part.stamp}", "-id")
        rows += [(index, row) for row in await query.order_by(*order).limit(limit + 1 - len(rows))]
        if len(rows) > limit:
            break
    shown = rows[:limit]
    if len(rows) <= limit:
        return [row for _, row in shown], None
    index, last = shown[-1]
    return [row for _, row in shown], encode(getattr(last, parts[index].stamp), last.id, part=index)


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
    return await page_parts([Part(query, stamp, ascending)], limit=limit, cursor=cursor)
