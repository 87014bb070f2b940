"""An order's price: the member discount (in a group order's price from its creation, and
again at checkout), one coupon and points, set at checkout; and what happens to the coupon
and the points as the order lives.

Rules, stated once:

- At most one coupon per order (``uq_coupon_order``). Setting the discounts again replaces
  them: the coupon and points the order held go back first.
- The price is fixed once WeChat Pay is asked (prepay sets ``prepaid_at`` in the statement
  that reads the order, services/prepays.py) and whenever the order no longer awaits
  payment (trigger ``orders_price_fixed``): ``order_price_fixed``.
- Every order charges at least one fen (WeChat Pay's least), so a coupon takes off at most
  the price less one fen.
- A coupon is locked while its order awaits payment, spent when the order is paid
  (``qunshop_pay_order``, migration 0080), and
  returned (available again, if still in its dates) when the order lapses or is cancelled,
  when its team fails, or when a payment could not be honoured. After-sales refunds of an
  order that was fulfilled or confirmed keep the coupon spent: the refund returns the money
  paid, and the coupon's value was never paid.
- Points spent come back on the same events as the coupon; points earned by the order are
  taken back on every refund of it (after-sales, shortage, claim, team failure), in
  proportion, as each refund succeeds (services/refunds.py, services/points.py).
- A new-user-only coupon needs a person who never paid an order, checked when it is set
  (and one live order per person may carry the offer, ``uq_order_new_user_offer``) and
  again when the payment arrives (``qunshop_pay_order``, migration 0080).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models.coupon import Coupon, CouponStatus, CouponTemplate
from models.order import Order, OrderKind, OrderStatus
from qunshop.errors import Conflict, ErrorCode, Invalid, NotFound
from services import coupons, points, tiers
from services.ids import parse_uuid

if TYPE_CHECKING:
    from services.auth import Principal

logger = logging.getLogger(__name__)

S = OrderStatus
# Transitions that give back the coupon and the points an order held.
_GIVE_BACK = {
    (S.PENDING_PAYMENT, S.CANCELLED),
    (S.PAID_AWAITING_TEAM, S.REFUNDING),  # the team failed
}


def member_off_of(unit_price: int, quantity: int, discount_bps: int) -> int:
    """The member tier's discount (fen) on ``quantity`` at the group price ``unit_price``."""
    return unit_price * quantity * discount_bps // 10_000


async def member_off(order: Order, now: datetime) -> int:
    """The member tier's discount (fen) on a group-buy order's group price."""
    if order.kind is not OrderKind.GROUP:
        return 0
    perks = await tiers.perks_for(order.user_id, now=now)
    return member_off_of(order.unit_price, order.quantity, perks.discount_bps)


async def member_discount_bps(user_id: uuid.UUID, *, now: datetime) -> int:
    """Before a group order is made: the member's tier discount on group prices (1/10000)."""
    return await tiers.discount_bps_for(user_id, now=now)


async def with_member_off(order: Order, discount_bps: int) -> Order:
    """Inside the transaction that made the group order (awaiting payment, no coupon or points
    yet, price not fixed): the member discount goes into its price from the start, so every
    door shows, and WeChat Pay is asked for, the discounted amount."""
    off = member_off_of(order.unit_price, order.quantity, discount_bps)
    if off <= 0 or order.kind is not OrderKind.GROUP:
        return order
    await Order.filter(id=order.id, status=S.PENDING_PAYMENT, prepaid_at=None).update(
        member_off=off, amount=F("amount") - off
    )
    order.member_off = off
    order.amount -= off
    return order


@dataclass(frozen=True)
class Quote:
    base: int  # unit_price * quantity - member_off
    coupon_off: int
    points: int


def ensure_payable(order: Order, now: datetime) -> None:
    """Only an order awaiting payment, inside its window, may be paid (or priced anew)."""
    if order.status is not S.PENDING_PAYMENT:
        raise Conflict(
            ErrorCode.ORDER_NOT_PAYABLE,
            f"the order is {order.status.value}, not awaiting payment",
            status_now=order.status.value,
        )
    if order.reserved_until is not None and order.reserved_until <= now:
        raise Conflict(ErrorCode.ORDER_NOT_PAYABLE, "the payment window has closed")


def _fixed(order: Order, now: datetime) -> None:
    ensure_payable(order, now)
    if order.prepaid_at is not None:
        raise Conflict(ErrorCode.ORDER_PRICE_FIXED, "WeChat Pay was asked: the price is fixed")


