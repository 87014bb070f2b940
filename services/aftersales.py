"""After-sales: a buyer asks for (part of) an order back; the leader or an operator decides;
nobody deciding within the stated hours is a yes, by the clock.

- Who may ask: the buyer, for an order that is paid and handed over or on its way
  (成团待到货, 待自提, 已自提) and, once picked up, within the after-sale days that follow
  pickup (``auto_complete_days``; the order completes then and the window closes).
- 七天无理由 (no reason): within 7 days of pickup, and only for goods whose return rule
  allows it (fresh and perishable goods are exempt by law: a rule per category or product).
- Who decides: the leader of the order's community, or an admin. A refusal names its reason.
- Approval owes the refund (``refunds.refund_part``: once per request; an order's refunds
  together never more than it paid, so a buyer may ask again for what is left);
  WeChat Pay's refund notify settles it; the leaders' earnings on the refunded part go back.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.aftersale import (
    AfterSale,
    AfterSaleKind,
    AfterSaleReason,
    AfterSaleStatus,
    ReturnRule,
)
from models.catalog import Product, Sku
from models.community import Community
from models.order import Order, OrderStatus
from models.payment import Refund
from qunshop.errors import Conflict, ErrorCode, Forbidden, Invalid, NotFound, QunshopError
from services import audit, cursors, news, orders, refunds
from services.ids import parse_uuid

if TYPE_CHECKING:
    from tortoise.queryset import QuerySet

    from services.auth import Principal

logger = logging.getLogger(__name__)

NO_REASON_DAYS = 7  # 消费者权益保护法 art. 25: seven days from receipt
OPEN_ORDER_STATES = (OrderStatus.CONFIRMED, OrderStatus.READY_FOR_PICKUP, OrderStatus.PICKED_UP)
REASON = "after_sale"  # the refunds' reason


@dataclass(frozen=True)
class Ask:
    kind: AfterSaleKind
    reason: AfterSaleReason
    detail: str = ""
    photos: tuple[str, ...] = ()
    amount: int | None = None  # fen; None: all that was paid


async def no_reason_return(sku_id: uuid.UUID) -> bool:
    """Whether the goods of ``sku_id`` take the 7-day no-reason return: the product's rule,
    else its category's, else yes (the law's default)."""
    sku = await Sku.get(id=sku_id)
    product = await Product.get(id=sku.product_id)
    rule = await ReturnRule.get_or_none(product_id=product.id)
    if rule is None and product.category:
        rule = await ReturnRule.get_or_none(category=product.category)
    return True if rule is None else rule.no_reason_return


def window_open(order: Order, *, now: datetime, days: int) -> bool:
    """Whether after-sales may still be asked of a paid order: not completed (the clock
    completes it when its days end), and not more than ``days`` since its pickup."""
    if order.status is OrderStatus.COMPLETED:
        return False
    return order.picked_up_at is None or now <= order.picked_up_at + timedelta(days=days)


def check_open(order: Order, *, now: datetime, days: int) -> None:
    """Refused unless ``order`` may take a request now, ``days`` after its pickup at most: the
    chat asks this before it asks the buyer why, so a closed order is said closed at once."""
    if order.status is OrderStatus.COMPLETED:
        raise Conflict(ErrorCode.AFTER_SALE_WINDOW_CLOSED, "the after-sale days are over")
    if order.status not in OPEN_ORDER_STATES:
        raise Conflict(
            ErrorCode.AFTER_SALE_NOT_ALLOWED,
            f"an order that is {order.status.value} takes no after-sales request",
            status_now=order.status.value,
        )
    if not window_open(order, now=now, days=days):
        raise Conflict(
            ErrorCode.AFTER_SALE_WINDOW_CLOSED,
            f"requests close {days} days after pickup",
            days=days,
        )


def _check_window(order: Order, ask: Ask, *, now: datetime, after_sale_days: int) -> None:
    days = (
        min(after_sale_days, NO_REASON_DAYS)
        if ask.reason is AfterSaleReason.NO_REASON
        else after_sale_days
    )
    check_open(order, now=now, days=days)


async def request(
    *,
    principal: Principal,
    order_id: str,
    ask: Ask,
    now: datetime,
    response_hours: int,
    after_sale_days: int,
) -> AfterSale:
    """The buyer's request; it waits for a decision until ``response_hours`` from now."""
    order = await orders.get_order_for(principal, order_id)
    if order.user_id != principal.user_id:
        raise NotFound(ErrorCode.ORDER_NOT_FOUND, "no such order")  # an admin is not the buyer
    _check_window(order, ask, now=now, after_sale_days=after_sale_days)
    if ask.reason is AfterSaleReason.NO_REASON and not await no_reason_return(order.sku_id):
        raise Conflict(
            ErrorCode.NO_REASON_RETURN_EXCLUDED,
            "fresh and perishable goods take no 7-day no-reason return",
        )
    payment = await refunds.refundable_payment(order)
    left = payment.amount - payment.refunded
    amount = left if ask.amount is None else ask.amount
    if not 0 < amount <= left:
        raise Invalid(
            ErrorCode.REFUND_EXCEEDS_PAID,
            f"ask for between 1 and {left} fen",
            paid=payment.amount,
            left=left,
        )
    if await AfterSale.exists(order_id=order.id, status=AfterSaleStatus.PENDING):
        raise Conflict(ErrorCode.AFTER_SALE_OPEN, "a request for this order is already waiting")
    try:
        async with in_transaction():
            sale = await AfterSale.create(
                order_id=order.id,
                user_id=order.user_id,
                community_id=order.community_id,
                kind=ask.kind,
                reason=ask.reason,
                detail=ask.detail,
                photos=list(ask.photos),
                amount=amount,
                due_at=now + timedelta(hours=response_hours),
                created_at=now,
            )
            await news.publish(news.AFTER_SALE_ASKED, ref=str(sale.id), now=now)
    except IntegrityError as exc:  # a second request raced this one
        raise Conflict(
            ErrorCode.AFTER_SALE_OPEN, "a request for this order is already waiting"
        ) from exc
    logger.info("after-sales %s asked on order %s: %s fen", sale.id, order.id, amount)
    return sale


