"""Earnings: an append-only ledger of what leaders and inviters earn on orders.

- Paid (``qunshop_accrue_order_earnings``, migrations 0160 and 0170, in the pay notify's
  statement; ``on_paid`` calls the same through ``qunshop_accrue_earnings``): the
  community's leader accrues ``leader_share_bps`` of every order of the community, whoever
  placed or shared it; the buyer's inviter accrues level 1 and that inviter's inviter
  level 2. There is no level 3. Accruals are frozen.
- Completed (``on_completed``, after the after-sale days that follow pickup): what is
  still frozen is released.
- Refund owed (``on_refund``): the refunded part of each accrual is taken back, from the
  frozen part first, then from the released part.

Every movement is a new row with a unique ``ref`` (order, kind, event, refund), so a hook
called twice appends once; balances are sums; rows are never updated or deleted (the
database refuses it).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from models.growth import (
    EarningEntry,
    EarningEvent,
    EarningKind,
    EarningStatement,
)
from models.order import Order
from models.payment import Payment, Refund
from services import growth_rules

logger = logging.getLogger(__name__)

HONOURED = "honoured"
# An order paid within this long of its buyer's group visit is that group's (last touch).
GROUP_WINDOW = timedelta(hours=24)
# The growth rules without a row (growth_rules.DEFAULTS) as the accrual statement takes them:
# the leader's share, level 1, level 2.
DEFAULT_BPS = [
    growth_rules.DEFAULTS.leader_share_bps,
    growth_rules.DEFAULTS.level_rate(1),
    growth_rules.DEFAULTS.level_rate(2),
]


async def _append(
    *,
    earner_id: uuid.UUID,
    order: Order,
    community_id: uuid.UUID | None,
    kind: EarningKind,
    event: EarningEvent,
    amount: int,
    frozen: int,
    available: int,
    ref: str,
    now: datetime,
    base: int = 0,
    rate_bps: int = 0,
) -> EarningEntry | None:
    try:
        async with in_transaction():  # a savepoint: a repeat must not poison the caller
            return await EarningEntry.create(
                earner_id=earner_id,
                order_id=order.id,
                community_id=community_id,
                kind=kind,
                event=event,
                amount=amount,
                frozen_delta=frozen,
                available_delta=available,
                base=base,
                rate_bps=rate_bps,
                ref=ref,
                created_at=now,
            )
    except IntegrityError:  # this movement is already in the ledger
        return None


# The rule (the order's group tie, the leader's share, the two invite levels, each once by
# ``ref``) is ``qunshop_accrue_order_earnings`` (migrations 0160, 0170): the pay notify's
# statement calls it with the order's row, this with its id (``qunshop_accrue_earnings``).
_ACCRUE_SQL = "SELECT * FROM qunshop_accrue_earnings($1, $2, $3, $4, $5)"


async def on_paid(order: Order, *, now: datetime) -> list[EarningEntry]:
    """Once the order is honoured, in its payment's transaction: accrue, frozen; the entries
    appended (none already in the ledger). Also ties the order to its buyer's last group
    chat visit (``GROUP_WINDOW``) when it has no group yet. The pay notify's statement does
    this itself; refunds owed after it take back from these accruals."""
    rows = await connections.get("default").execute_query_dict(
        _ACCRUE_SQL, [order.id, now, growth_rules.SCOPE, DEFAULT_BPS, GROUP_WINDOW]
    )
    entries = [EarningEntry._init_from_db(**row) for row in rows]
    if entries:
        logger.info("order %s accrued %s earnings entries", order.id, len(entries))
    return entries


async def _movements(order_id: uuid.UUID) -> dict[EarningKind, list[EarningEntry]]:
    by_kind: dict[EarningKind, list[EarningEntry]] = {}
    for entry in await EarningEntry.filter(order_id=order_id).order_by("created_at"):
        by_kind.setdefault(entry.kind, []).append(entry)
    return by_kind


def _frozen(moves: list[EarningEntry]) -> int:
    return sum(m.frozen_delta for m in moves)


async def on_completed(order: Order, *, now: datetime) -> list[EarningEntry]:
    """Completed: release what is still frozen. Idempotent."""
    released = []
    for kind, moves in (await _movements(order.id)).items():
        accrual = next((m for m in moves if m.event is EarningEvent.ACCRUE), None)
        frozen = _frozen(moves)
        if accrual is None or frozen <= 0:
            continue
        entry = await _append(
            earner_id=accrual.earner_id,
            order=order,
            community_id=accrual.community_id,
            kind=kind,
            event=EarningEvent.RELEASE,
            amount=frozen,
            frozen=-frozen,
            available=frozen,
            ref=f"{order.id}:{kind}:release",
            now=now,
        )
        if entry is not None:
            released.append(entry)
    return released


async def on_refund(order: Order, *, refund: Refund, now: datetime) -> list[EarningEntry]:
    """A refund is owed: take back the refunded share of every accrual. Once per refund.

    Only refunds of the honoured payment count (a second payment sent back as unhonourable
    took nothing from the order's earnings).
    """
    payment = await Payment.get(id=refund.payment_id)
    if payment.outcome != HONOURED:
        return []
    refunds = await Refund.filter(order_id=order.id, payment_id=payment.id)
    refunded = sum(r.amount for r in refunds)
    reversed_entries = []
    for kind, moves in (await _movements(order.id)).items():
        accrual = next((m for m in moves if m.event is EarningEvent.ACCRUE), None)
        if accrual is None or accrual.base <= 0:
            continue
        taken = sum(m.amount for m in moves if m.event is EarningEvent.REVERSE)
        keep = accrual.amount * max(accrual.base - refunded, 0) // accrual.base
        take = accrual.amount - keep - taken
        if take <= 0:
            continue
        from_frozen = min(take, max(_frozen(moves), 0))
        entry = await _append(
            earner_id=accrual.earner_id,
            order=order,
            community_id=accrual.community_id,
            kind=kind,
            event=EarningEvent.REVERSE,
            amount=take,
            frozen=-from_frozen,
            available=-(take - from_frozen),
            ref=f"{order.id}:{kind}:reverse:{refund.id}",
            now=now,
        )
        if entry is not None:
            reversed_entries.append(entry)
    if reversed_entries:
        logger.info("refund %s reversed %s earnings entries", refund.id, len(reversed_entries))
    return reversed_entries


@dataclass(frozen=True)
class Balance:
    frozen: int
    available: int


@dataclass(frozen=True)
class Period:
    accrued: int
    released: int
    reversed: int
    orders: int


@dataclass(frozen=True)
class Summary:
    balance: Balance
    week: Period
    week_start: date
    recent: list[EarningEntry]


async def balance(earner_id: uuid.UUID, *, before: datetime | None = None) -> Balance:
    query = EarningEntry.filter(earner_id=earner_id)
    if before is not None:
        query = query.filter(created_at__lt=before)
    rows = (
        await query.annotate(f=Sum("frozen_delta"), a=Sum("available_delta"))
        .group_by("earner_id")
        .values("f", "a")
    )
    if not rows:
        return Balance(frozen=0, available=0)
    return Balance(frozen=int(rows[0]["f"] or 0), available=int(rows[0]["a"] or 0))


async def _period(earner_id: uuid.UUID, start: datetime, end: datetime) -> Period:
    entries = await EarningEntry.filter(
        earner_id=earner_id, created_at__gte=start, created_at__lt=end
    )

    def total(event: EarningEvent) -> int:
        return sum(e.amount for e in entries if e.event is event)

    orders = {e.order_id for e in entries if e.event is EarningEvent.ACCRUE}
    return Period(
        accrued=total(EarningEvent.ACCRUE),
        released=total(EarningEvent.RELEASE),
        reversed=total(EarningEvent.REVERSE),
        orders=len(orders),
    )


def week_bounds(day: date, tz: ZoneInfo) -> tuple[date, datetime, datetime]:
    """The Monday of ``day``'s week and that week's start and end, in UTC."""
    monday = day - timedelta(days=day.weekday())
    start = datetime.combine(monday, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=tz).astimezone(UTC)
    return monday, start, end


async def summary(earner_id: uuid.UUID, *, now: datetime, timezone: str) -> Summary:
    """The balances, this week's movements and the latest entries of one earner."""
    monday, start, end = week_bounds(now.astimezone(ZoneInfo(timezone)).date(), ZoneInfo(timezone))
    recent = await EarningEntry.filter(earner_id=earner_id).order_by("-created_at").limit(20)
    return Summary(
        balance=await balance(earner_id),
        week=await _period(earner_id, start, end),
        week_start=monday,
        recent=list(recent),
    )


async def _statement(
    earner_id: uuid.UUID, *, week: tuple[date, datetime, datetime], now: datetime
) -> EarningStatement:
    monday, start, end = week
    existing = await EarningStatement.get_or_none(earner_id=earner_id, week_start=monday)
    if existing is not None:
        return existing
    period = await _period(earner_id, start, end)
    closing = await balance(earner_id, before=end)
    try:
        async with in_transaction():
            return await EarningStatement.create(
                earner_id=earner_id,
                week_start=monday,
                accrued=period.accrued,
                released=period.released,
                reversed=period.reversed,
                frozen_balance=closing.frozen,
                available_balance=closing.available,
                created_at=now,
            )
    except IntegrityError:  # another process made it
        return await EarningStatement.get(earner_id=earner_id, week_start=monday)


def last_week(*, now: datetime, timezone: str) -> tuple[date, datetime, datetime]:
    """Last week's Monday, and its start and end in UTC (weeks in ``timezone``)."""
    tz = ZoneInfo(timezone)
    return week_bounds(now.astimezone(tz).date() - timedelta(days=7), tz)


async def statement_of_last_week(
    earner_id: uuid.UUID, *, now: datetime, timezone: str
) -> EarningStatement | None:
    """One earner's statement of last week (made once); None if nothing moved that week."""
    week = last_week(now=now, timezone=timezone)
    _, start, end = week
    if not await EarningEntry.exists(
        earner_id=earner_id, created_at__gte=start, created_at__lt=end
    ):
        return None
    return await _statement(earner_id, week=week, now=now)


async def weekly_statements(*, now: datetime, timezone: str) -> list[EarningStatement]:
    """For the clock, weekly: last week's statement of every earner whose ledger moved.

    Idempotent: a statement already made for an earner and week is returned as it is.
    """
    week = last_week(now=now, timezone=timezone)
    _, start, end = week
    earners = set(
        await EarningEntry.filter(created_at__gte=start, created_at__lt=end).values_list(
            "earner_id", flat=True
        )
    )
    made = [await _statement(e, week=week, now=now) for e in sorted(earners, key=str)]
    logger.info("weekly earnings statements for %s: %s", week[0], len(made))
    return made


async def statements_of(earner_id: uuid.UUID, *, limit: int = 12) -> list[EarningStatement]:
    return list(
        await EarningStatement.filter(earner_id=earner_id).order_by("-week_start").limit(limit)
    )
