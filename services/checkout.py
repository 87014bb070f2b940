"""Direct purchases (no team) and cancelling an unpaid order."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models.catalog import Sku
from models.community import Community
from models.groupbuy import Seat
from models.limits import MAX_AMOUNT
from models.order import Order, OrderKind, OrderStatus
from qunshop.errors import Conflict, ErrorCode, Invalid, NotFound
from services import aftersales, bargains, due_rows, flashsale, groupbuy, news, orders
from services.ids import parse_uuid

if TYPE_CHECKING:
    from services.auth import Principal

RESERVATION = timedelta(minutes=15)
MAX_QUANTITY = 99


async def buy_direct(
    *, principal: Principal, sku_id: str, quantity: int, community_id: str | None, now: datetime
) -> Order:
    """An order at the SKU's price, its stock held until the payment window closes."""
    if not 1 <= quantity <= MAX_QUANTITY:
        raise Invalid(ErrorCode.VALIDATION_FAILED, f"quantity must be 1..{MAX_QUANTITY}")
    key = parse_uuid(sku_id)
    sku = await Sku.get_or_none(id=key).prefetch_related("product") if key else None
    if sku is None or not sku.product.active:
        raise NotFound(ErrorCode.SKU_NOT_FOUND, "no such SKU")
    if sku.price * quantity > MAX_AMOUNT:
        raise Invalid(
            ErrorCode.AMOUNT_OUT_OF_RANGE,
            f"price x quantity passes the most one order may charge ({MAX_AMOUNT} fen)",
        )
    community = None
    if community_id is not None:
        ckey = parse_uuid(community_id)
        community = await Community.get_or_none(id=ckey) if ckey else None
        if community is None:
            raise NotFound(ErrorCode.COMMUNITY_NOT_FOUND, "no such community")
    async with in_transaction():
        taken = await Sku.filter(id=sku.id, stock__gte=quantity).update(stock=F("stock") - quantity)
        if taken != 1:
            raise Conflict(ErrorCode.OUT_OF_STOCK, "not enough stock left")
        return await Order.create(
            out_trade_no=orders.new_out_trade_no(now),
            kind=OrderKind.DIRECT,
            user_id=principal.user_id,
            community=community or (await _community_of(sku)),
            sku_id=sku.id,
            quantity=quantity,
            unit_price=sku.price,
            list_price=sku.price,  # the database writes it too (orders_list_price)
            amount=sku.price * quantity,
            reserved_until=now + RESERVATION,
        )


async def _community_of(sku: Sku) -> Community | None:
    if sku.product.community_id is None:
        return None
    return await Community.get_or_none(id=sku.product.community_id)


# A paid seat is the team's: giving it up would take a member from the others' team after
# they joined on it. Its money is not stuck: a failed team refunds every paid seat on its own
# (services/groupbuy.py), and a team that succeeds hands the order to after-sales.
AWAITING_TEAM = (
    "the order is paid and waits for its team: if the team fails, the payment comes back "
    "automatically; once the team succeeds, ask for after-sales instead"
)
# Paid and its team complete (or bought outright): the goods are coming or came, so the money
# comes back only by an after-sales request (a refund the leader decides), never by a cancel.
USE_AFTERSALES = (
    "the order is paid and its goods are on their way: it cannot be cancelled; "
    "ask for after-sales (a refund) instead"
)


async def cancel(
    *, principal: Principal, order_id: str, now: datetime, after_sale_days: int
) -> Order:
    """The shopper gives up an unpaid order: the seat or the stock goes back."""
    order = await orders.get_order_for(principal, order_id)
    refused = _why_not_cancelled(order, now=now, after_sale_days=after_sale_days)
    if refused is not None:
        raise refused
    orders.check_transition(order.status, OrderStatus.CANCELLED)
    await _release(order, now=now, force=True)
    return await Order.get(id=order.id)


