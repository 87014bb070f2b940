"""Delivery batches: the daily wave from a community's order cut-off to its pickup point.

- A community's ``DeliveryPlan`` names its cut-off (local "HH:MM"); ``next_cutoff_at`` is
  the deadline the clock reads (services/deadlines.py).
- At the cut-off ``cut_due`` makes one batch per pickup point (a community has one) of the
  confirmed orders paid by then and not yet in a batch: orders paid after the cut-off wait
  for the next one. ``uq_batch_cutoff`` and the locked plan row cut each cut-off once.
- A batch is ``dispatched``; the leader's 到货 (services/pickup.py's ``arrived``, the one
  arrival path) makes it ``arrived`` with its counts, and a SKU that came short refunds the
  orders not filled, newest orders first (``short_orders``), through services/refunds.py;
- the clock closes an arrived batch once nothing of it waits at the pickup point.

The pick list (SKU, quantity, per order), the totals per supplier for purchasing and the
route sheet are read from the batch's lines in services/batch_sheets.py.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from models.community import Community, PickupPoint
from models.delivery import BatchOrder, BatchShortage, BatchStatus, DeliveryBatch, DeliveryPlan
from models.limits import MAX_PRICE
from models.order import Order, OrderStatus
from models.payment import Payment
from qunshop.errors import Conflict, ErrorCode, Invalid, NotFound
from services import batch_sheets, communities, news, orders, refunds

if TYPE_CHECKING:
    from services.auth import Principal

logger = logging.getLogger(__name__)

CUTOFF = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
SHORTAGE_REASON = "shortage"
WAITING = (OrderStatus.CONFIRMED, OrderStatus.READY_FOR_PICKUP)


# The plan ------------------------------------------------------------------------------------


def next_cutoff(cutoff: str, timezone: str, after: datetime) -> datetime:
    """The first ``cutoff`` (local wall time in ``timezone``) strictly after ``after``, in UTC."""
    match = CUTOFF.match(cutoff)
    if match is None:
        raise Invalid(ErrorCode.DELIVERY_PLAN_INVALID, "the cut-off is HH:MM, 00:00 to 23:59")
    tz = ZoneInfo(timezone)
    at = time(int(match[1]), int(match[2]))
    day = after.astimezone(tz).date()
    while True:  # today's, else tomorrow's (by the calendar: a DST day is not 24 hours)
        candidate = datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
        if candidate > after:
            return candidate
        day += timedelta(days=1)


async def set_plan(
    *,
    principal: Principal,
    community_id: str,
    cutoff: str,
    home_delivery: bool,
    delivery_fee: int,
    now: datetime,
) -> DeliveryPlan:
    """The community's leader (or an admin) sets the cut-off; the next one is due from now."""
    community = await communities.get_community(community_id)
    await communities.ensure_can_manage(principal, community)
    if not 0 <= delivery_fee <= MAX_PRICE:
        raise Invalid(ErrorCode.DELIVERY_PLAN_INVALID, f"the fee is 0..{MAX_PRICE} fen")
    due = next_cutoff(cutoff, community.timezone, now)
    plan, _ = await DeliveryPlan.update_or_create(
        community_id=community.id,
        defaults={
            "cutoff": cutoff,
            "next_cutoff_at": due,
            "home_delivery": home_delivery,
            "delivery_fee": delivery_fee,
        },
    )
    logger.info("community %s cuts orders at %s (next %s)", community.id, cutoff, due)
    return plan


async def plan_of(community_id: str) -> DeliveryPlan:
    community = await communities.get_community(community_id)
    plan = await DeliveryPlan.get_or_none(community_id=community.id)
    if plan is None:
        raise NotFound(ErrorCode.DELIVERY_PLAN_NOT_FOUND, "this community has no cut-off set")
    return plan


@dataclass(frozen=True)
class PlanOf:
    community: Community
    plan: DeliveryPlan | None  # None: no cut-off set yet


async def my_plans(*, principal: Principal) -> list[PlanOf]:
    """The cut-off of each community the caller leads (the console's delivery page)."""
    led = await Community.filter(leader_id=principal.user_id).order_by("created_at", "id")
    plans = {
        p.community_id: p for p in await DeliveryPlan.filter(community_id__in=[c.id for c in led])
    }
    return [PlanOf(community=c, plan=plans.get(c.id)) for c in led]


async def next_due() -> datetime | None:
    plan = (
        await DeliveryPlan.filter(next_cutoff_at__isnull=False).order_by("next_cutoff_at").first()
    )
    return plan.next_cutoff_at if plan else None


