"""Coupons on PostgreSQL with real concurrency, counting rows: claims never pass the stock or
a person's limit, and one coupon on two orders at once is spent once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient

from models.coupon import Coupon, CouponKind, CouponScope, CouponStatus, CouponTemplate, GrantRule
from models.order import Order, OrderStatus
from qunshop.errors import Conflict, ErrorCode, Invalid, QunshopError
from services import checkout, coupon_grants, coupons, pricing
from services.coupons import TemplateDraft
from tests.services.marketing_world import make_template, many_users, now, who
from tests.support.factories import make_sku, make_user


@pytest.fixture(autouse=True)
async def orm(client: TestClient) -> None:
    """The app's start-up opens the ORM these tests use."""


async def test_a_thousand_claimers_on_stock_100_get_exactly_100() -> None:
    template = await make_template(stock_total=100)
    users = await many_users(1000)

    async def claim(user: object) -> str:
        try:
            await coupons.claim(principal=who(user), template_id=str(template.id), now=now())  # type: ignore[arg-type]
        except QunshopError as exc:
            return exc.code.value
        return "ok"

    answers = await asyncio.gather(*(claim(u) for u in users))

    assert answers.count("ok") == 100
    assert answers.count("coupons_gone") == 900
    assert await Coupon.filter(template_id=template.id).count() == 100
    assert (
        len(set(await Coupon.filter(template_id=template.id).values_list("user_id", flat=True)))
        == 100
    )
    assert (await CouponTemplate.get(id=template.id)).stock_left == 0


async def test_one_person_claiming_at_once_gets_no_more_than_the_limit() -> None:
    template = await make_template(stock_total=50, per_user_limit=2)
    user = await make_user()
    results = await asyncio.gather(
        *(
            coupons.claim(principal=who(user), template_id=str(template.id), now=now())
            for _ in range(20)
        ),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Coupon) for r in results) == 2
    assert all(
        isinstance(r, Coupon) or r.code is ErrorCode.COUPON_LIMIT_REACHED  # type: ignore[union-attr]
        for r in results
    )
    assert await Coupon.filter(user_id=user.id).count() == 2
    assert (await CouponTemplate.get(id=template.id)).stock_left == 48


async def test_claims_made_together_never_pass_the_stock_or_a_persons_limit() -> None:
    """Batches of one statement each, run at once: 400 people (one of them asking 30 times,
    in one batch and across batches) on stock 100 with a limit of 2 a person."""
    template = await make_template(stock_total=100, per_user_limit=2)
    users = await many_users(400)
    greedy = users[0].id
    batches = [[u.id for u in users[k : k + 40]] + [greedy] * 3 for k in range(0, 400, 40)]

    answers = await asyncio.gather(
        *(
            coupons.claim_together(template_id=template.id, user_ids=batch, now=now())
            for batch in batches
        )
    )

    flat = [a for batch in answers for a in batch]
    assert [len(a) for a in answers] == [len(b) for b in batches]
    issued = [a for a in flat if isinstance(a, coupons.Held)]
    assert len(issued) == 100
    assert {a.code for a in flat if not isinstance(a, coupons.Held)} <= {
        ErrorCode.COUPONS_GONE,
        ErrorCode.COUPON_LIMIT_REACHED,
    }
    assert await Coupon.filter(template_id=template.id).count() == 100
    assert await Coupon.filter(template_id=template.id, user_id=greedy).count() <= 2
    assert {h.coupon.id for h in issued} == set(
        await Coupon.filter(template_id=template.id).values_list("id", flat=True)
    )
    assert (await CouponTemplate.get(id=template.id)).stock_left == 0
    assert all(h.template.id == template.id and h.usable for h in issued)


async def test_claims_together_of_a_closed_template_are_all_refused() -> None:
    template = await make_template(stock_total=10)
    admin = await make_user()
    await coupons.close_template(principal=who(admin), template_id=template.id, now=now())
    users = await many_users(3)
    with pytest.raises(Conflict) as exc:
        await coupons.claim_together(
            template_id=template.id, user_ids=[u.id for u in users], now=now()
        )
    assert exc.value.code is ErrorCode.COUPON_NOT_CLAIMABLE
    assert await Coupon.filter(template_id=template.id).count() == 0


