"""Earnings and pickup over HTTP, and 核销 of one code by many requests at once."""

from __future__ import annotations

import asyncio
from collections import Counter

from aiohttp.test_utils import TestClient

from models.growth import EarningEntry, EarningEvent, PickupVerification
from models.order import Order, OrderStatus
from models.user import User
from qunshop.config import Settings
from tests.support.factories import auth, make_community, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.support.growth import paid_order


async def test_pickup_code_verify_and_the_day_list(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    buyer = await make_user(nickname="小王")
    order = await paid_order(settings, wechat, buyer, community, price=10_000)

    resp = await client.get("/api/v1/me/earnings", headers=auth(leader, settings))
    body = await resp.json()
    assert (body["frozen"], body["available"], body["week"]["accrued"]) == (500, 0, 500)

    resp = await client.get(f"/api/v1/orders/{order.id}/pickup", headers=auth(buyer, settings))
    assert resp.status == 200, await resp.text()
    ticket = await resp.json()
    assert ticket["pickup_point"]["name"] == "门口小店" and ticket["status"] == "confirmed"

    resp = await client.get("/api/v1/pickups/today", headers=auth(leader, settings))
    day = await resp.json()
    assert [line["buyer"] for line in day["waiting"]] == ["小王"] and day["picked_up"] == []

    resp = await client.post(
        "/api/v1/pickups/verify", json={"code": ticket["code"]}, headers=auth(buyer, settings)
    )
    assert resp.status == 403  # shoppers do not verify
    resp = await client.post(
        "/api/v1/pickups/verify", json={"code": ticket["code"]}, headers=auth(leader, settings)
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["status"] == "completed"

    resp = await client.get("/api/v1/me/earnings", headers=auth(leader, settings))
    body = await resp.json()
    assert (body["frozen"], body["available"]) == (0, 500)
    assert [e["event"] for e in body["recent"]] == ["release", "accrue"]
    resp = await client.get("/api/v1/pickups/today", headers=auth(leader, settings))
    day = await resp.json()
    assert day["waiting"] == [] and [line["buyer"] for line in day["picked_up"]] == ["小王"]
    resp = await client.get("/api/v1/me/earnings/statements", headers=auth(leader, settings))
    assert (await resp.json()) == {"items": []}


async def test_concurrent_verification_completes_the_order_once(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    buyer = await make_user()
    order = await paid_order(settings, wechat, buyer, community)
    resp = await client.get(f"/api/v1/orders/{order.id}/pickup", headers=auth(buyer, settings))
    code = (await resp.json())["code"]
    headers = auth(leader, settings)

    responses = await asyncio.gather(
        *(
            client.post("/api/v1/pickups/verify", json={"code": code}, headers=headers)
            for _ in range(30)
        )
    )
    counts: Counter = Counter()
    for resp in responses:
        counts[resp.status if resp.status == 200 else (await resp.json())["code"]] += 1
    assert counts == Counter({200: 1, "pickup_code_used": 29})

    # The database's rows are the verdict.
    assert (await Order.get(id=order.id)).status is OrderStatus.COMPLETED
    assert await PickupVerification.filter(outcome="verified").count() == 1
    assert await PickupVerification.filter(outcome="pickup_code_used").count() == 29
    releases = await EarningEntry.filter(order_id=order.id, event=EarningEvent.RELEASE)
    assert len(releases) == 1 and releases[0].amount == 500