def not_found() -> NotFound:
    return NotFound(ErrorCode.AFTER_SALE_NOT_FOUND, "no such after-sales request")


async def _get(after_sale_id: str) -> AfterSale:
    key = parse_uuid(after_sale_id)
    sale = await AfterSale.get_or_none(id=key) if key else None
    if sale is None:
        raise not_found()
    return sale


async def get_for(principal: Principal, after_sale_id: str) -> AfterSale:
    """The buyer's own request, or one the caller may decide."""
    sale = await _get(after_sale_id)
    if sale.user_id == principal.user_id or await may_decide(principal, sale):
        return sale
    raise not_found()


async def may_decide(principal: Principal, sale: AfterSale) -> bool:
    if principal.is_admin:
        return True
    if sale.community_id is None:
        return False
    return await Community.exists(id=sale.community_id, leader_id=principal.user_id)


MAX_PAGE = 100


async def mine(
    principal: Principal, *, limit: int = 20, cursor: str | None = None
) -> tuple[list[AfterSale], str | None]:
    """The buyer's requests, newest first, ``limit`` at a time after ``cursor``, each with its
    refund joined (``sale.refund``, None until approved): one statement however many; and the
    cursor of the next page (None: this was the last)."""
    return await cursors.page(
        AfterSale.filter(user_id=principal.user_id).select_related("refund"),
        limit=min(max(limit, 1), MAX_PAGE),
        cursor=cursor,
    )


def decided_by(principal: Principal) -> QuerySet[AfterSale]:
    """The requests ``principal`` decides: an admin every community's, a leader their
    communities' (joined, not read first: a list stays one statement)."""
    if principal.is_admin:
        return AfterSale.all()
    return AfterSale.filter(community__leader_id=principal.user_id)


