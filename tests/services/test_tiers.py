"""Member tiers: growth over the window, rises at once, falls only from the next month."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from tortoise import connections

from models.order import Order, OrderKind, OrderStatus
from models.payment import Payment, Refund, RefundStatus
from models.tier import MemberTier
from models.user import Role, User
from qunshop.config import Settings
from qunshop.errors import Invalid
from services import refunds, tiers
from services.auth import Principal
from tests.support.factories import auth, make_sku, make_user

pytestmark = pytest.mark.usefixtures("client")

BOSS = Principal(user_id=uuid.UUID(int=0), role=Role.ADMIN)
MID_DEC = datetime(2026, 12, 15, 4, 0, tzinfo=UTC)
LADDER = tiers.Ladder(
    levels=(
        tiers.LevelSpec("银卡", 10000, discount_bps=200, points_multiplier_pct=120),
        tiers.LevelSpec(
            "金卡",
            50000,
            discount_bps=500,
            points_multiplier_pct=150,
            coupon_template_ids=("6f1c2a52-8c55-4e0f-9f4e-1f2a3b4c5d6e",),
        ),
    )
)


async def paid(user: User, amount: int, at: datetime) -> Order:
    sku = await make_sku()
    order = await Order.create(
        out_trade_no=f"QS{at:%m%d%H%M%S}{amount}{user.id.hex[:8]}",
        kind=OrderKind.DIRECT,
        user=user,
        sku=sku,
        unit_price=amount,
        amount=amount,
        status=OrderStatus.CONFIRMED,
        paid_at=at,
    )
    await Payment.create(
        order=order, transaction_id=f"T{order.out_trade_no}", amount=amount, outcome="honoured"
    )
    return order


async def refund(order: Order, amount: int, status: RefundStatus = RefundStatus.SUCCEEDED) -> None:
    payment = await Payment.get(order_id=order.id)
    await Refund.create(
        order=order,
        payment=payment,
        out_refund_no=f"RF{order.out_trade_no}",
        amount=amount,
        total=payment.amount,
        reason="after_sale",
        cause="after_sale",
        status=status,
    )


async def test_growth_is_paid_gmv_minus_refunds_within_the_window() -> None:
    await tiers.set_ladder(LADDER, actor=BOSS, now=MID_DEC)
    user = await make_user()
    await paid(user, 8000, MID_DEC - timedelta(days=400))  # outside the 365 days
    big = await paid(user, 30000, MID_DEC - timedelta(days=10))
    await paid(user, 4000, MID_DEC - timedelta(days=1))
    await refund(big, 5000)
    small = await paid(user, 1000, MID_DEC - timedelta(days=2))
    await refund(small, 1000, RefundStatus.FAILED)  # closed unpaid: still counts as paid
    found = await tiers.recalculate(user.id, now=MID_DEC)
    assert found.growth == 30000 + 4000 + 1000 - 5000
    assert found.level is not None and found.level.name == "银卡"
    assert (found.next_level.name, found.to_next) == ("金卡", 50000 - 30000)
    assert found.perks == tiers.Perks(200, 120, ())


async def test_a_rise_counts_at_once_and_a_fall_waits_for_the_next_month() -> None:
    await tiers.set_ladder(LADDER, actor=BOSS, now=MID_DEC)
    user = await make_user()
    order = await paid(user, 60000, MID_DEC - timedelta(days=1))
    assert (await tiers.recalculate(user.id, now=MID_DEC)).level.name == "金卡"
    await refund(order, 55000)
    later = MID_DEC + timedelta(days=10)
    held = await tiers.recalculate(user.id, now=later)
    assert held.growth == 5000 and held.level.name == "金卡"  # held through December
    perks = await tiers.perks_for(user.id, now=later)
    assert perks.discount_bps == 500 and perks.monthly_coupon_template_ids == (
        "6f1c2a52-8c55-4e0f-9f4e-1f2a3b4c5d6e",
    )
    # 1 January in Shanghai (still 31 December in UTC): the first read lowers it.
    new_year = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)
    fallen = await tiers.standing(user.id, now=new_year)
    assert fallen.level is None and fallen.growth == 5000
    assert (await MemberTier.get(user_id=user.id)).held_month == "2027-01"
    assert await tiers.perks_for(user.id, now=new_year) == tiers.NO_PERKS


async def test_the_admin_may_let_tiers_fall_mid_month() -> None:
    await tiers.set_ladder(
        tiers.Ladder(lower_mid_month=True, levels=LADDER.levels), actor=BOSS, now=MID_DEC
    )
    user = await make_user()
    order = await paid(user, 20000, MID_DEC - timedelta(days=1))
    assert (await tiers.recalculate(user.id, now=MID_DEC)).level.name == "银卡"
    await refund(order, 15000)
    assert (await tiers.recalculate(user.id, now=MID_DEC)).level is None


async def test_the_ladder_is_checked_and_kept_by_name() -> None:
    with pytest.raises(Invalid) as dup:
        await tiers.set_ladder(
            tiers.Ladder(levels=(tiers.LevelSpec("A", 100), tiers.LevelSpec("B", 100))),
            actor=BOSS,
            now=MID_DEC,
        )
    assert dup.value.code == "tier_ladder_invalid"
    for wrong in (
        tiers.Ladder(levels=(tiers.LevelSpec("A", 1, coupon_template_ids=("not-an-id",)),)),
        tiers.Ladder(timezone="Mars/Olympus", levels=()),
        tiers.Ladder(levels=(tiers.LevelSpec("A", 1, discount_bps=9000),)),
    ):
        with pytest.raises(Invalid):
            await tiers.set_ladder(wrong, actor=BOSS, now=MID_DEC)
    _, levels = await tiers.set_ladder(LADDER, actor=BOSS, now=MID_DEC)
    silver = levels[0].id
    user = await make_user()
    await paid(user, 12000, MID_DEC)
    await tiers.recalculate(user.id, now=MID_DEC)
    _, levels = await tiers.set_ladder(
        tiers.Ladder(levels=(tiers.LevelSpec("银卡", 11000, discount_bps=300),)),
        actor=BOSS,
        now=MID_DEC,
    )
    assert [(lv.name, lv.threshold, lv.id) for lv in levels] == [("银卡", 11000, silver)]
    assert (await MemberTier.get(user_id=user.id)).level_id == silver  # kept its level
    assert (await tiers.perks_for(user.id, now=MID_DEC)).discount_bps == 300


async def test_payments_and_refunds_recalculate_in_their_transaction(
    client: TestClient, settings: Settings, wechat: Any
) -> None:
    await tiers.set_ladder(LADDER, actor=BOSS, now=MID_DEC)
    user = await make_user()
    sku = await make_sku(price=12000)
    made = await client.post(
        "/api/v1/orders", json={"sku_id": str(sku.id), "quantity": 1}, headers=auth(user, settings)
    )
    order = await made.json()
    prepay = await client.post(f"/api/v1/orders/{order['id']}/prepay", headers=auth(user, settings))
    assert prepay.status == 200
    row = await Order.get(id=order["id"])
    notify = wechat.payment_notify(
        out_trade_no=row.out_trade_no, total_fee=12000, openid=user.openid
    )
    assert (await client.post("/pay/wechat/notify", data=notify)).status == 200
    held = await MemberTier.get(user_id=user.id).select_related("level")
    assert (held.growth, held.level.name) == (12000, "银卡")

    payment = await Payment.get(order_id=row.id)
    await refunds.owe(
        order=row, payment=payment, amount=12000, reason="after_sale", now=datetime.now(tz=UTC)
    )
    held = await MemberTier.get(user_id=user.id).select_related("level")
    assert held.growth == 0 and held.level.name == "银卡"  # held for the rest of the month


async def test_a_failing_recalculation_never_holds_a_payment_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("tiers are down")

    monkeypatch.setattr(tiers, "recalculate", broken)
    await tiers.on_money_moved(uuid.uuid4(), now=MID_DEC)  # logged, not raised


async def test_a_postgresql_error_in_the_payments_recalculation_leaves_the_payment_standing(
    client: TestClient,
    settings: Settings,
    wechat: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # No rules row: the statement reads the month in this zone, which PostgreSQL refuses.
    monkeypatch.setattr(tiers, "DEFAULT_TZ", "Nowhere/Atlantis")
    user = await make_user()
    sku = await make_sku(price=12000)
    made = await client.post(
        "/api/v1/orders", json={"sku_id": str(sku.id), "quantity": 1}, headers=auth(user, settings)
    )
    order = await made.json()
    prepay = await client.post(f"/api/v1/orders/{order['id']}/prepay", headers=auth(user, settings))
    assert prepay.status == 200
    row = await Order.get(id=order["id"])
    notify = wechat.payment_notify(
        out_trade_no=row.out_trade_no, total_fee=12000, openid=user.openid
    )
    answer = await client.post("/pay/wechat/notify", data=notify)
    assert answer.status == 200 and "SUCCESS" in await answer.text()
    paid_order = await Order.get(id=row.id)
    assert paid_order.status is OrderStatus.CONFIRMED and paid_order.paid_at is not None
    assert await Payment.filter(order_id=row.id, outcome="honoured").count() == 1
    assert not await MemberTier.exists(user_id=user.id)  # rolled back alone
    assert "tier recalculation failed (22023" in caplog.text


async def _pay_statements_tiers(user: User, at: datetime) -> bool:
    """The tier recalculation the pay notify's statement runs (``qunshop_pay_order``,
    migration 0160): whether it wrote the member's row (no ladder)."""
    _, rows = await connections.get("default").execute_query(
        "SELECT written, failed FROM qunshop_tiers_without_ladder($1, $2, $3, $4, $5, $6)",
        [user.id, at, uuid.uuid4(), tiers.DEFAULT_WINDOW_DAYS, tiers.DEFAULT_TZ, tiers.RULES_ID],
    )
    assert rows[0]["failed"] is None
    return rows[0]["written"]