def _why_not_cancelled(order: Order, *, now: datetime, after_sale_days: int) -> Conflict | None:
    """Why an order that is not awaiting payment cannot be cancelled, in its own words."""
    status, said = order.status, {"status_now": order.status.value}
    if status is OrderStatus.PAID_AWAITING_TEAM:
        return Conflict(ErrorCode.ORDER_AWAITING_TEAM, AWAITING_TEAM, **said)
    if status in (*aftersales.OPEN_ORDER_STATES, OrderStatus.COMPLETED):
        if aftersales.window_open(order, now=now, days=after_sale_days):
            return Conflict(ErrorCode.ORDER_USE_AFTERSALES, USE_AFTERSALES, **said)
        return Conflict(
            ErrorCode.AFTER_SALE_WINDOW_CLOSED,
            f"the order was picked up and its after-sale days ({after_sale_days}) are over: "
            "it cannot be cancelled, nor refunded by after-sales",
            days=after_sale_days,
            **said,
        )
    if status in orders.REFUNDED_IN_FULL:
        return Conflict(
            ErrorCode.ORDER_ALREADY_REFUNDED,
            "the order's money went back in full: there is nothing to cancel",
            **said,
        )
    if status is OrderStatus.CANCELLED:
        # ``asked``: the refusal the pickup code gives has the same code, in other words.
        return Conflict(
            ErrorCode.ORDER_CANCELLED, "the order is already cancelled", asked="cancel", **said
        )
    return None


async def _release(order: Order, *, now: datetime, force: bool) -> bool:
    """Cancel an unpaid order, its seat or units back; False if it is paid or cancelled
    meanwhile (two sweeps at once: the second finds it done), or not yet due."""
    if order.kind is OrderKind.GROUP:
        seat = await Seat.get(order_id=order.id)
        return await groupbuy.release_seat(seat.id, now=now, force=force)
    async with in_transaction():
        locked = await Order.filter(id=order.id).select_for_update().get()
        if locked.status is not OrderStatus.PENDING_PAYMENT:
            return False
        if not force and (locked.reserved_until is None or locked.reserved_until > now):
            return False
        await orders.transition(locked, OrderStatus.CANCELLED)
        await Sku.filter(id=locked.sku_id).update(stock=F("stock") + locked.quantity)
        # The clock lapsed it: its buyer hears so, and whether to buy again (a cancel is their
        # own doing: no news).
        if not force:
            again = await _again(locked, now=now)
            await news.publish(news.ORDER_LAPSED, ref=str(locked.id), now=now, **again)
    return True


async def _again(order: Order, *, now: datetime) -> dict[str, str]:
    """The lapse news's payload: may a lapsed order's goods be bought again now, ``again``:
    "" if so, else why not (a flash sale's reasons, ``flashsale.again``; a bargain's,
    ``bargains.again``, which names the bargain; a direct order's product taken off sale,
    ``ENDED``: its units came back with the lapse, so it is not sold out)."""
    if order.kind is OrderKind.FLASH:
        return {"again": await flashsale.again(order, now=now)}
    if order.kind is OrderKind.BARGAIN:
        bargain, why = await bargains.again(order, now=now)
        return {"again": why, "bargain_id": str(bargain.id) if bargain else ""}
    sku = await Sku.get(id=order.sku_id).prefetch_related("product")
    return {"again": "" if sku.product.active else flashsale.ENDED}


async def release_expired_direct(*, now: datetime, limit: int = 500) -> int:
    """Cancel the orders of no team (direct, flash, bargain) whose payment window has passed;
    their units go back to the SKU (a flash sale's too: its stock only goes down)."""
    ids = await due_rows.lapsed_orders(
        now=now, kinds=[OrderKind.DIRECT, OrderKind.FLASH, OrderKind.BARGAIN], limit=limit
    )
    due = await Order.filter(id__in=ids)
    released = 0
    for order in due:
        released += await _release(order, now=now, force=False)
    return released
