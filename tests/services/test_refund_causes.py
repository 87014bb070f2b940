"""Several refunds of one payment: each cause once, all of them never more than was paid,
however many ask at once (PostgreSQL, real concurrent transactions, counting rows)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.aftersale import AfterSaleKind, AfterSaleReason, AfterSaleStatus
from models.community import Community
from models.delivery import DeliveryBatch, DeliveryPlan
from models.growth import EarningEntry, EarningEvent
from models.order import Order, OrderStatus
from models.payment import Payment, Refund
from models.user import User
from qunshop.config import Settings
from qunshop.errors import Conflict, ErrorCode, Invalid
from services import aftersales, batches, pickup, refunds
from tests.support.factories import make_community, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.support.growth import now, paid_order, principal_of


@pytest.fixture(autouse=True)
async def orm(client: TestClient) -> None:
    """The app's start-up opens the ORM these tests use."""


def _ask(amount: int | None) -> aftersales.Ask:
    return aftersales.Ask(
        kind=AfterSaleKind.REFUND_ONLY, reason=AfterSaleReason.QUALITY, amount=amount
    )


async def _request_and_approve(
    settings: Settings, order: Order, amount: int | None
) -> Refund | None:
    buyer = await User.get(id=order.user_id)
    sale = await aftersales.request(
        principal=principal_of(buyer),
        order_id=str(order.id),
        ask=_ask(amount),
        now=now(),
        response_hours=settings.after_sale_response_hours,
        after_sale_days=settings.auto_complete_days,
    )
    leader = await User.get(id=(await Community.get(id=order.community_id)).leader_id)
    decided = await aftersales.decide(
        principal=principal_of(leader), after_sale_id=str(sale.id), approve=True, note="", now=now()
    )
    assert decided.status is AfterSaleStatus.APPROVED
    return await aftersales.refund_of(decided)


async def test_a_second_after_sales_request_refunds_what_is_left(
    settings: Settings, wechat: FakeWeChat
) -> None:
    community = await make_community()
    order = await paid_order(settings, wechat, await make_user(), community, price=1000)
    first = await _request_and_approve(settings, order, 300)
    assert first is not None and first.amount == 300
    assert (await Order.get(id=order.id)).status is OrderStatus.CONFIRMED

    # Asking for more than is left is refused; asking again for the rest is a second refund.
    with pytest.raises(Invalid) as beyond:
        await _request_and_approve(settings, order, 701)
    assert beyond.value.code is ErrorCode.REFUND_EXCEEDS_PAID
    second = await _request_and_approve(settings, order, None)
    assert second is not None and second.amount == 700
    assert second.out_refund_no != first.out_refund_no

    rows = await Refund.filter(order_id=order.id)
    assert sorted(r.amount for r in rows) == [300, 700]
    assert (await Payment.get(order_id=order.id)).refunded == 1000
    # All of it gone back before handing over ends the order; earnings follow to zero.
    assert (await Order.get(id=order.id)).status is OrderStatus.REFUNDING
    entries = await EarningEntry.filter(order_id=order.id)
    accrued = sum(e.amount for e in entries if e.event is EarningEvent.ACCRUE)
    taken = sum(e.amount for e in entries if e.event is EarningEvent.REVERSE)
    assert accrued > 0 and taken == accrued
    with pytest.raises(Conflict):
        await _request_and_approve(settings, order, None)


async def test_a_shortage_refunds_what_an_after_sales_refund_left(
    settings: Settings, wechat: FakeWeChat
) -> None:
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    order = await paid_order(settings, wechat, await make_user(), community, price=1000)
    await batches.set_plan(
        principal=principal_of(leader),
        community_id=str(community.id),
        cutoff="20:00",
        home_delivery=False,
        delivery_fee=0,
        now=now(),
    )
    plan = await DeliveryPlan.get(community_id=community.id)
    assert plan.next_cutoff_at is not None
    await batches.cut_due(now=plan.next_cutoff_at)
    batch = await DeliveryBatch.get(community_id=community.id)

    await _request_and_approve(settings, order, 250)  # 成团待到货: a part asked back first
    delivery = await pickup.arrived(
        principal=principal_of(leader),
        community_id=str(community.id),
        now=plan.next_cutoff_at + timedelta(hours=12),
        shortages=[batches.Shortage(sku="1", short=1)],
    )
    assert delivery.refunded == 1
    rows = await Refund.filter(order_id=order.id).order_by("created_at")
    assert [(r.amount, r.cause) for r in rows] == [
        (250, rows[0].cause),
        (750, f"{batches.SHORTAGE_REASON}:{batch.id}"),
    ]
    assert (await Payment.get(order_id=order.id)).refunded == 1000
    assert (await Order.get(id=order.id)).status is OrderStatus.REFUNDING


