"""Home delivery, where a community allows it (its ``DeliveryPlan``): the buyer picks one
of their addresses for an order awaiting payment and the community's fee is added to what
they pay; the order rides its delivery batch as any other, and after 到货 the leader
dispatches it with a tracking number and marks it delivered (which is its pickup).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models.community import Community
from models.delivery import Address, DeliveryPlan, HomeDelivery, HomeStatus
from models.limits import MAX_AMOUNT
from models.order import Order, OrderStatus
from qunshop.errors import Conflict, ErrorCode, Invalid, NotFound
from services import communities, orders
from services.ids import parse_uuid

if TYPE_CHECKING:
    from services.auth import Principal

logger = logging.getLogger(__name__)

MAX_ADDRESSES = 20


async def add_address(
    *, principal: Principal, recipient: str, phone: str, detail: str, now: datetime
) -> Address:
    if await Address.filter(user_id=principal.user_id).count() >= MAX_ADDRESSES:
        raise Invalid(ErrorCode.VALIDATION_FAILED, f"at most {MAX_ADDRESSES} addresses")
    return await Address.create(
        user_id=principal.user_id, recipient=recipient, phone=phone, detail=detail, created_at=now
    )


async def addresses(*, principal: Principal) -> list[Address]:
    return await Address.filter(user_id=principal.user_id).order_by("-created_at")


async def choose(
    *, principal: Principal, order_id: str, address_id: str, now: datetime
) -> HomeDelivery:
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
        delivery = await HomeDelivery.create(
            order_id=order.id,
            recipient=address.recipient,
            phone=address.phone,
            address=address.detail,
            fee=plan.delivery_fee,
            created_at=now,
        )
    logger.info("order %s goes home (fee %s fen)", order.id, plan.delivery_fee)
    return delivery


async def of_order(*, principal: Principal, order_id: str) -> HomeDelivery:
    order = await orders.get_order_for(principal, order_id)
    found = await HomeDelivery.get_or_none(order_id=order.id)
    if found is None:
        raise NotFound(ErrorCode.HOME_DELIVERY_NOT_FOUND, "this order is picked up, not delivered")
    return found


async def _for_staff(principal: Principal, order_id: str) -> tuple[Order, HomeDelivery]:
    key = parse_uuid(order_id)
    found = await HomeDelivery.get_or_none(order_id=key).prefetch_related("order") if key else None
    if found is None or found.order.community_id is None:
        raise NotFound(ErrorCode.HOME_DELIVERY_NOT_FOUND, "no home delivery of this order")
    await communities.ensure_can_manage(principal, await Community.get(id=found.order.community_id))
    return found.order, found


async def dispatch(
    *, principal: Principal, order_id: str, tracking_no: str, now: datetime
) -> HomeDelivery:
    """The leader sends an arrived order to the buyer's door, with its tracking number."""
    order, found = await _for_staff(principal, order_id)
    if order.status is not OrderStatus.READY_FOR_PICKUP:
        raise Conflict(ErrorCode.ORDER_NOT_READY_FOR_PICKUP, "the goods have not arrived (到货)")
    moved = await HomeDelivery.filter(id=found.id, status=HomeStatus.PENDING).update(
        status=HomeStatus.DISPATCHED, tracking_no=tracking_no, dispatched_at=now
    )
    if moved != 1:
        raise Conflict(ErrorCode.ILLEGAL_TRANSITION, f"the delivery is {found.status.value}")
    return await HomeDelivery.get(id=found.id)


async def delivered(*, principal: Principal, order_id: str, now: datetime) -> HomeDelivery:
    """At the door: the delivery is done and the order counts as picked up."""
    order, found = await _for_staff(principal, order_id)
    async with in_transaction():
        moved = await HomeDelivery.filter(id=found.id, status=HomeStatus.DISPATCHED).update(
            status=HomeStatus.DELIVERED, delivered_at=now
        )
        if moved != 1:
            raise Conflict(ErrorCode.ILLEGAL_TRANSITION, f"the delivery is {found.status.value}")
        await orders.transition(order, OrderStatus.PICKED_UP, picked_up_at=now)
    return await HomeDelivery.get(id=found.id)
