"""A member tier's perks reach the money: its discount on group prices at checkout, its
points multiplier on payment, a coupon on moving up, the monthly coupon pack once a month."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from models.coupon import Coupon, GrantRule
from models.order import Order
from models.user import Role
from qunshop.config import Settings
from services import checkout, groupbuy, payments, points, pricing, tiers
from services.auth import Principal
from tests.services.marketing_world import make_template, now, who
from tests.support.factories import make_campaign, make_sku, make_user
from tests.support.fake_wechat import FakeWeChat

pytestmark = pytest.mark.usefixtures("client")

BOSS = Principal(user_id=uuid.UUID(int=0), role=Role.ADMIN)


async def _pay(settings: Settings, wechat: FakeWeChat, order: Order, tx: str) -> None:
    user = await order.user
    body = wechat.payment_notify(
        out_trade_no=order.out_trade_no,
        total_fee=order.amount,
        openid=user.openid,
        transaction_id=tx,
    )
    outcome = await payments.handle_notify(
        body,
        api_key=settings.pay_api_key.get_secret_value(),
        appid=settings.wechat_appid,
        mch_id=settings.pay_mch_id,
        now=now(),
    )
    assert outcome.honoured


async def test_a_gold_member_pays_less_earns_more_and_gets_the_upgrade_coupon_and_pack(
    settings: Settings, wechat: FakeWeChat
) -> None:
    upgrade = await make_template(grant_rule=GrantRule.TIER_UPGRADE, claimable=False)
    pack = await make_template(name="金卡月券", claimable=False, per_user_limit=12)
    ladder = tiers.Ladder(
        window_days=90,  # next month 金卡 still holds
        levels=(
            tiers.LevelSpec(
                "金卡",
                5000,
                discount_bps=1000,
                points_multiplier_pct=200,
                coupon_template_ids=(str(pack.id),),
            ),
        ),
    )
    await tiers.set_ladder(ladder, actor=BOSS, now=now())
    user = await make_user()

    # ¥60 paid directly: growth 6000 reaches 金卡, and the payment that reached it already earns
    # at 金卡's x2.
    sku = await make_sku(price=6000)
    first = await checkout.buy_direct(
        principal=who(user), sku_id=str(sku.id), quantity=1, community_id=None, now=now()
    )
    await _pay(settings, wechat, first, "4200000901")
    assert (await tiers.perks_for(user.id, now=now())).discount_bps == 1000
    assert await Coupon.filter(user_id=user.id, template_id=upgrade.id).count() == 1
    assert await Coupon.filter(user_id=user.id, template_id=pack.id).count() == 1
    assert await points.balance(user.id) == 120

    # A group-buy seat at ¥30: 10 % off for 金卡, and twice the points on what is paid.
    campaign = await make_campaign(team_size=3, group_price=3000)
    held = await groupbuy.start_team(principal=who(user), campaign_id=str(campaign.id), now=now())
    order = await pricing.set_discounts(
        principal=who(user), order_id=str(held.order.id), coupon_id=None, points_to_use=0, now=now()
    )
    assert (order.member_off, order.amount) == (300, 2700)
    await _pay(settings, wechat, order, "4200000902")
    assert await points.balance(user.id) == 120 + 27 * 2

    # The pack once a month: another calculation this month gives none, next month's one.
    await tiers.recalculate(user.id, now=now())
    assert await Coupon.filter(user_id=user.id, template_id=pack.id).count() == 1
    await tiers.recalculate(user.id, now=now() + timedelta(days=32))
    assert await Coupon.filter(user_id=user.id, template_id=pack.id).count() == 2
    assert await Coupon.filter(user_id=user.id, template_id=upgrade.id).count() == 1