async def test_validity_fixed_or_from_the_claim_and_closed_templates_refuse() -> None:
    claimed_at = now()
    by_days = await make_template(valid_days=3)
    until = claimed_at + timedelta(days=10)
    fixed = await make_template(valid_days=None, valid_until=until)
    user = await make_user()
    a = await coupons.claim(principal=who(user), template_id=str(by_days.id), now=claimed_at)
    b = await coupons.claim(principal=who(user), template_id=str(fixed.id), now=claimed_at)
    assert a.valid_until == claimed_at + timedelta(days=3)
    assert b.valid_until == until
    await coupons.close_template(principal=who(user), template_id=fixed.id, now=now())
    with pytest.raises(Conflict) as exc:
        await coupons.claim(principal=who(await make_user()), template_id=str(fixed.id), now=now())
    assert exc.value.code is ErrorCode.COUPON_NOT_CLAIMABLE
    with pytest.raises(Invalid):
        TemplateDraft(name="x", kind=CouponKind.AMOUNT, amount_off=100, stock_total=1)  # no dates


async def _order(user: object, *, price: int = 3000) -> Order:
    sku = await make_sku(price=price, stock=10)
    return await checkout.buy_direct(
        principal=who(user),
        sku_id=str(sku.id),
        quantity=1,
        community_id=None,
        now=now(),  # type: ignore[arg-type]
    )