# The cut ---------------------------------------------------------------------------------------


async def cut_due(*, now: datetime) -> list[DeliveryBatch]:
    """Every cut-off now due: its batch (None when no order waited), and the next cut-off."""
    made = []
    due = await DeliveryPlan.filter(next_cutoff_at__lte=now).values_list("id", flat=True)
    for plan_id in due:
        async with in_transaction():
            plan = await DeliveryPlan.filter(id=plan_id).select_for_update().get()
            if plan.next_cutoff_at is None or plan.next_cutoff_at > now:
                continue  # another scheduler cut it meanwhile
            community = await Community.get(id=plan.community_id)
            batch = await _cut(community, plan.next_cutoff_at, now)
            # Cut-offs missed while the server was down coalesce into this one.
            plan.next_cutoff_at = next_cutoff(plan.cutoff, community.timezone, now)
            await plan.save(update_fields=["next_cutoff_at"])
        if batch is not None:
            made.append(batch)
    return made


async def _cut(community: Community, cutoff_at: datetime, now: datetime) -> DeliveryBatch | None:
    confirmed = (
        await Order.filter(
            community_id=community.id, status=OrderStatus.CONFIRMED, paid_at__lte=cutoff_at
        )
        .select_for_update()
        .prefetch_related("sku__product")
        .order_by("paid_at", "created_at")
    )
    batched = set(
        await BatchOrder.filter(order_id__in=[o.id for o in confirmed]).values_list(
            "order_id", flat=True
        )
    )
    taken = [o for o in confirmed if o.id not in batched]
    if not taken:
        logger.info("cut-off %s of community %s: no order to deliver", cutoff_at, community.id)
        return None
    point = await PickupPoint.get_or_none(community_id=community.id)
    local = cutoff_at.astimezone(ZoneInfo(community.timezone)).date()
    batch = await DeliveryBatch.create(
        community_id=community.id,
        pickup_point_id=point.id if point else None,
        cutoff_at=cutoff_at,
        delivery_date=local + timedelta(days=1),
        orders=len(taken),
        units=sum(o.quantity for o in taken),
        created_at=now,
    )
    await BatchOrder.bulk_create(
        [
            BatchOrder(
                batch_id=batch.id,
                order_id=o.id,
                sku_id=o.sku_id,
                supplier_id=o.sku.product.supplier_id,
                quantity=o.quantity,
            )
            for o in taken
        ]
    )
    logger.info("batch %s: %s orders of community %s", batch.id, len(taken), community.id)
    return batch


# Arrival (called by services/pickup.py's arrived, inside its transaction) -------------------


@dataclass(frozen=True)
class Shortage:
    """What the leader counted short: ``sku`` is a pick-list number ("1") or a SKU id."""

    sku: str
    short: int


@dataclass(frozen=True)
class Arriving:
    batch: DeliveryBatch | None  # None: the community cuts no batches (the legacy 到货)
    waiting: list[Order]  # to be made ready for pickup
    refunded: list[Order]
    shortages: list[tuple[BatchShortage, str]]  # (the count, the SKU's title)


async def arriving(
    *, community: Community, shortages: list[Shortage], now: datetime
) -> Arriving | None:
    """The batch 到货 is about, with its shortages refunded; None: no cut-off is set.

    Locks the batch, then its confirmed orders, so two 到货 at once arrive it once.
    """
    if not await DeliveryPlan.exists(community_id=community.id):
        if shortages:
            raise Invalid(ErrorCode.NO_BATCH_DISPATCHED, "no batch is on its way: nothing to count")
        return None
    batch = (
        await DeliveryBatch.filter(community_id=community.id, status=BatchStatus.DISPATCHED)
        .select_for_update()
        .order_by("cutoff_at")
        .first()
    )
    if batch is None:
        if shortages:
            raise Invalid(ErrorCode.NO_BATCH_DISPATCHED, "no batch is on its way: nothing to count")
        return Arriving(None, [], [], [])
    lines = await batch_sheets.lines_of([batch.id])
    ids = [line.order_id for line in lines]
    locked = {
        o.id: o for o in await Order.filter(id__in=ids).select_for_update().order_by("created_at")
    }
    picks = batch_sheets.picks_of(lines)
    refunded: list[Order] = []
    counted = []
    for number, short in _resolve(picks, shortages):
        pick = picks[number - 1]
        if not 1 <= short <= pick.quantity:
            raise Invalid(
                ErrorCode.SHORTAGE_INVALID,
                f"{pick.title}: {pick.quantity} ordered, so 1..{pick.quantity} can be short",
                number=number,
                ordered=pick.quantity,
            )
        unfilled = short_orders(
            [
                (o.order, o.quantity)
                for o in pick.orders
                if locked[o.order.id].status is OrderStatus.CONFIRMED
            ],
            short,
        )
        for order in unfilled:
            await _refund(locked[order.id], batch, now)
            refunded.append(locked[order.id])
        await BatchOrder.filter(batch_id=batch.id, order_id__in=[o.id for o in unfilled]).update(
            short=True
        )
        row = await BatchShortage.create(
            batch_id=batch.id,
            sku_id=pick.sku.id,
            ordered=pick.quantity,
            short=short,
            refunded_orders=len(unfilled),
        )
        counted.append((row, pick.title))
    if refunded:
        await news.publish(
            news.SHORTAGE, ref=str(batch.id), now=now, order_ids=[str(o.id) for o in refunded]
        )
    gone = {o.id for o in refunded}
    waiting = [o for o in locked.values() if o.status is OrderStatus.CONFIRMED and o.id not in gone]
    return Arriving(batch, waiting, refunded, counted)


