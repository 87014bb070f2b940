"""Member tiers through the API: the admin's ladder, the member's tier in GET /api/v1/me
and GET /api/v1/me/tier (the chat's 会员/tier: tests/handlers/test_tier_command.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp.test_utils import TestClient

from models.order import Order, OrderKind, OrderStatus
from models.user import Role
from qunshop.config import Settings
from services import tiers
from tests.support.factories import auth, make_sku, make_user

LADDER = {
    "window_days": 180,
    "levels": [
        {"name": "银卡", "threshold": 10000, "discount_bps": 200, "points_multiplier_pct": 120},
        {
            "name": "金卡",
            "threshold": 50000,
            "discount_bps": 500,
            "points_multiplier_pct": 150,
            "coupon_template_ids": ["6f1c2a52-8c55-4e0f-9f4e-1f2a3b4c5d6e"],
        },
    ],
}


async def _set(client: TestClient, settings: Settings) -> None:
    boss = await make_user(Role.ADMIN)
    resp = await client.put("/api/v1/admin/tiers", json=LADDER, headers=auth(boss, settings))
    assert resp.status == 200, await resp.text()


async def _spent(user_id: object, amount: int) -> None:
    await Order.create(
        out_trade_no=f"QSTIER{amount}{str(user_id)[:8]}",
        kind=OrderKind.DIRECT,
        user_id=user_id,
        sku=await make_sku(),
        unit_price=amount,
        amount=amount,
        status=OrderStatus.CONFIRMED,
        paid_at=datetime.now(tz=UTC),
    )


async def test_admins_set_the_ladder(client: TestClient, settings: Settings) -> None:
    shopper = await make_user()
    resp = await client.put("/api/v1/admin/tiers", json=LADDER, headers=auth(shopper, settings))
    assert resp.status == 403
    await _set(client, settings)
    boss = await make_user(Role.ADMIN)
    ladder = await (await client.get("/api/v1/admin/tiers", headers=auth(boss, settings))).json()
    assert ladder["window_days"] == 180 and ladder["lower_mid_month"] is False
    assert [(lv["name"], lv["threshold"]) for lv in ladder["levels"]] == [
        ("银卡", 10000),
        ("金卡", 50000),
    ]
    twice = {**LADDER, "levels": [LADDER["levels"][0], {**LADDER["levels"][1], "name": "银卡"}]}
    resp = await client.put("/api/v1/admin/tiers", json=twice, headers=auth(boss, settings))
    assert resp.status == 422 and (await resp.json())["code"] == "tier_ladder_invalid"


async def test_me_shows_the_tier(client: TestClient, settings: Settings) -> None:
    await _set(client, settings)
    user = await make_user()
    me = await (await client.get("/api/v1/me", headers=auth(user, settings))).json()
    assert me["tier"]["name"] is None and me["tier"]["to_next"] == 10000
    await _spent(user.id, 60000)
    # The payment's recalculation runs after its commit (tests/services/test_tiers.py); here
    # a fresh month would recalculate too, so ask the service as the outbox would.
    await tiers.recalculate(user.id, now=datetime.now(tz=UTC))
    me = await (await client.get("/api/v1/me", headers=auth(user, settings))).json()
    tier = me["tier"]
    assert (tier["name"], tier["growth"], tier["next_name"], tier["to_next"]) == (
        "金卡",
        60000,
        None,
        None,
    )
    assert (tier["discount_bps"], tier["points_multiplier_pct"]) == (500, 150)
    assert tier["monthly_coupon_template_ids"] == ["6f1c2a52-8c55-4e0f-9f4e-1f2a3b4c5d6e"]
    mine = await (await client.get("/api/v1/me/tier", headers=auth(user, settings))).json()
    assert mine == tier
