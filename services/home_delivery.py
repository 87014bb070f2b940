"""Home delivery, where a community allows it (its ``DeliveryPlan``): the buyer picks one
of their addresses for an order awaiting payment and the community's fee is added to what
they pay; the order rides its delivery batch as any other, and after 到货 the leader
dispatches it with a tracking number and marks it delivered (which is its pickup).

The recipient's name and phone are sealed at rest (services/personal.py, the row's id bound
in). Their owner reads them opened; a leader or operator reads them only with an entry in the
audit log (``personal.read``, about the buyer), as an operator reads anyone's details.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models.community import Community
from models.delivery import Address, DeliveryPlan, HomeDelivery, HomeStatus
from models.limits import MAX_AMOUNT
from models.order import Order, OrderStatus
from qunshop.errors import Conflict, ErrorCode, Invalid, NotFound
from services import audit, communities, orders, personal
from services.ids import parse_uuid

if TYPE_CHECKING:
    from qunshop.config import Settings
    from services.auth import Principal

logger = logging.getLogger(__name__)

MAX_ADDRESSES = 20


@dataclass(frozen=True)
class ShownAddress:
    address: Address
    recipient: str
    phone: str


@dataclass(frozen=True)
class Shown:
    """A home delivery with its recipient opened, for whoever may read it."""

    delivery: HomeDelivery
    recipient: str
    phone: str


def open_address(address: Address, key: bytes) -> ShownAddress:
    return ShownAddress(
        address,
        personal.unseal(address.recipient_sealed, key=key, owner=address.id),
        personal.unseal(address.phone_sealed, key=key, owner=address.id),
    )


def open_delivery(delivery: HomeDelivery, key: bytes) -> Shown:
    return Shown(
        delivery,
        personal.unseal(delivery.recipient_sealed, key=key, owner=delivery.id),
        personal.unseal(delivery.phone_sealed, key=key, owner=delivery.id),
    )


async def add_address(
    *,
    principal: Principal,
    recipient: str,
    phone: str,
    detail: str,
    settings: Settings,
    now: datetime,
) -> ShownAddress:
    if await Address.filter(user_id=principal.user_id).count() >= MAX_ADDRESSES:
        raise Invalid(ErrorCode.VALIDATION_FAILED, f"at most {MAX_ADDRESSES} addresses")
    key, row_id = personal.data_key(settings), uuid.uuid4()
    found = await Address.create(
        id=row_id,
        user_id=principal.user_id,
        recipient_sealed=personal.seal(recipient, key=key, owner=row_id),
        phone_sealed=personal.seal(phone, key=key, owner=row_id),
        detail=detail,
        created_at=now,
    )
    return open_address(found, key)


async def addresses(*, principal: Principal, settings: Settings) -> list[ShownAddress]:
    key = personal.data_key(settings)
    found = await Address.filter(user_id=principal.user_id).order_by("-created_at")
    return [open_address(a, key) for a in found]


async def choose(
    *, principal: Principal, order_id: str, address_id: str, settings: Settings, now: datetime
) -> Shown:
    """Deliver this unpaid order home: the community's fee joins its amount, once."""
    order = await orders.get_order_for(principal, order_id)
    key = parse_uuid(address_id)
    address = await Address.get_or_none(id=key, user_id=principal.user_id) if key else None
    if address is None:
        raise NotFound(ErrorCode.ADDRESS_NOT_FOUND, "no address of yours has this id")
    plan = (
        await DeliveryPlan.get_or_none(community_id=order.community_id)
        if order.community_id
        else None
    )
    if plan is None or not plan.home_delivery:
        raise Conflict(
            ErrorCode.HOME_DELIVERY_UNAVAILABLE, "this community delivers no orders home"
        )
    async with in_transaction():
        # Only an unpaid order, only once: the fee is charged with the goods.
        added = await Order.filter(
            id=order.id,
            status=OrderStatus.PENDING_PAYMENT,
            prepaid_at__isnull=True,  # WeChat Pay was not yet told the amount
            delivery_fee=0,
            amount__lte=MAX_AMOUNT - plan.delivery_fee,
        ).update(amount=F("amount") + plan.delivery_fee, delivery_fee=plan.delivery_fee)
        if added != 1 or await HomeDelivery.exists(order_id=order.id):
            raise Conflict(ErrorCode.ORDER_NOT_PAYABLE, "only an unpaid order, once, goes home")
        key, row_id = personal.data_key(settings), uuid.uuid4()
        chosen = open_address(address, key)
        delivery = await HomeDelivery.create(
            id=row_id,
            order_id=order.id,
            recipient_sealed=personal.seal(chosen.recipient, key=key, owner=row_id),
            phone_sealed=personal.seal(chosen.phone, key=key, owner=row_id),
            address=address.detail,
            fee=plan.delivery_fee,
            created_at=now,
        )
    logger.info("order %s goes home (fee %s fen)", order.id, plan.delivery_fee)
    return open_delivery(delivery, key)


