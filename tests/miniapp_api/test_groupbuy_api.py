from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from models.catalog import Sku
from models.groupbuy import Campaign, Seat
from models.order import Order
from models.user import Role
from qunshop.assembly.app import create_app
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from tests.support.factories import (
    auth,
    make_campaign,
    make_community,
    make_sku,
    make_user,
    stock_left,
)
from tests.support.fake_wechat import FakeWeChat


def _body(community_id: str, sku_id: str, **overrides: object) -> dict:
    now = datetime.now(tz=UTC)
    body = {
        "community_id": community_id,
        "sku_id": sku_id,
        "title": "脐橙三人团",
        "group_price": 2990,
        "team_size": 3,
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=2)).isoformat(),
        "stock_cap": 30,
        "price_tiers": [{"min_members": 3, "price": 2590}],
    }
    body.update(overrides)
    return body


async def test_leader_creates_campaign_carving_stock(
    client: TestClient, settings: Settings
) -> None:
    community = await make_community()
    leader = await community.leader
    sku = await make_sku(community, price=3990, stock=100)
    resp = await client.post(
        "/api/v1/campaigns",
        json=_body(str(community.id), str(sku.id)),
        headers=auth(leader, settings),
    )
    assert resp.status == 201, await resp.text()
    out = await resp.json()
    assert out["stock_left"] == 30 and out["price_tiers"][0]["price"] == 2590
    assert (await Sku.get(id=sku.id)).stock == 70
    listed = await (await client.get(f"/api/v1/campaigns?community_id={community.id}")).json()
    assert [c["id"] for c in listed["items"]] == [out["id"]]


async def test_campaign_rules(client: TestClient, settings: Settings) -> None:
    community = await make_community()
    leader = await community.leader
    sku = await make_sku(community, price=3990, stock=10)
    headers = auth(leader, settings)
    cid, sid = str(community.id), str(sku.id)

    resp = await client.post(
        "/api/v1/campaigns", json=_body(cid, sid, team_size=51), headers=headers
    )
    assert resp.status == 422 and (await resp.json())["code"] == "validation_failed"
    resp = await client.post(
        "/api/v1/campaigns", json=_body(cid, sid, stock_cap=11), headers=headers
    )
    assert resp.status == 409 and (await resp.json())["code"] == "out_of_stock"
    bad_tiers = [{"min_members": 3, "price": 3990}]
    resp = await client.post(
        "/api/v1/campaigns", json=_body(cid, sid, price_tiers=bad_tiers), headers=headers
    )
    assert resp.status == 422 and (await resp.json())["code"] == "campaign_invalid"
    naive = _body(cid, sid, starts_at="2026-01-01T00:00:00")
    resp = await client.post("/api/v1/campaigns", json=naive, headers=headers)
    assert resp.status == 422
    assert await Campaign.all().count() == 0
    assert (await Sku.get(id=sku.id)).stock == 10


async def test_only_own_community(client: TestClient, settings: Settings) -> None:
    community = await make_community()
    sku = await make_sku(community, price=3990, stock=100)
    stranger = await make_user(Role.LEADER)
    shopper = await make_user()
    body = _body(str(community.id), str(sku.id))
    resp = await client.post("/api/v1/campaigns", json=body, headers=auth(stranger, settings))
    assert resp.status == 403
    resp = await client.post("/api/v1/campaigns", json=body, headers=auth(shopper, settings))
    assert resp.status == 403
    resp = await client.post("/api/v1/campaigns", json=body)
    assert resp.status == 401
    admin = await make_user(Role.ADMIN)
    resp = await client.post("/api/v1/campaigns", json=body, headers=auth(admin, settings))
    assert resp.status == 201


async def test_orders_are_private(client: TestClient, settings: Settings) -> None:
    campaign = await make_campaign()
    owner, other = await make_user(), await make_user()
    resp = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=auth(owner, settings)
    )
    order_id = (await resp.json())["order"]["id"]
    assert (
        await client.get(f"/api/v1/orders/{order_id}", headers=auth(owner, settings))
    ).status == 200
    for path in (f"/api/v1/orders/{order_id}", "/api/v1/orders/not-a-uuid"):
        resp = await client.get(path, headers=auth(other, settings))
        assert resp.status == 404 and (await resp.json())["code"] == "order_not_found"
    resp = await client.post(f"/api/v1/orders/{order_id}/cancel", headers=auth(other, settings))
    assert resp.status == 404
    mine = await (await client.get("/api/v1/orders", headers=auth(other, settings))).json()
    assert mine["items"] == []
    team = await (await client.get("/api/v1/me/teams", headers=auth(owner, settings))).json()
    assert len(team["items"]) == 1


