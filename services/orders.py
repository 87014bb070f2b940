"""The order state machine: every allowed transition is listed here, and only here."""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from models.order import Order, OrderStatus
from qunshop.errors import Conflict, ErrorCode, NotFound
from services import cursors, pricing
from services.ids import parse_uuid

if TYPE_CHECKING:
    import uuid

    from services.auth import Principal

S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID_AWAITING_TEAM, S.CONFIRMED, S.CANCELLED}),
    S.PAID_AWAITING_TEAM: frozenset({S.CONFIRMED, S.REFUNDING}),
    S.CONFIRMED: frozenset({S.READY_FOR_PICKUP, S.REFUNDING}),
    S.READY_FOR_PICKUP: frozenset({S.PICKED_UP, S.REFUNDING}),
    # Refunded in full, within its after-sale days or after them (a group claim):
    # services/refunds.py refund_part.
    S.PICKED_UP: frozenset({S.COMPLETED, S.REFUNDING}),
    S.COMPLETED: frozenset({S.REFUNDING}),
    # A payment that arrives after cancellation is sent back.
    S.CANCELLED: frozenset({S.REFUNDING}),
    S.REFUNDING: frozenset({S.REFUNDED}),
    S.REFUNDED: frozenset(),
}

# All of its money went (or is going) back: the order is closed, whatever it was before.
REFUNDED_IN_FULL = (S.REFUNDING, S.REFUNDED)

_ALPHABET = string.ascii_uppercase + string.digits
_SUFFIX = 14  # 36**14 ~ 2**72 values per second


def new_out_trade_no(now: datetime) -> str:
    """Unique per merchant, at most 32 characters of [0-9A-Za-z_-|*]."""
    # One draw from the system's random source, not one per character (a syscall each).
    number = secrets.randbelow(len(_ALPHABET) ** _SUFFIX)
    suffix = []
    for _ in range(_SUFFIX):
        number, digit = divmod(number, len(_ALPHABET))
        suffix.append(_ALPHABET[digit])
    return f"QS{now:%Y%m%d%H%M%S}{''.join(suffix)}"


def check_transition(current: OrderStatus, target: OrderStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise Conflict(
            ErrorCode.ILLEGAL_TRANSITION,
            f"an order cannot go from {current.value} to {target.value}",
            status_now=current.value,
        )


async def transition(order: Order, target: OrderStatus, **changes: object) -> None:
    """Move ``order`` to ``target`` if it is still in the state we read.

    A conditional update, so two workers racing on one order make one transition; the loser
    sees a Conflict (and re-reads) instead of silently overwriting. The order's coupon and
    points follow the transition (services/pricing.py), in the same transaction.
    """
    check_transition(order.status, target)
    before = order.status
    updated = await Order.filter(id=order.id, status=order.status).update(status=target, **changes)
    if updated != 1:
        fresh = await Order.get(id=order.id)
        raise Conflict(
            ErrorCode.ILLEGAL_TRANSITION,
            f"the order moved to {fresh.status.value} meanwhile",
            status_now=fresh.status.value,
        )
    order.status = target
    for key, value in changes.items():
        setattr(order, key, value)
    await pricing.on_transition(order, before, target, now=datetime.now(tz=UTC))


async def get_order_for(principal: Principal, order_id: str | uuid.UUID) -> Order:
    """The caller's own order (admins see every order)."""
    key = parse_uuid(order_id)
    return visible_to(principal, await Order.get_or_none(id=key) if key else None)


def visible_to(principal: Principal, order: Order | None) -> Order:
    """The order if it is the caller's own (admins see every order); else order_not_found."""
    if order is None or (not principal.is_admin and order.user_id != principal.user_id):
        raise NotFound(ErrorCode.ORDER_NOT_FOUND, "no such order")
    return order


async def list_orders_for(
    principal: Principal, *, limit: int = 50, cursor: str | None = None
) -> list[Order]:
    """The caller's orders, newest first, ``limit`` of them after ``cursor`` (services.cursors)."""
    query = Order.filter(user_id=principal.user_id)
    if cursor:
        query = query.filter(cursors.after(cursor))
    return await query.order_by("-created_at", "-id").limit(limit).all()


async def page_for(
    principal: Principal, *, limit: int, cursor: str | None = None
) -> tuple[list[Order], str | None]:
    """A page of the caller's orders and the cursor of the next one (None: no more)."""
    rows = await list_orders_for(principal, limit=limit + 1, cursor=cursor)
    page = rows[:limit]
    more = len(rows) > limit
    return page, cursors.encode(page[-1].created_at, page[-1].id) if more else None
