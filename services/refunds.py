"""Refunds: owed inside the transaction that decides them, sent by the outbox, settled once."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models.order import Order, OrderStatus
from models.payment import Payment, Refund, RefundStatus
from qunshop.errors import Conflict, ErrorCode, Invalid
from services import earnings, news, orders, outbox, points, tiers
from services.outbox import GiveUp, RetryLater
from wechat.api import PayError
from wechat.pay import PayProtocolError, decrypt_refund_info, parse_xml

if TYPE_CHECKING:
    from wechat.api import PayClient

logger = logging.getLogger(__name__)

SUBMIT = "refund.submit"


async def owe(
    *,
    order: Order,
    payment: Payment,
    amount: int,
    reason: str,
    now: datetime,
    cause: str | None = None,
) -> Refund:
    """Record that ``amount`` of ``payment`` goes back; the outbox asks WeChat Pay after commit.

    Once per ``cause`` (the reason itself when not named) and never beyond what the payment
    holds: the refund row is unique per (payment, cause) and the payment's ``refunded`` rises
    only by a checked conditional update. Raises ``order_already_refunded`` for a cause
    refunded before and ``refund_exceeds_paid`` for more than is left.
    """
    cause = cause or reason
    if amount <= 0:
        raise Invalid(
            ErrorCode.REFUND_EXCEEDS_PAID, "a refund is at least 1 fen", paid=payment.amount
        )
    try:
        async with in_transaction():  # a savepoint: a refusal leaves the caller's work usable
            refund = await Refund.create(
                order=order,
                payment=payment,
                out_refund_no=f"RF{uuid.uuid4().hex}",
                amount=amount,
                total=payment.amount,
                reason=reason,
                cause=cause,
                created_at=now,  # the clock's time: the refund query waits from it (QUERY_AFTER)
            )
            taken = await Payment.filter(id=payment.id, refunded__lte=F("amount") - amount).update(
                refunded=F("refunded") + amount
            )
            if taken != 1:
                raise Invalid(
                    ErrorCode.REFUND_EXCEEDS_PAID,
                    f"{amount} fen is more than is left to refund of the payment",
                    paid=payment.amount,
                )
    except IntegrityError as exc:
        raise Conflict(ErrorCode.ORDER_ALREADY_REFUNDED, f"{cause} was already refunded") from exc
    await earnings.on_refund(order, refund=refund, now=now)
    await tiers.on_money_moved(order.user_id, now=now)
    await outbox.enqueue(
        SUBMIT, {"refund_id": str(refund.id)}, dedupe_key=f"refund:{refund.id}", now=now
    )
    logger.info("refund of %s fen owed on order %s (%s)", amount, order.id, cause)
    return refund


# Orders a refund for a cause after payment (after-sales, group claims) may take. Refunding
# all that is left of one ends it (退款中, then 已退款 once every refund settled), handed over
# or not, completed or not: the buyer has all of the money back, so every view reads it
# refunded and no sale counts it (its picked_up_at still says it was handed over).
REFUNDABLE = (
    OrderStatus.CONFIRMED,
    OrderStatus.READY_FOR_PICKUP,
    OrderStatus.PICKED_UP,
    OrderStatus.COMPLETED,
)


async def refund_part(
    *, order_id: object, amount: int, reason: str, cause: str, now: datetime
) -> Refund:
    """Refund ``amount`` fen of an order's payment for ``cause``, once per cause, and never
    more, all its refunds told, than the order paid.

    The order row is locked, so refunds of one order (an after-sales approval, a claim, a
    shortage) are decided one after the other; the database has the last word in ``owe``.
    Refunding all that is left of an order ends it (退款中).
    """
    async with in_transaction():  # a savepoint inside the caller's transaction
        order = await Order.filter(id=order_id).select_for_update().get()
        if order.status not in REFUNDABLE:
            raise Conflict(
                ErrorCode.AFTER_SALE_NOT_ALLOWED,
                f"an order that is {order.status.value} cannot be refunded this way",
                status_now=order.status.value,
            )
        payment = await refundable_payment(order)
        left = payment.amount - payment.refunded
        if not 0 < amount <= left:
            raise Invalid(
                ErrorCode.REFUND_EXCEEDS_PAID,
                f"a refund must be between 1 and {left} fen",
                paid=payment.amount,
                left=left,
            )
        if amount == left:
            await orders.transition(order, OrderStatus.REFUNDING)
        return await owe(
            order=order, payment=payment, amount=amount, reason=reason, cause=cause, now=now
        )


async def refundable_payment(order: Order) -> Payment:
    """The order's honoured payment with something left to refund."""
    payment = await Payment.filter(order_id=order.id, outcome=earnings.HONOURED).first()
    if payment is None:
        raise Conflict(ErrorCode.AFTER_SALE_NOT_ALLOWED, "the order has no payment")
    if payment.refunded >= payment.amount:
        raise Conflict(ErrorCode.ORDER_ALREADY_REFUNDED, "the order was refunded in full")
    return payment


async def submit(payload: dict[str, Any], *, pay: PayClient, notify_url: str) -> None:
    """Outbox handler: ask WeChat Pay for the refund. Repeats are safe: out_refund_no is the key."""
    refund = await Refund.get_or_none(id=payload["refund_id"]).prefetch_related("order")
    if refund is None or refund.status is not RefundStatus.PENDING:
        return
    try:
        answer = await pay.refund(
            out_trade_no=refund.order.out_trade_no,
            out_refund_no=refund.out_refund_no,
            total_fee=refund.total,
            refund_fee=refund.amount,
            notify_url=notify_url,
        )
    except PayError as exc:
        if exc.retryable:
            raise RetryLater(f"{exc.code}: {exc.message}") from exc
        raise GiveUp(f"{exc.code}: {exc.message}") from exc
    await Refund.filter(id=refund.id, status=RefundStatus.PENDING).update(
        status=RefundStatus.SUBMITTED, refund_id=answer.get("refund_id")
    )


