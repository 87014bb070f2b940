"""Coupons and points through the HTTP door: admins only make templates, claims through the
gate stop at the stock (real concurrency, counting rows), points buy coupons, SKU prices."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient

from models.catalog import Sku
from models.coupon import Coupon, CouponTemplate
from models.user import Role
from qunshop.config import Settings
from services import points
from tests.services.marketing_world import many_users, now
from tests.support.factories import auth, make_sku, make_user

TEMPLATE = {"name": "满30减5", "kind": "amount", "threshold": 3000, "amount_off": 500}


async def test_only_admins_make_templates_and_bad_ones_are_refused(
    client: TestClient, settings: Settings
) -> None:
    shopper = auth(await make_user(), settings)
    body = {**TEMPLATE, "stock_total": 10, "valid_days": 7}
    resp = await client.post("/api/v1/admin/coupon-templates", json=body, headers=shopper)
    assert resp.status == 403
    admin = auth(await make_user(Role.ADMIN), settings)
    both = {**body, "valid_until": "2030-01-01T00:00:00+00:00"}
    resp = await client.post("/api/v1/admin/coupon-templates", json=both, headers=admin)
    assert resp.status == 422 and (await resp.json())["code"] == "coupon_template_invalid"
    resp = await client.post("/api/v1/admin/coupon-templates", json=body, headers=admin)
    assert resp.status == 201
    made = await resp.json()
    assert (made["stock_left"], made["per_user_limit"], made["active"]) == (10, 1, True)
    listed = await (await client.get("/api/v1/coupon-templates")).json()
    assert [t["id"] for t in listed["items"]] == [made["id"]]
    closed = await client.post(f"/api/v1/admin/coupon-templates/{made['id']}/close", headers=admin)
    assert closed.status == 200 and (await closed.json())["active"] is False
    assert (await (await client.get("/api/v1/coupon-templates")).json())["items"] == []


async def test_concurrent_claims_through_the_gate_issue_exactly_the_stock(
    client: TestClient, settings: Settings
) -> None:
    admin = auth(await make_user(Role.ADMIN), settings)
    resp = await client.post(
        "/api/v1/admin/coupon-templates",
        json={**TEMPLATE, "stock_total": 20, "valid_days": 7},
        headers=admin,
    )
    template = (await resp.json())["id"]
    users = await many_users(200)

    async def claim(user: object) -> int:
        path = f"/api/v1/coupon-templates/{template}/claim"
        async with client.post(path, headers=auth(user, settings)) as answer:  # type: ignore[arg-type]
            return answer.status

    statuses = await asyncio.gather(*(claim(u) for u in users))
    assert statuses.count(201) == 20 and statuses.count(409) == 180
    assert await Coupon.filter(template_id=template).count() == 20
    assert (await CouponTemplate.get(id=template)).stock_left == 0
    again = await client.post(
        f"/api/v1/coupon-templates/{template}/claim", headers=auth(users[0], settings)
    )
    assert again.status == 409


async def test_points_buy_a_coupon_and_never_go_below_zero(
    client: TestClient, settings: Settings
) -> None:
    admin = auth(await make_user(Role.ADMIN), settings)
    resp = await client.post(
        "/api/v1/admin/coupon-templates",
        json={
            **TEMPLATE,
            "stock_total": 10,
            "valid_days": 7,
            "points_price": 300,
            "per_user_limit": 5,
        },
        headers=admin,
    )
    template = (await resp.json())["id"]
    user = await make_user()
    await points.add(user_id=user.id, delta=500, reason="checkin", ref="t:p", now=now())
    headers = auth(user, settings)
    first = await client.post(f"/api/v1/coupon-templates/{template}/exchange", headers=headers)
    assert first.status == 201
    second = await client.post(f"/api/v1/coupon-templates/{template}/exchange", headers=headers)
    assert second.status == 409 and (await second.json())["code"] == "points_insufficient"
    mine = await (await client.get("/api/v1/me/points", headers=headers)).json()
    assert mine["balance"] == 200 and [e["delta"] for e in mine["entries"]] == [-300, 500]
    coupons = await (await client.get("/api/v1/me/coupons", headers=headers)).json()
    assert [c["source"] for c in coupons["items"]] == ["points"]
    assert await Coupon.filter(user_id=user.id).count() == 1  # the refused one issued nothing


async def test_a_skus_prices_are_the_ones_it_had(client: TestClient) -> None:
    sku = await make_sku(price=1990)
    await Sku.filter(id=sku.id).update(price=2990)
    resp = await client.get(f"/api/v1/skus/{sku.id}/prices")
    body = await resp.json()
    assert [p["price"] for p in body["items"]] == [2990, 1990]
    assert body["reference_price"] == 1990