async def test_one_coupon_on_two_orders_at_once_is_locked_and_spent_once() -> None:
    template = await make_template(threshold=0, amount_off=500)
    user = await make_user()
    coupon = await coupons.claim(principal=who(user), template_id=str(template.id), now=now())
    first, second = await _order(user), await _order(user)

    results = await asyncio.gather(
        *(
            pricing.set_discounts(
                principal=who(user),
                order_id=str(order.id),
                coupon_id=str(coupon.id),
                points_to_use=0,
                now=now(),
            )
            for order in (first, second)
        ),
        return_exceptions=True,
    )

    won = [r for r in results if isinstance(r, Order)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(won) == 1 and len(lost) == 1 and lost[0].code is ErrorCode.COUPON_NOT_USABLE
    assert await Order.filter(coupon_off__gt=0).count() == 1
    held = await Coupon.get(id=coupon.id)
    assert held.status is CouponStatus.LOCKED and held.order_id == won[0].id
    assert won[0].amount == 2500 and won[0].coupon_off == 500 and won[0].list_price == 3000


async def test_at_most_one_coupon_per_order_and_setting_again_replaces() -> None:
    template = await make_template(threshold=0, amount_off=300, per_user_limit=2)
    user = await make_user()
    one = await coupons.claim(principal=who(user), template_id=str(template.id), now=now())
    two = await coupons.claim(principal=who(user), template_id=str(template.id), now=now())
    order = await _order(user)
    for coupon in (one, two):
        await pricing.set_discounts(
            principal=who(user),
            order_id=str(order.id),
            coupon_id=str(coupon.id),
            points_to_use=0,
            now=now(),
        )
    assert (await Coupon.get(id=one.id)).status is CouponStatus.AVAILABLE
    assert (await Coupon.get(id=two.id)).status is CouponStatus.LOCKED
    assert await Coupon.filter(order_id=order.id).count() == 1
    assert (await Order.get(id=order.id)).amount == 2700


async def test_coupons_set_at_once_on_one_order_leave_one() -> None:
    """The buyer's two devices each put a coupon on the order at the same moment."""
    template = await make_template(threshold=0, amount_off=300, per_user_limit=2)
    user = await make_user()
    held = [
        await coupons.claim(principal=who(user), template_id=str(template.id), now=now())
        for _ in range(2)
    ]
    order = await _order(user)

    async def put(coupon: Coupon) -> object:
        return await pricing.set_discounts(
            principal=who(user),
            order_id=str(order.id),
            coupon_id=str(coupon.id),
            points_to_use=0,
            now=now(),
        )

    results = await asyncio.gather(*(put(c) for c in held * 4), return_exceptions=True)
    assert all(isinstance(r, QunshopError) or not isinstance(r, Exception) for r in results)
    assert await Coupon.filter(order_id=order.id).count() == 1
    assert await Coupon.filter(status=CouponStatus.LOCKED).count() == 1
    assert await Coupon.filter(status=CouponStatus.AVAILABLE).count() == 1
    assert (await Order.get(id=order.id)).amount == 2700


async def test_threshold_scope_percent_cap_and_the_one_fen_floor() -> None:
    user = await make_user()
    order = await _order(user, price=1500)
    high = await make_template(threshold=2000, amount_off=500)
    coupon = await coupons.claim(principal=who(user), template_id=str(high.id), now=now())
    with pytest.raises(Conflict):
        await pricing.set_discounts(
            principal=who(user),
            order_id=str(order.id),
            coupon_id=str(coupon.id),
            points_to_use=0,
            now=now(),
        )
    elsewhere = await make_template(threshold=0, scope=CouponScope.CATEGORY, scope_ref="toys")
    coupon = await coupons.claim(principal=who(user), template_id=str(elsewhere.id), now=now())
    with pytest.raises(Conflict):
        await pricing.set_discounts(
            principal=who(user),
            order_id=str(order.id),
            coupon_id=str(coupon.id),
            points_to_use=0,
            now=now(),
        )
    percent = await make_template(
        kind=CouponKind.PERCENT, threshold=0, amount_off=0, percent_off=20, max_off=200
    )
    coupon = await coupons.claim(principal=who(user), template_id=str(percent.id), now=now())
    priced = await pricing.set_discounts(
        principal=who(user),
        order_id=str(order.id),
        coupon_id=str(coupon.id),
        points_to_use=0,
        now=now(),
    )
    assert priced.coupon_off == 200 and priced.amount == 1300  # 20 % is 300, capped at 200
    huge = await make_template(threshold=0, amount_off=99_999)
    coupon = await coupons.claim(principal=who(user), template_id=str(huge.id), now=now())
    priced = await pricing.set_discounts(
        principal=who(user),
        order_id=str(order.id),
        coupon_id=str(coupon.id),
        points_to_use=0,
        now=now(),
    )
    assert priced.amount == 1 and priced.coupon_off == 1499


async def test_a_lapsed_order_gives_its_coupon_back() -> None:
    template = await make_template(threshold=0)
    user = await make_user()
    coupon = await coupons.claim(principal=who(user), template_id=str(template.id), now=now())
    order = await _order(user)
    await pricing.set_discounts(
        principal=who(user),
        order_id=str(order.id),
        coupon_id=str(coupon.id),
        points_to_use=0,
        now=now(),
    )
    assert await checkout.release_expired_direct(now=now() + timedelta(hours=1)) == 1
    assert (await Order.get(id=order.id)).status is OrderStatus.CANCELLED
    back = await Coupon.get(id=coupon.id)
    assert back.status is CouponStatus.AVAILABLE and back.order_id is None


async def test_rule_grants_are_given_once() -> None:
    invite = await make_template(grant_rule=GrantRule.INVITE, claimable=False, per_user_limit=5)
    inviter, invitee = await make_user(), await make_user()
    for _ in range(2):
        await coupon_grants.on_invite(inviter_id=inviter.id, invitee_id=invitee.id, now=now())
    assert await Coupon.filter(user_id=inviter.id, template_id=invite.id).count() == 1
    with pytest.raises(Conflict):  # not claimable by users
        await coupons.claim(principal=who(inviter), template_id=str(invite.id), now=now())
    given = await coupon_grants.by_operator(
        principal=who(inviter),
        template_id=str(invite.id),
        user_ids=[invitee.id, invitee.id],
        now=now(),
    )
    assert len(given.coupons) == 1
