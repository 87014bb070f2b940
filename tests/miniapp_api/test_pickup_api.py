"""Earnings and pickup over HTTP (到货, 核销, the clock's completion), and 核销 of one code
by many requests at once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient

from models.growth import EarningEntry, EarningEvent, PickupVerification
from models.order import Order, OrderStatus
from models.user import User
from qunshop.config import Settings
from qunshop.keys import CHAT_TEMPLATES, REDIS
from scheduler.jobs import Jobs
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
    # Paid, not arrived: 待到货, not 待提货.
    assert day["waiting"] == [] and day["picked_up"] == []
    assert [line["buyer"] for line in day["arriving"]] == ["小王"]

    # The goods have not arrived: nothing to hand over yet.
    resp = await client.post(
        "/api/v1/pickups/verify", json={"code": ticket["code"]}, headers=auth(leader, settings)
    )
    assert (resp.status, (await resp.json())["code"]) == (409, "order_not_ready_for_pickup")

    # 到货: only the leader says so.
    resp = await client.post("/api/v1/pickups/arrived", json={}, headers=auth(buyer, settings))
    assert resp.status == 403
    resp = await client.post("/api/v1/pickups/arrived", json={}, headers=auth(leader, settings))
    assert resp.status == 200, await resp.text()
    arrival = await resp.json()
    assert arrival["orders"] == 1 and arrival["community_id"] == str(community.id)
    assert arrival["arrival_id"] and arrival["pickup_point"]["name"] == "门口小店"
    resp = await client.post("/api/v1/pickups/arrived", json={}, headers=auth(leader, settings))
    assert (await resp.json())["orders"] == 0  # told twice: nothing more arrived
    resp = await client.get(f"/api/v1/orders/{order.id}/pickup", headers=auth(buyer, settings))
    assert (await resp.json()) == {**ticket, "status": "ready_for_pickup"}

    resp = await client.post(
        "/api/v1/pickups/verify", json={"code": ticket["code"]}, headers=auth(buyer, settings)
    )
    assert resp.status == 403  # shoppers do not verify
    resp = await client.post(
        "/api/v1/pickups/verify", json={"code": ticket["code"]}, headers=auth(leader, settings)
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["status"] == "picked_up"

    resp = await client.get("/api/v1/me/earnings", headers=auth(leader, settings))
    body = await resp.json()
    assert (body["frozen"], body["available"]) == (500, 0)  # the after-sale days first
    resp = await client.get("/api/v1/pickups/today", headers=auth(leader, settings))
    day = await resp.json()
    assert day["waiting"] == [] and [line["buyer"] for line in day["picked_up"]] == ["小王"]

    # The clock completes it after the configured days, and the earnings are released.
    app = client.server.app
    jobs = Jobs(settings=settings, templates=app[CHAT_TEMPLATES], redis=app[REDIS])
    later = datetime.now(tz=UTC) + timedelta(days=settings.auto_complete_days, minutes=1)
    await jobs.sweep(later)
    assert (await Order.get(id=order.id)).status is OrderStatus.COMPLETED
    resp = await client.get("/api/v1/me/earnings", headers=auth(leader, settings))
    body = await resp.json()
    assert (body["frozen"], body["available"]) == (0, 500)
    assert [e["event"] for e in body["recent"]] == ["release", "accrue"]
    # A week on, the clock also made last week's statement: what was accrued then.
    resp = await client.get("/api/v1/me/earnings/statements", headers=auth(leader, settings))
    assert [s["accrued"] for s in (await resp.json())["items"]] == [500]


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
    resp = await client.post("/api/v1/pickups/arrived", json={}, headers=headers)
    assert (await resp.json())["orders"] == 1

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
    picked = await Order.get(id=order.id)
    assert picked.status is OrderStatus.PICKED_UP and picked.picked_up_at is not None
    assert await PickupVerification.filter(outcome="verified").count() == 1
    assert await PickupVerification.filter(outcome="pickup_code_used").count() == 29
    assert not await EarningEntry.filter(order_id=order.id, event=EarningEvent.RELEASE).exists()