async def _coupon_for(order: Order, coupon_id: str, now: datetime) -> tuple[Coupon, CouponTemplate]:
    key = parse_uuid(coupon_id)
    coupon = await Coupon.get_or_none(id=key).select_related("template") if key else None
    if coupon is None or coupon.user_id != order.user_id:
        raise NotFound(ErrorCode.COUPON_NOT_FOUND, "no such coupon")
    if (
        coupon.status is not CouponStatus.AVAILABLE
        or not coupon.valid_from <= now < coupon.valid_until
    ):
        raise Conflict(ErrorCode.COUPON_NOT_USABLE, f"the coupon is {coupon.status.value}")
    if not await coupons.in_scope(
        coupon.template, sku_id=order.sku_id, community_id=order.community_id
    ):
        raise Conflict(ErrorCode.COUPON_NOT_USABLE, "the coupon is not for this product")
    if coupon.template.new_user_only and await coupons.has_paid_before(order.user_id):
        raise Conflict(ErrorCode.NEW_USER_OFFER_USED, "the new-user offer is for a first order")
    return coupon, coupon.template


async def _give_back(order: Order, *, now: datetime) -> None:
    """The coupon and the points ``order`` holds go back (inside the caller's transaction)."""
    await Coupon.filter(
        order_id=order.id, status__in=[CouponStatus.LOCKED, CouponStatus.USED]
    ).update(status=CouponStatus.AVAILABLE, order_id=None, used_at=None)
    if order.points_used > 0:
        await points.return_for_order(order.id, order.user_id, order.points_used, now=now)


async def set_discounts(
    *,
    principal: Principal,
    order_id: str,
    coupon_id: str | None,
    points_to_use: int,
    now: datetime,
) -> Order:
    """Checkout: price the caller's order awaiting payment with one coupon and points."""
    order = await _own(principal, order_id)
    if points_to_use < 0:
        raise Invalid(ErrorCode.VALIDATION_FAILED, "points must be 0 or more")
    async with in_transaction():
        order = await Order.filter(id=order.id).select_for_update().get()
        _fixed(order, now)
        await _give_back(order, now=now)
        off_member = await member_off(order, now)
        base = order.unit_price * order.quantity - off_member
        off_coupon, new_user = 0, False
        if coupon_id is not None:
            coupon, template = await _coupon_for(order, coupon_id, now)
            off_coupon = min(coupons.discount(template, base), base - 1)
            if off_coupon <= 0:
                raise Conflict(
                    ErrorCode.COUPON_NOT_USABLE,
                    f"the order must reach {template.threshold} fen for this coupon",
                )
            locked = await Coupon.filter(
                id=coupon.id, status=CouponStatus.AVAILABLE, valid_until__gt=now
            ).update(status=CouponStatus.LOCKED, order_id=order.id)
            if locked != 1:  # another order took it meanwhile
                raise Conflict(ErrorCode.COUPON_NOT_USABLE, "the coupon is in use")
            new_user = template.new_user_only
        cap = points.cap_for(base - off_coupon)
        if points_to_use > cap:
            raise Invalid(ErrorCode.POINTS_OVER_CAP, f"at most {cap} points on this order", cap=cap)
        if points_to_use:
            await points.spend_for_order(order.id, order.user_id, points_to_use, now=now)
        changes = {
            "member_off": off_member,
            "coupon_off": off_coupon,
            "points_used": points_to_use,
            "points_off": points_to_use * points.FEN_PER_POINT,
            "new_user_offer": new_user,
            "amount": base + order.delivery_fee - off_coupon - points_to_use * points.FEN_PER_POINT,
        }
        try:
            async with in_transaction():
                await Order.filter(id=order.id).update(**changes)
        except IntegrityError:  # uq_order_new_user_offer: another live order has the offer
            raise Conflict(
                ErrorCode.NEW_USER_OFFER_USED, "another order of yours uses the new-user offer"
            ) from None
    return await Order.get(id=order.id)


async def _own(principal: Principal, order_id: str) -> Order:
    key = parse_uuid(order_id)
    order = await Order.get_or_none(id=key) if key else None
    if order is None or order.user_id != principal.user_id:
        raise NotFound(ErrorCode.ORDER_NOT_FOUND, "no such order")
    return order


async def on_transition(
    order: Order, before: OrderStatus, after: OrderStatus, *, now: datetime
) -> None:
    """Every order transition passes here (services/orders.py), inside its transaction."""
    if (before, after) in _GIVE_BACK:
        await _give_back(order, now=now)
    # Points earned are taken back by each refund as it succeeds (services/refunds.py).