async def _row(user: User) -> tuple[Any, ...]:
    row = await MemberTier.get(user_id=user.id)
    return row.level_id, row.growth, row.held_month, row.recalculated_at, row.ladder_version


@pytest.mark.parametrize(
    "ladder",
    [None, tiers.Ladder(window_days=30, timezone="America/New_York", levels=())],
    ids=["no rules", "rules without levels"],
)
async def test_without_a_ladder_a_payment_writes_what_a_recalculation_would(
    ladder: tiers.Ladder | None,
) -> None:
    if ladder is not None:
        await tiers.set_ladder(ladder, actor=BOSS, now=MID_DEC)
    user, twin = await make_user(), await make_user()
    for who in (user, twin):
        await paid(who, 8000, MID_DEC - timedelta(days=100))  # in 365 days, not in 30
        big = await paid(who, 30000, MID_DEC - timedelta(days=10))
        await refund(big, 5000)
    new_year = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)  # 2027 in Shanghai, not New York
    for at in (MID_DEC, MID_DEC, new_year):  # made, then updated, then a new month
        assert await _pay_statements_tiers(user, at) is True
        assert await tiers.on_paid(user.id, settled=True, failed=None, now=at) is None
        await tiers.recalculate(twin.id, now=at)
        assert await _row(user) == await _row(twin)
    expected_month = "2027-01" if ladder is None else "2026-12"
    assert (await MemberTier.get(user_id=user.id)).held_month == expected_month


async def test_with_a_ladder_a_payment_recalculates_as_before() -> None:
    await tiers.set_ladder(LADDER, actor=BOSS, now=MID_DEC)
    user = await make_user()
    await paid(user, 12000, MID_DEC - timedelta(days=1))
    # The first standing of the month counts this payment: its perks are the new level's.
    assert await _pay_statements_tiers(user, MID_DEC) is False  # a ladder: nothing written
    on_paid = tiers.on_paid(user.id, settled=False, failed=None, now=MID_DEC)
    assert await on_paid == tiers.Perks(200, 120, ())
    await paid(user, 50000, MID_DEC)
    # Later payments earn with the level held before them; the level rises with them.
    on_paid = tiers.on_paid(user.id, settled=False, failed=None, now=MID_DEC)
    assert await on_paid == tiers.Perks(200, 120, ())
    assert (await tiers.standing(user.id, now=MID_DEC)).level.name == "金卡"