async def test_cancel_gives_the_seat_back(client: TestClient, settings: Settings) -> None:
    campaign = await make_campaign(stock_cap=5)
    owner = await make_user()
    resp = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=auth(owner, settings)
    )
    order_id = (await resp.json())["order"]["id"]
    resp = await client.post(f"/api/v1/orders/{order_id}/cancel", headers=auth(owner, settings))
    assert resp.status == 200 and (await resp.json())["status"] == "cancelled"
    assert await stock_left(campaign.id) == 5
    resp = await client.post(f"/api/v1/orders/{order_id}/cancel", headers=auth(owner, settings))
    assert resp.status == 409 and (await resp.json())["code"] == "order_cancelled"


async def test_team_page_is_public_without_members(client: TestClient, settings: Settings) -> None:
    campaign = await make_campaign(guaranteed=True)
    owner = await make_user()
    resp = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=auth(owner, settings)
    )
    code = (await resp.json())["team"]["code"]
    page = await (await client.get(f"/api/v1/teams/{code}")).json()
    assert page["seats_left"] == 2 and page["guaranteed"] is True
    assert str(owner.id) not in str(page)


async def test_joining_after_the_campaign_ended_is_refused(
    settings: Settings, start_client: Any
) -> None:
    """The door answers the stable code; the clock, not a hand-made row, ends the campaign."""
    clock = FrozenClock(datetime.now(tz=UTC))
    client = await start_client(create_app(settings, clock=clock, background=False))
    campaign = await make_campaign(now=clock.now())
    clock.set(campaign.ends_at - timedelta(hours=1))
    head = await make_user()
    resp = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams",
        json={},
        headers=auth(head, settings, now=clock.now()),
    )
    assert resp.status == 201, await resp.text()
    code = (await resp.json())["team"]["code"]
    clock.set(campaign.ends_at + timedelta(minutes=5))
    member = await make_user()
    resp = await client.post(
        f"/api/v1/teams/{code}/join", json={}, headers=auth(member, settings, now=clock.now())
    )
    assert resp.status == 409
    assert (await resp.json())["code"] == "campaign_not_active"
    assert await Seat.filter(user_id=member.id).count() == 0


async def test_a_join_past_the_per_person_limit_is_refused_as_the_spec_says(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    """The join's statement raises user_limit_reached; /openapi.json lists it for the join
    (as for the start), so a page knows to expect it."""
    campaign = await make_campaign(team_size=2, per_user_limit=1)
    buyer, friend = await make_user(), await make_user()
    first = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=auth(buyer, settings)
    )
    assert first.status == 201, await first.text()
    code = (await first.json())["team"]["code"]
    joined = await client.post(f"/api/v1/teams/{code}/join", headers=auth(friend, settings))
    assert joined.status == 201, await joined.text()
    for order in await Order.filter(team__code=code).prefetch_related("user"):
        notify = wechat.payment_notify(
            out_trade_no=order.out_trade_no, total_fee=order.amount, openid=order.user.openid
        )
        assert (await client.post("/pay/wechat/notify", data=notify)).status == 200
    other = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=auth(await make_user(), settings)
    )
    code = (await other.json())["team"]["code"]

    refused = await client.post(f"/api/v1/teams/{code}/join", headers=auth(buyer, settings))
    assert refused.status == 409
    assert (await refused.json())["code"] == "user_limit_reached"
    doc = await (await client.get("/openapi.json")).json()
    join = doc["paths"]["/api/v1/teams/{team_ref}/join"]["post"]
    assert "user_limit_reached" in join["x-error-codes"]


async def test_a_group_price_above_the_list_price_is_refused(
    client: TestClient, settings: Settings
) -> None:
    community = await make_community()
    leader = await community.leader
    sku = await make_sku(community, price=3580, stock=50)  # 散养土鸡蛋 ¥35.80
    headers = auth(leader, settings)
    cid, sid = str(community.id), str(sku.id)
    for dear in ({"group_price": 9900}, {"group_price": 3581}):
        resp = await client.post(
            "/api/v1/campaigns", json=_body(cid, sid, price_tiers=[], **dear), headers=headers
        )
        problem = await resp.json()
        assert resp.status == 422 and problem["code"] == "price_above_list", problem
        assert problem["list_price"] == 3580
    assert await Campaign.filter(sku_id=sku.id).count() == 0
    assert (await Sku.get(id=sku.id)).stock == 50  # nothing carved
    at_list = _body(cid, sid, group_price=3580, price_tiers=[{"min_members": 3, "price": 3290}])
    resp = await client.post("/api/v1/campaigns", json=at_list, headers=headers)
    assert resp.status == 201 and await Campaign.filter(sku_id=sku.id).count() == 1
