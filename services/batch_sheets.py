"""The sheets of delivery batches (services/batches.py): the pick list (SKU, quantity, per
order, numbered for 到货 1缺2), the totals per supplier for purchasing, the route stop, and
an operator's delivery day (purchasing and the route sheet over every batch of a date)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from models.catalog import Sku
from models.community import Community, PickupPoint
from models.delivery import (
    BatchOrder,
    BatchShortage,
    BatchStatus,
    DeliveryBatch,
    DeliveryPlan,
)
from models.order import Order
from models.supply import Supplier
from models.user import Role, User
from qunshop.errors import ErrorCode, Forbidden, NotFound
from qunshop.templates import goods_name, person_name
from services import communities
from services.ids import parse_uuid

if TYPE_CHECKING:
    from services.auth import Principal

OWN_STOCK = "自营"  # the purchasing line of products with no supplier


@dataclass(frozen=True)
class PickOrder:
    order: Order
    buyer: str
    quantity: int
    short: bool


@dataclass(frozen=True)
class PickLine:
    number: int  # what the leader types in 到货 1缺2
    sku: Sku
    title: str
    quantity: int
    orders: list[PickOrder]


@dataclass(frozen=True)
class Purchase:
    supplier: str  # the supplier's name, or OWN_STOCK
    supplier_id: str | None
    lines: list[tuple[str, int]]  # (SKU title, units)
    units: int


@dataclass(frozen=True)
class Stop:
    batch: DeliveryBatch
    community: Community
    pickup_point: PickupPoint | None
    leader: str
    orders: int
    units: int


@dataclass(frozen=True)
class Sheet:
    batch: DeliveryBatch
    stop: Stop
    picks: list[PickLine]
    purchases: list[Purchase]
    shortages: list[BatchShortage] = field(default_factory=list)


def title_of(sku: Sku) -> str:
    return goods_name(sku.product.title, sku.name)


async def lines_of(batch_ids: list[object]) -> list[BatchOrder]:
    found = await BatchOrder.filter(batch_id__in=batch_ids).prefetch_related(
        "sku__product", "order__user"
    )
    return sorted(
        found,
        key=lambda b: (title_of(b.sku), str(b.sku_id), b.order.paid_at or b.order.created_at),
    )


def picks_of(lines: list[BatchOrder]) -> list[PickLine]:
    by_sku: dict[object, list[BatchOrder]] = defaultdict(list)
    for line in lines:
        by_sku[line.sku_id].append(line)
    return [
        PickLine(
            number=number,
            sku=group[0].sku,
            title=title_of(group[0].sku),
            quantity=sum(g.quantity for g in group),
            orders=[
                PickOrder(
                    g.order,
                    person_name(g.order.user.nickname, g.order.out_trade_no),
                    g.quantity,
                    g.short,
                )
                for g in group
            ],
        )
        for number, group in enumerate(by_sku.values(), start=1)
    ]


async def _purchases(lines: list[BatchOrder]) -> list[Purchase]:
    names = {
        s.id: s.name
        for s in await Supplier.filter(id__in={ln.supplier_id for ln in lines if ln.supplier_id})
    }
    units: dict[object, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for line in lines:
        units[line.supplier_id][title_of(line.sku)] += line.quantity
    found = [
        Purchase(
            supplier=names.get(sid, OWN_STOCK) if sid else OWN_STOCK,
            supplier_id=str(sid) if sid else None,
            lines=sorted(per_sku.items()),
            units=sum(per_sku.values()),
        )
        for sid, per_sku in units.items()
    ]
    return sorted(found, key=lambda p: (p.supplier_id is None, p.supplier))


async def _stop(batch: DeliveryBatch) -> Stop:
    community = await Community.get(id=batch.community_id)
    leader = await User.get(id=community.leader_id)
    point = None
    if batch.pickup_point_id:
        point = await PickupPoint.get_or_none(id=batch.pickup_point_id)
    return Stop(batch, community, point, leader.nickname, batch.orders, batch.units)


async def get_batch(*, principal: Principal, batch_id: str) -> DeliveryBatch:
    key = parse_uuid(batch_id)
    batch = await DeliveryBatch.get_or_none(id=key) if key else None
    if batch is None:
        raise NotFound(ErrorCode.BATCH_NOT_FOUND, "no such batch")
    community = await Community.get(id=batch.community_id)
    if principal.role is not Role.ADMIN and community.leader_id != principal.user_id:
        raise NotFound(ErrorCode.BATCH_NOT_FOUND, "no such batch")  # not probed
    return batch


async def sheet(batch: DeliveryBatch) -> Sheet:
    """The batch's pick list, its purchasing totals and its stop on the route."""
    lines = await lines_of([batch.id])
    return Sheet(
        batch=batch,
        stop=await _stop(batch),
        picks=picks_of(lines),
        purchases=await _purchases(lines),
        shortages=await BatchShortage.filter(batch_id=batch.id).prefetch_related("sku__product"),
    )


async def batch_sheet(*, principal: Principal, batch_id: str) -> Sheet:
    return await sheet(await get_batch(principal=principal, batch_id=batch_id))


@dataclass(frozen=True)
class Current:
    """What 批次 shows: the batch's sheet, or (none cut yet) the cut-off that will cut one."""

    sheet: Sheet | None
    plan: DeliveryPlan | None  # read only when there is no batch; None: no cut-off set


async def current_sheet(*, principal: Principal, community_id: str | None) -> Current:
    """The leader's batch on its way (else the latest): what 批次 shows in the chat."""
    community = await communities.managed_or_first(principal, community_id)
    batch = (
        await DeliveryBatch.filter(community_id=community.id, status=BatchStatus.DISPATCHED)
        .order_by("cutoff_at")
        .first()
    ) or await DeliveryBatch.filter(community_id=community.id).order_by("-cutoff_at").first()
    if batch is not None:
        return Current(sheet=await sheet(batch), plan=None)
    return Current(sheet=None, plan=await DeliveryPlan.get_or_none(community_id=community.id))


async def list_batches(
    *, principal: Principal, community_id: str | None, status: BatchStatus | None
) -> list[DeliveryBatch]:
    query = DeliveryBatch.all()
    if community_id is not None:
        community = await communities.get_community(community_id)
        await communities.ensure_can_manage(principal, community)
        query = query.filter(community_id=community.id)
    elif principal.role is not Role.ADMIN:
        query = query.filter(community__leader_id=principal.user_id)
    if status is not None:
        query = query.filter(status=status)
    return await query.order_by("-cutoff_at").limit(100)


@dataclass(frozen=True)
class DeliveryDay:
    day: date
    purchases: list[Purchase]
    route: list[Stop]


async def delivery_day(*, principal: Principal, day: date) -> DeliveryDay:
    """An operator's day: what to buy from each supplier, and the stops of the route."""
    if principal.role is not Role.ADMIN:
        raise Forbidden(ErrorCode.FORBIDDEN, "operators only")
    batches = await DeliveryBatch.filter(delivery_date=day)
    lines = await lines_of([b.id for b in batches])
    stops = [await _stop(b) for b in batches]
    stops.sort(key=lambda s: (s.pickup_point.address if s.pickup_point else "", s.community.name))
    return DeliveryDay(day=day, purchases=await _purchases(lines), route=stops)