async def _owe(order: Order, amount: int, cause: str) -> Refund:
    async with in_transaction():
        payment = await Payment.get(order_id=order.id, outcome="honoured")
        return await refunds.owe(
            order=order, payment=payment, amount=amount, reason="test", cause=cause, now=now()
        )


async def test_concurrent_refunds_never_exceed_what_was_paid(
    settings: Settings, wechat: FakeWeChat
) -> None:
    """``owe`` takes no order lock: the payment's checked conditional update alone decides."""
    order = await paid_order(
        settings, wechat, await make_user(), await make_community(), price=1000
    )
    results = await asyncio.gather(
        *(_owe(order, 150, f"cause:{i}") for i in range(20)), return_exceptions=True
    )
    won = [r for r in results if isinstance(r, Refund)]
    refused = [r for r in results if not isinstance(r, Refund)]
    assert len(won) == 6, results
    assert all(isinstance(r, Invalid) and r.code is ErrorCode.REFUND_EXCEEDS_PAID for r in refused)
    rows = await Refund.filter(order_id=order.id)
    assert (len(rows), sum(r.amount for r in rows)) == (6, 900)
    assert (await Payment.get(order_id=order.id)).refunded == 900


async def test_one_cause_refunds_once_however_many_ask_at_once(
    settings: Settings, wechat: FakeWeChat
) -> None:
    order = await paid_order(
        settings, wechat, await make_user(), await make_community(), price=1000
    )
    results = await asyncio.gather(
        *(_owe(order, 100, "claim:the-same") for _ in range(10)), return_exceptions=True
    )
    assert sum(isinstance(r, Refund) for r in results) == 1, results
    assert all(
        isinstance(r, Refund)
        or (isinstance(r, Conflict) and r.code is ErrorCode.ORDER_ALREADY_REFUNDED)
        for r in results
    )
    assert await Refund.filter(order_id=order.id).count() == 1
    assert (await Payment.get(order_id=order.id)).refunded == 100


async def test_concurrent_partial_refunds_of_one_order_through_refund_part(
    settings: Settings, wechat: FakeWeChat
) -> None:
    order = await paid_order(
        settings, wechat, await make_user(), await make_community(), price=1000
    )

    async def part(i: int) -> Refund:
        return await refunds.refund_part(
            order_id=order.id, amount=300, reason="after_sale", cause=f"after_sale:{i}", now=now()
        )

    results = await asyncio.gather(*(part(i) for i in range(8)), return_exceptions=True)
    assert sum(isinstance(r, Refund) for r in results) == 3, results
    rows = await Refund.filter(order_id=order.id)
    assert (len(rows), sum(r.amount for r in rows)) == (3, 900)
    assert (await Payment.get(order_id=order.id)).refunded == 900


async def test_the_database_refuses_more_than_paid_whatever_code_tries(
    settings: Settings, wechat: FakeWeChat
) -> None:
    order = await paid_order(
        settings, wechat, await make_user(), await make_community(), price=1000
    )
    payment = await Payment.get(order_id=order.id)
    with pytest.raises(IntegrityError):
        await Payment.filter(id=payment.id).update(refunded=1001)
    await _owe(order, 400, "a")
    with pytest.raises(IntegrityError):
        await Refund.create(
            order=order,
            payment=payment,
            out_refund_no="RF-second-a",
            amount=1,
            total=1000,
            reason="test",
            cause="a",
        )
