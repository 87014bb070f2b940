"""The price breakdown adds up in the database; WeChat Pay is asked for exactly what is paid;
the coupon and the points follow the order (spent on payment, back when the team fails);
points never go below zero; the new-user offer is used once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from asyncpg.exceptions import RaiseError
from tortoise.exceptions import IntegrityError, OperationalError

from models.activity import PointsEntry
from models.catalog import Sku
from models.coupon import Coupon, CouponStatus, GrantRule
from models.order import Order, OrderStatus
from models.payment import Payment, Refund
from models.pricing import SkuPrice
from qunshop.config import Settings
from qunshop.errors import Conflict, ErrorCode, Invalid
from qunshop.keys import PAY
from services import (
    checkout,
    coupon_grants,
    coupons,
    groupbuy,
    payments,
    points,
    prepays,
    prices,
    pricing,
    refunds,
)
from tests.services.marketing_world import make_template, now, who
from tests.support.factories import make_campaign, make_sku, make_user
from tests.support.fake_wechat import FakeWeChat

pytestmark = pytest.mark.usefixtures("client")


async def _pay(
    settings: Settings, wechat: FakeWeChat, order: Order, tx: str
) -> payments.NotifyOutcome:
    user = await order.user
    body = wechat.payment_notify(
        out_trade_no=order.out_trade_no,
        total_fee=order.amount,
        openid=user.openid,
        transaction_id=tx,
    )
    return await payments.handle_notify(
        body,
        api_key=settings.pay_api_key.get_secret_value(),
        appid=settings.wechat_appid,
        mch_id=settings.pay_mch_id,
        now=now(),
    )


async def _give_points(user: object, amount: int) -> None:
    await points.add(user_id=user.id, delta=amount, reason="checkin", ref=f"t:{user.id}", now=now())  # type: ignore[attr-defined]


async def test_the_database_refuses_a_breakdown_that_does_not_add_up() -> None:
    user = await make_user()
    sku = await make_sku(price=3000)
    order = await checkout.buy_direct(
        principal=who(user), sku_id=str(sku.id), quantity=2, community_id=None, now=now()
    )
    assert (order.list_price, order.unit_price, order.amount) == (3000, 3000, 6000)
    with pytest.raises((IntegrityError, OperationalError)):
        await Order.filter(id=order.id).update(amount=5000)  # 500 off from nowhere
    with pytest.raises((IntegrityError, OperationalError)):
        await Order.filter(id=order.id).update(coupon_off=-1, amount=6001)
    await Order.filter(id=order.id).update(coupon_off=1000, amount=5000)  # adds up: accepted


async def test_the_database_fixes_the_price_of_an_order_no_longer_awaiting_payment() -> None:
    user = await make_user()
    sku = await make_sku(price=3000)
    order = await checkout.buy_direct(
        principal=who(user), sku_id=str(sku.id), quantity=2, community_id=None, now=now()
    )
    await Order.filter(id=order.id).update(coupon_off=1000, amount=5000)  # awaiting payment
    await checkout.cancel(
        principal=who(user), order_id=str(order.id), now=now(), after_sale_days=7
    )  # the buyer's door
    with pytest.raises(RaiseError, match="price of an order"):
        await Order.filter(id=order.id).update(coupon_off=0, amount=6000)
    await Order.filter(id=order.id).update(chat_id="g-1")  # not its price: accepted
    kept = await Order.get(id=order.id)
    assert (kept.coupon_off, kept.amount, kept.chat_id) == (1000, 5000, "g-1")


async def test_the_points_balance_adds_every_entry_and_never_goes_below_zero() -> None:
    user = await make_user()

    async def add(delta: int, n: int) -> None:
        await points.add(user_id=user.id, delta=delta, reason="checkin", ref=f"t:{n}", now=now())

    with pytest.raises(Conflict) as exc:  # a spend before any points: no balance to take from
        await add(-1, 0)
    assert exc.value.code is ErrorCode.POINTS_INSUFFICIENT
    await add(5, 1)  # the person's first entry makes the balance
    await add(7, 2)
    assert await points.balance(user.id) == 12 == await points.ledger_sum(user.id)
    with pytest.raises(Conflict):
        await add(-13, 3)
    await add(-12, 4)
    await add(0, 5)
    assert await points.balance(user.id) == 0 == await points.ledger_sum(user.id)


async def test_prepay_charges_exactly_paid_and_fixes_the_price(
    client: TestClient, wechat: FakeWeChat
) -> None:
    template = await make_template(threshold=0, amount_off=700)
    user = await make_user()
    await _give_points(user, 500)
    coupon = await coupons.claim(principal=who(user), template_id=str(template.id), now=now())
    sku = await make_sku(price=3000)
    order = await checkout.buy_direct(
        principal=who(user), sku_id=str(sku.id), quantity=1, community_id=None, now=now()
    )
    order = await pricing.set_discounts(
        principal=who(user),
        order_id=str(order.id),
        coupon_id=str(coupon.id),
        points_to_use=300,
        now=now(),
    )
    assert (order.coupon_off, order.points_used, order.points_off, order.amount) == (
        700,
        300,
        300,
        2000,
    )

    await prepays.prepay(
        principal=who(user),
        order_id=str(order.id),
        cashier=prepays.Cashier(
            pay=client.server.app[PAY],
            notify_url="https://shop.example.com/pay/wechat/notify",
            client_ip="127.0.0.1",
        ),
        now=now(),
    )
    assert wechat.pay_orders[order.out_trade_no]["total_fee"] == "2000"
    with pytest.raises(Conflict) as exc:
        await pricing.set_discounts(
            principal=who(user), order_id=str(order.id), coupon_id=None, points_to_use=0, now=now()
        )
    assert exc.value.code is ErrorCode.ORDER_PRICE_FIXED


async def test_payment_spends_the_coupon_and_a_failed_team_gives_it_and_the_points_back(
    settings: Settings, wechat: FakeWeChat
) -> None:
    campaign = await make_campaign(team_size=3, group_price=3000)
    template = await make_template(threshold=2000, amount_off=500)
    user = await make_user()
    await _give_points(user, 400)
    coupon = await coupons.claim(principal=who(user), template_id=str(template.id), now=now())
    held = await groupbuy.start_team(principal=who(user), campaign_id=str(campaign.id), now=now())
    order = await pricing.set_discounts(
        principal=who(user),
        order_id=str(held.order.id),
        coupon_id=str(coupon.id),
        points_to_use=100,
        now=now(),
    )
    assert order.amount == 2400
    assert (await _pay(settings, wechat, order, "4200000100")).honoured
    assert (await Coupon.get(id=coupon.id)).status is CouponStatus.USED
    assert (await Payment.get(order_id=order.id)).amount == 2400
    assert await points.balance(user.id) == 300 + 24  # 400 - 100 spent, + 24 earned on ¥24

    assert await groupbuy.close_team(held.team.id, now=now() + timedelta(days=2)) is not None
    order = await Order.get(id=order.id)
    assert order.status is OrderStatus.REFUNDING
    refund = await Refund.get(order_id=order.id)
    assert refund.amount == 2400  # what was paid, no more
    back = await Coupon.get(id=coupon.id)
    assert back.status is CouponStatus.AVAILABLE and back.order_id is None
    assert await points.balance(user.id) == 424  # the 100 spent back at once
    # The 24 earned go back as the refund succeeds, once however often WeChat Pay says so.
    for _ in range(2):
        await refunds.settle_from_notify(
            wechat.refund_notify(
                out_refund_no=refund.out_refund_no,
                out_trade_no=order.out_trade_no,
                refund_fee=refund.amount,
                total_fee=refund.total,
            ),
            api_key=settings.pay_api_key.get_secret_value(),
            appid=settings.wechat_appid,
            mch_id=settings.pay_mch_id,
            now=now(),
        )
    assert await points.balance(user.id) == 400
    assert await points.balance(user.id) == await points.ledger_sum(user.id)


async def test_concurrent_spends_never_take_points_below_zero() -> None:
    user = await make_user()
    await _give_points(user, 500)
    sku = await make_sku(price=1000, stock=20)
    orders = [
        await checkout.buy_direct(
            principal=who(user), sku_id=str(sku.id), quantity=1, community_id=None, now=now()
        )
        for _ in range(10)
    ]
    results = await asyncio.gather(
        *(
            pricing.set_discounts(
                principal=who(user),
                order_id=str(o.id),
                coupon_id=None,
                points_to_use=100,
                now=now(),
            )
            for o in orders
        ),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Order) for r in results) == 5
    assert all(isinstance(r, Order) or r.code is ErrorCode.POINTS_INSUFFICIENT for r in results)  # type: ignore[union-attr]
    assert await Order.filter(points_used=100).count() == 5
    assert await points.balance(user.id) == 0 == await points.ledger_sum(user.id)
    with pytest.raises(Invalid):  # at most half of the price in points
        await pricing.set_discounts(
            principal=who(user),
            order_id=str(orders[-1].id),
            coupon_id=None,
            points_to_use=600,
            now=now(),
        )


async def test_points_expire_oldest_first_once() -> None:
    user = await make_user()
    long_ago = now() - timedelta(days=points.EXPIRE_DAYS + 10)
    await points.add(user_id=user.id, delta=300, reason="checkin", ref="t:old", now=long_ago)
    await points.add(user_id=user.id, delta=200, reason="checkin", ref="t:new", now=now())
    await points.add(user_id=user.id, delta=-100, reason="checkout", ref="t:spend", now=now())
    assert await points.expire_due(now=now()) == 200  # 300 old, 100 of them spent
    assert await points.expire_due(now=now()) == 0
    assert await points.balance(user.id) == 200 == await points.ledger_sum(user.id)
    assert await PointsEntry.filter(user_id=user.id, reason="expired").count() == 1


async def test_two_first_orders_at_once_use_the_new_user_offer_once(
    settings: Settings, wechat: FakeWeChat
) -> None:
    template = await make_template(
        threshold=0, amount_off=1000, new_user_only=True, per_user_limit=2
    )
    user = await make_user()
    one = await coupons.claim(principal=who(user), template_id=str(template.id), now=now())
    two = await coupons.claim(principal=who(user), template_id=str(template.id), now=now())
    sku = await make_sku(price=3000)
    a, b = [
        await checkout.buy_direct(
            principal=who(user), sku_id=str(sku.id), quantity=1, community_id=None, now=now()
        )
        for _ in range(2)
    ]
    results = await asyncio.gather(
        pricing.set_discounts(
            principal=who(user),
            order_id=str(a.id),
            coupon_id=str(one.id),
            points_to_use=0,
            now=now(),
        ),
        pricing.set_discounts(
            principal=who(user),
            order_id=str(b.id),
            coupon_id=str(two.id),
            points_to_use=0,
            now=now(),
        ),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Order) for r in results) == 1
    assert await Order.filter(new_user_offer=True).count() == 1
    refused = next(r for r in results if not isinstance(r, Order))
    assert refused.code is ErrorCode.NEW_USER_OFFER_USED  # type: ignore[union-attr]


async def test_the_offer_is_checked_again_at_payment(
    settings: Settings, wechat: FakeWeChat
) -> None:
    template = await make_template(threshold=0, amount_off=1000, new_user_only=True)
    user = await make_user()
    coupon = await coupons.claim(principal=who(user), template_id=str(template.id), now=now())
    sku = await make_sku(price=3000)
    offer, plain = [
        await checkout.buy_direct(
            principal=who(user), sku_id=str(sku.id), quantity=1, community_id=None, now=now()
        )
        for _ in range(2)
    ]
    offer = await pricing.set_discounts(
        principal=who(user),
        order_id=str(offer.id),
        coupon_id=str(coupon.id),
        points_to_use=0,
        now=now(),
    )
    assert (await _pay(settings, wechat, plain, "4200000201")).honoured  # paid first
    outcome = await _pay(settings, wechat, offer, "4200000202")
    assert outcome.applied and not outcome.honoured  # refunded: no longer a first order
    assert (await Order.get(id=offer.id)).status is OrderStatus.REFUNDING
    assert (await Refund.get(order_id=offer.id)).amount == 2000
    assert (await Coupon.get(id=coupon.id)).status is CouponStatus.AVAILABLE


async def test_prices_are_the_ones_the_sku_had() -> None:
    sku = await make_sku(price=2000)
    await Sku.filter(id=sku.id).update(price=5000)  # raised before a promotion
    await Sku.filter(id=sku.id).update(price=3000)
    history = await prices.history(str(sku.id))
    assert [r.price for r in history] == [3000, 5000, 2000]
    assert await SkuPrice.filter(sku_id=sku.id, until=None).count() == 1
    assert await prices.reference_price(str(sku.id), now=now()) == 2000  # not the raised 5000
    user = await make_user()
    order = await checkout.buy_direct(
        principal=who(user), sku_id=str(sku.id), quantity=1, community_id=None, now=now()
    )
    assert prices.had(history, (await Order.get(id=order.id)).list_price)


async def test_a_first_paid_order_and_a_silent_member_get_their_rule_coupons(
    settings: Settings, wechat: FakeWeChat
) -> None:
    first = await make_template(grant_rule=GrantRule.FIRST_ORDER, claimable=False)
    winback = await make_template(grant_rule=GrantRule.WINBACK, rule_days=30, claimable=False)
    user = await make_user()
    sku = await make_sku(price=1000)
    orders = [
        await checkout.buy_direct(
            principal=who(user), sku_id=str(sku.id), quantity=1, community_id=None, now=now()
        )
        for _ in range(2)
    ]
    for n, order in enumerate(orders):
        assert (await _pay(settings, wechat, order, f"42000003{n}")).honoured
    assert await Coupon.filter(user_id=user.id, template_id=first.id).count() == 1  # once
    assert await coupon_grants.winback(now=now()) == 0  # paid today: not silent
    later = now() + timedelta(days=31)
    assert await coupon_grants.winback(now=later) == 1
    assert await coupon_grants.winback(now=later) == 0  # once per silence
    assert await Coupon.filter(user_id=user.id, template_id=winback.id).count() == 1