class RefundNotifyRefused(Exception):
    """The notify is not genuine or not ours: answer FAIL, change nothing."""


async def settle_from_notify(
    body: bytes, *, api_key: str, appid: str, mch_id: str, now: datetime
) -> bool:
    """Apply a refund notify. True when this delivery settled the refund (False: a repeat)."""
    try:
        envelope = parse_xml(body)
        if envelope.get("return_code") != "SUCCESS":
            raise RefundNotifyRefused(f"return_code {envelope.get('return_code')}")
        if envelope.get("appid") != appid or envelope.get("mch_id") != mch_id:
            raise RefundNotifyRefused("appid or mch_id is not ours")
        info = decrypt_refund_info(envelope.get("req_info", ""), api_key)
    except PayProtocolError as exc:
        raise RefundNotifyRefused(str(exc)) from exc
    refund = await Refund.get_or_none(out_refund_no=info.get("out_refund_no", ""))
    if refund is None:
        raise RefundNotifyRefused(f"unknown out_refund_no {info.get('out_refund_no')!r}")
    return await settle(
        refund, status=info.get("refund_status"), refund_id=info.get("refund_id"), now=now
    )


OPEN_STATES = (RefundStatus.PENDING, RefundStatus.SUBMITTED)


async def settle(
    refund: Refund, *, status: str | None, refund_id: str | None, now: datetime
) -> bool:
    """WeChat Pay's word on a refund (its notify, or our query): SUCCESS settles it, once
    (True for the call that did); REFUNDCLOSE or CHANGE fail it."""
    open_states = list(OPEN_STATES)
    if status != "SUCCESS":
        logger.error("refund %s closed by WeChat Pay: %s", refund.out_refund_no, status)
        await Refund.filter(id=refund.id, status__in=open_states).update(
            status=RefundStatus.FAILED, settled_at=now
        )
        return False
    async with in_transaction():
        won = await Refund.filter(id=refund.id, status__in=open_states).update(
            status=RefundStatus.SUCCEEDED,
            settled_at=now,
            refund_id=refund_id or refund.refund_id,
        )
        if won != 1:
            return False
        # Locked: two refunds of one order settled at once must not each see the other open.
        order = await Order.filter(id=refund.order_id).select_for_update().get()
        await points.take_back_for_refund(refund, now=now)  # the one place, once per refund
        outstanding = await Refund.filter(order_id=order.id, status__in=open_states).exists()
        if order.status is OrderStatus.REFUNDING and not outstanding:
            await orders.transition(order, OrderStatus.REFUNDED)
        await news.publish(news.REFUNDED, ref=str(refund.id), now=now)
    return True


# A refund notify lost (WeChat Pay gives up after a day, and promises nothing): a refund
# submitted this long ago without word is asked after (``/pay/refundquery``).
QUERY = "refund.query"
QUERY_AFTER = timedelta(minutes=30)
# Asked again at most this often while WeChat Pay says PROCESSING.
QUERY_EVERY = timedelta(minutes=30)


async def stuck(*, now: datetime, older_than: timedelta = QUERY_AFTER) -> list[Refund]:
    """Refunds owed or submitted longer than ``older_than`` ago that WeChat Pay has not
    settled: the operator's to watch (/admin)."""
    return list(
        await Refund.filter(status__in=list(OPEN_STATES), created_at__lt=now - older_than)
        .order_by("created_at")
        .prefetch_related("order")
    )


async def schedule_queries(*, now: datetime) -> int:
    """The clock: one query per stuck submitted refund per ``QUERY_EVERY`` (the outbox asks)."""
    slot = int(now.timestamp() // QUERY_EVERY.total_seconds())
    queued = 0
    for refund in await Refund.filter(
        status=RefundStatus.SUBMITTED, created_at__lt=now - QUERY_AFTER
    ).only("id"):
        queued += await outbox.enqueue(
            QUERY,
            {"refund_id": str(refund.id)},
            dedupe_key=f"refund-query:{refund.id}:{slot}",
            now=now,
        )
    return queued


async def query(payload: dict[str, Any], *, pay: PayClient, now: Callable[[], datetime]) -> None:
    """Outbox handler of ``QUERY``: ask WeChat Pay how the refund went; settle it as its
    notify would have. PROCESSING: the next slot asks again."""
    refund = await Refund.get_or_none(id=payload["refund_id"])
    if refund is None or refund.status is not RefundStatus.SUBMITTED:
        return
    try:
        answer = await pay.refund_query(out_refund_no=refund.out_refund_no)
    except PayError as exc:
        if exc.retryable:
            raise RetryLater(f"{exc.code}: {exc.message}") from exc
        raise GiveUp(f"{exc.code}: {exc.message}") from exc
    count = int(answer.get("refund_count", "0") or 0)
    found = next(
        (n for n in range(count) if answer.get(f"out_refund_no_{n}") == refund.out_refund_no),
        None,
    )
    if found is None:
        raise GiveUp(f"refundquery did not list {refund.out_refund_no}")
    status = answer.get(f"refund_status_{found}")
    if status == "PROCESSING":
        logger.info("refund %s still processing at WeChat Pay", refund.out_refund_no)
        return
    if await settle(refund, status=status, refund_id=answer.get(f"refund_id_{found}"), now=now()):
        logger.warning("refund %s settled by query: its notify was lost", refund.out_refund_no)