async def decide(
    *,
    principal: Principal | None,
    after_sale_id: str,
    approve: bool,
    note: str,
    now: datetime,
) -> AfterSale:
    """Approve (the refund is owed) or reject with a reason. ``principal`` None: the clock."""
    sale = await _get(after_sale_id)
    if principal is not None and not await may_decide(principal, sale):
        raise Forbidden(ErrorCode.NOT_COMMUNITY_LEADER, "only the community's leader or an admin")
    if principal is not None and sale.user_id == principal.user_id:
        # A leader buying in their own community: the refund is the shop's money.
        raise Forbidden(ErrorCode.OWN_AFTER_SALE, "your own request is decided by another")
    if not approve and not note.strip():
        raise Invalid(ErrorCode.VALIDATION_FAILED, "say why the request is rejected")
    status = AfterSaleStatus.APPROVED if approve else AfterSaleStatus.REJECTED
    refused: Conflict | Invalid | None = None
    async with in_transaction():
        # The order first, as a group claim takes it: the same lock order, no deadlock.
        await Order.filter(id=sale.order_id).select_for_update().get()
        won = await AfterSale.filter(id=sale.id, status=AfterSaleStatus.PENDING).update(
            status=status,
            decided_by_id=principal.user_id if principal is not None else None,
            decided_at=now,
            decided_by_clock=principal is None,
            note=note.strip()[:500],
        )
        if won != 1:
            raise Conflict(ErrorCode.AFTER_SALE_DECIDED, "the request was already decided")
        if approve:
            try:
                refund = await refunds.refund_part(
                    order_id=sale.order_id,
                    amount=sale.amount,
                    reason=REASON,
                    cause=f"{REASON}:{sale.id}",
                    now=now,
                )
            except (Conflict, Invalid) as exc:  # less is left than asked (a claim came first)
                refused = exc
                await AfterSale.filter(id=sale.id).update(
                    status=AfterSaleStatus.CLOSED, note=f"{exc.code.value}: {exc.detail}"[:500]
                )
            else:
                await AfterSale.filter(id=sale.id).update(refund_id=refund.id)
        else:
            await news.publish(news.AFTER_SALE_REJECTED, ref=str(sale.id), now=now)
        if principal is not None:  # a person's decision; the clock's is its own record
            await audit.record(
                actor=principal,
                action="after_sale.approve" if approve else "after_sale.reject",
                target=f"after_sale:{sale.id}",
                before={
                    "status": AfterSaleStatus.PENDING.value,
                    "order": str(sale.order_id),
                    "amount": sale.amount,
                },
                after={
                    "status": (AfterSaleStatus.CLOSED if refused else status).value,
                    "refunded": sale.amount if approve and refused is None else 0,
                    "note": note.strip()[:200],
                },
                now=now,
            )
    if refused is not None:
        raise refused
    return await AfterSale.get(id=sale.id)


async def close_for_order(order_id: object, *, why: str, now: datetime) -> int:
    """Requests still waiting on an order refunded another way: closed, not refunded twice."""
    return await AfterSale.filter(order_id=order_id, status=AfterSaleStatus.PENDING).update(
        status=AfterSaleStatus.CLOSED, decided_at=now, note=why[:500]
    )


async def approve_overdue(*, now: datetime, limit: int = 200) -> int:
    """For the clock: every request nobody answered by its ``due_at`` is approved."""
    due = await AfterSale.filter(status=AfterSaleStatus.PENDING, due_at__lte=now).limit(limit)
    done = 0
    for sale in due:
        try:
            await decide(
                principal=None,
                after_sale_id=str(sale.id),
                approve=True,
                note="超时自动同意",
                now=now,
            )
        except QunshopError as exc:
            logger.info("after-sales %s not approved by the clock: %s", sale.id, exc.code.value)
            continue
        done += 1
    if done:
        logger.info("%s after-sales requests approved by the clock", done)
    return done


async def next_due() -> datetime | None:
    first = await AfterSale.filter(status=AfterSaleStatus.PENDING).order_by("due_at").first()
    return first.due_at if first else None


async def refund_of(sale: AfterSale) -> Refund | None:
    return await Refund.get_or_none(id=sale.refund_id) if sale.refund_id else None


async def set_rule(
    *,
    category: str | None,
    product_id: str | None,
    no_reason_return: bool,
    note: str,
    now: datetime,
) -> ReturnRule:
    """An admin says whether a category's (or one product's) goods take no-reason returns."""
    if (category is None) == (product_id is None):
        raise Invalid(ErrorCode.RETURN_RULE_INVALID, "name either a category or a product")
    if product_id is not None:
        key = parse_uuid(product_id)
        product = await Product.get_or_none(id=key) if key else None
        if product is None:
            raise NotFound(ErrorCode.PRODUCT_NOT_FOUND, "no such product")
        where = Q(product_id=product.id)
        values = {"product_id": product.id}
    else:
        where = Q(category=category)
        values = {"category": category}
    async with in_transaction():
        updated = await ReturnRule.filter(where).update(
            no_reason_return=no_reason_return, note=note, updated_at=now
        )
        if not updated:
            await ReturnRule.create(
                **values, no_reason_return=no_reason_return, note=note, updated_at=now
            )
    return await ReturnRule.get(where)


async def rules() -> list[ReturnRule]:
    return list(await ReturnRule.all().order_by("category", "updated_at"))
