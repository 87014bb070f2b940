"""Points earned come back with each refund as it succeeds: its share of the payment, once per
refund however often WeChat Pay repeats itself, the shares adding up to what was earned, and
never more than the balance still holds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models.activity import PointsEntry
from models.order import Order
from models.payment import Payment, Refund
from qunshop.config import Settings
from services import points, refunds
from tests.support.aftersale_world import paid_order
from tests.support.fake_wechat import FakeWeChat

pytestmark = pytest.mark.usefixtures("client")


def _now() -> datetime:
    return datetime.now(tz=UTC)


async def _settle(settings: Settings, wechat: FakeWeChat, refund: Refund, order: Order) -> bool:
    body = wechat.refund_notify(
        out_refund_no=refund.out_refund_no,
        out_trade_no=order.out_trade_no,
        refund_fee=refund.amount,
        total_fee=refund.total,
    )
    return await refunds.settle_from_notify(
        body,
        api_key=settings.pay_api_key.get_secret_value(),
        appid=settings.wechat_appid,
        mch_id=settings.pay_mch_id,
        now=_now(),
    )


async def test_several_refunds_take_back_shares_once_and_never_below_zero(
    settings: Settings, wechat: FakeWeChat
) -> None:
    order = await paid_order(settings, wechat, now=_now(), price=3300)
    user_id = order.user_id
    assert await points.balance(user_id) == 33
    payment = await Payment.get(order_id=order.id)
    owed = [
        await refunds.owe(
            order=order,
            payment=payment,
            amount=amount,
            reason="after_sale",
            cause=f"after_sale:split{i}",
            now=_now(),
        )
        for i, amount in enumerate((1000, 1000, 1300))
    ]
    assert await _settle(settings, wechat, owed[0], order)
    assert not await _settle(settings, wechat, owed[0], order)  # a repeat: nothing
    assert await points.balance(user_id) == 33 - 10
    assert await _settle(settings, wechat, owed[1], order)
    assert await points.balance(user_id) == 33 - 20
    await points.add(user_id=user_id, delta=-10, reason="checkout", ref="t:spent", now=_now())
    # The last share is 13 (33 in all), but only 3 are left: 3 go back, none below zero.
    assert await _settle(settings, wechat, owed[2], order)
    assert await points.balance(user_id) == 0
    taken = await PointsEntry.filter(user_id=user_id, reason="order_refunded").order_by("delta")
    assert sorted(e.delta for e in taken) == [-10, -10, -3]
    assert {e.ref for e in taken} == {f"refund:{r.id}:unearn" for r in owed}
    assert await points.balance(user_id) == await points.ledger_sum(user_id)


async def test_a_full_refund_takes_back_every_point_earned(
    settings: Settings, wechat: FakeWeChat
) -> None:
    order = await paid_order(settings, wechat, now=_now(), price=2990)  # 29 points
    refund = await refunds.refund_part(
        order_id=order.id, amount=2990, reason="after_sale", cause="after_sale:t", now=_now()
    )
    assert await points.balance(order.user_id) == 29  # owed, not yet back: points stay
    assert await _settle(settings, wechat, refund, order)
    assert await points.balance(order.user_id) == 0
    assert await PointsEntry.filter(ref=f"refund:{refund.id}:unearn").count() == 1