def _resolve(
    picks: list[batch_sheets.PickLine], shortages: list[Shortage]
) -> list[tuple[int, int]]:
    """(pick-list number, units short) of each reported shortage, each SKU once."""
    by_id = {str(p.sku.id): p.number for p in picks}
    found: dict[int, int] = {}
    for shortage in shortages:
        text = shortage.sku.strip()
        number = int(text) if text.isdecimal() and len(text) <= 4 else by_id.get(text)
        if number is None or not 1 <= number <= len(picks):
            raise Invalid(
                ErrorCode.SHORTAGE_INVALID, f"the batch has no SKU {text[:40]!r}", sku=text[:40]
            )
        if number in found:
            raise Invalid(
                ErrorCode.SHORTAGE_INVALID, f"SKU {number} is counted twice", twice=number
            )
        found[number] = shortage.short
    return sorted(found.items())


def short_orders(orders_oldest_first: list[tuple[Order, int]], short: int) -> list[Order]:
    """The orders not filled when ``short`` units are missing: newest orders first, whole
    orders, until the missing units are covered."""
    unfilled: list[Order] = []
    covered = 0
    for order, quantity in reversed(orders_oldest_first):
        if covered >= short:
            break
        unfilled.append(order)
        covered += quantity
    return unfilled


async def _refund(order: Order, batch: DeliveryBatch, now: datetime) -> None:
    """What is left of the order goes back through the one refund path (services/refunds.py),
    once per batch: an earlier partial refund (after-sales, a claim) is not paid twice."""
    await orders.transition(order, OrderStatus.REFUNDING)
    payment = await Payment.get(order_id=order.id, outcome="honoured")
    left = payment.amount - payment.refunded
    if left > 0:
        await refunds.owe(
            order=order,
            payment=payment,
            amount=left,
            reason=SHORTAGE_REASON,
            cause=f"{SHORTAGE_REASON}:{batch.id}",
            now=now,
        )


async def mark_arrived(batch: DeliveryBatch, *, arrival_id: object, now: datetime) -> None:
    await DeliveryBatch.filter(id=batch.id, status=BatchStatus.DISPATCHED).update(
        status=BatchStatus.ARRIVED, arrived_at=now, arrival_id=arrival_id
    )


# Closing ---------------------------------------------------------------------------------------


async def close(*, principal: Principal, batch_id: str, now: datetime) -> DeliveryBatch:
    """The leader or an operator closes an arrived batch (what still waits may be picked up)."""
    batch = await batch_sheets.get_batch(principal=principal, batch_id=batch_id)
    if batch.status is BatchStatus.DISPATCHED:
        raise Conflict(ErrorCode.BATCH_NOT_ARRIVED, "the batch has not arrived yet (到货 first)")
    await DeliveryBatch.filter(id=batch.id, status=BatchStatus.ARRIVED).update(
        status=BatchStatus.CLOSED, closed_at=now
    )
    return await DeliveryBatch.get(id=batch.id)


async def close_done(*, now: datetime) -> int:
    """The clock: an arrived batch none of whose orders still waits is closed."""
    closed = 0
    for batch in await DeliveryBatch.filter(status=BatchStatus.ARRIVED).limit(500):
        if await Order.filter(batch_line__batch_id=batch.id, status__in=WAITING).exists():
            continue
        closed += await DeliveryBatch.filter(id=batch.id, status=BatchStatus.ARRIVED).update(
            status=BatchStatus.CLOSED, closed_at=now
        )
    return closed