async def of_order(
    *, principal: Principal, order_id: str, settings: Settings, now: datetime
) -> Shown:
    order = await orders.get_order_for(principal, order_id)
    found = await HomeDelivery.get_or_none(order_id=order.id)
    if found is None:
        raise NotFound(ErrorCode.HOME_DELIVERY_NOT_FOUND, "this order is picked up, not delivered")
    if order.user_id != principal.user_id:  # staff reading a buyer's delivery
        return await _staff_read(principal, order, found, settings=settings, now=now)
    return open_delivery(found, personal.data_key(settings))


async def _staff_read(
    actor: Principal,
    order: Order,
    found: HomeDelivery,
    *,
    settings: Settings,
    now: datetime,
) -> Shown:
    """A leader or operator reads the buyer's recipient details: audited, as the read is."""
    shown = open_delivery(found, personal.data_key(settings))
    await audit.record(
        actor=actor,
        action="personal.read",
        target=f"user:{order.user_id}",
        before={},
        after={"fields": ["recipient", "phone"], "home_delivery": str(found.id)},
        now=now,
    )
    return shown


async def _for_staff(principal: Principal, order_id: str) -> tuple[Order, HomeDelivery]:
    key = parse_uuid(order_id)
    found = await HomeDelivery.get_or_none(order_id=key).prefetch_related("order") if key else None
    if found is None or found.order.community_id is None:
        raise NotFound(ErrorCode.HOME_DELIVERY_NOT_FOUND, "no home delivery of this order")
    await communities.ensure_can_manage(principal, await Community.get(id=found.order.community_id))
    return found.order, found


async def dispatch(
    *, principal: Principal, order_id: str, tracking_no: str, settings: Settings, now: datetime
) -> Shown:
    """The leader sends an arrived order to the buyer's door, with its tracking number."""
    order, found = await _for_staff(principal, order_id)
    if order.status is not OrderStatus.READY_FOR_PICKUP:
        raise Conflict(ErrorCode.ORDER_NOT_READY_FOR_PICKUP, "the goods have not arrived (到货)")
    moved = await HomeDelivery.filter(id=found.id, status=HomeStatus.PENDING).update(
        status=HomeStatus.DISPATCHED, tracking_no=tracking_no, dispatched_at=now
    )
    if moved != 1:
        raise Conflict(ErrorCode.ILLEGAL_TRANSITION, f"the delivery is {found.status.value}")
    fresh = await HomeDelivery.get(id=found.id)
    return await _staff_read(principal, order, fresh, settings=settings, now=now)


async def delivered(
    *, principal: Principal, order_id: str, settings: Settings, now: datetime
) -> Shown:
    """At the door: the delivery is done and the order counts as picked up."""
    order, found = await _for_staff(principal, order_id)
    async with in_transaction():
        moved = await HomeDelivery.filter(id=found.id, status=HomeStatus.DISPATCHED).update(
            status=HomeStatus.DELIVERED, delivered_at=now
        )
        if moved != 1:
            raise Conflict(ErrorCode.ILLEGAL_TRANSITION, f"the delivery is {found.status.value}")
        await orders.transition(order, OrderStatus.PICKED_UP, picked_up_at=now)
    fresh = await HomeDelivery.get(id=found.id)
    return await _staff_read(principal, order, fresh, settings=settings, now=now)


async def route_sheet(
    *, principal: Principal, community_id: str, settings: Settings, now: datetime
) -> list[Shown]:
    """The leader's list of doors to go to: the community's home deliveries not yet
    delivered, oldest first, recipients opened. Each buyer read is in the audit log."""
    community = await communities.get_community(community_id)
    await communities.ensure_can_manage(principal, community)
    waiting = (
        await HomeDelivery.filter(
            order__community_id=community.id,
            status__in=(HomeStatus.PENDING, HomeStatus.DISPATCHED),
        )
        .order_by("created_at")
        .prefetch_related("order")
    )
    async with in_transaction():
        return [
            await _staff_read(principal, found.order, found, settings=settings, now=now)
            for found in waiting
        ]
