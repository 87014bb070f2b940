"""What a mini-program page builds on: products on every row, open teams, members, refunds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from models.catalog import Product
from models.order import Order
from models.user import User
from qunshop.config import Settings
from services import groupbuy
from tests.support.factories import auth, make_campaign, make_user
from tests.support.fake_wechat import FakeWeChat


async def pay(client: TestClient, wechat: FakeWeChat, order: dict[str, Any], openid: str) -> None:
    body = wechat.payment_notify(
        out_trade_no=order["out_trade_no"], total_fee=order["amount"], openid=openid
    )
    resp = await client.post("/pay/wechat/notify", data=body)
    assert resp.status == 200 and "SUCCESS" in await resp.text()


async def test_campaigns_teams_and_orders_carry_the_product_and_members(
    client: TestClient, settings: Settings
) -> None:
    campaign = await make_campaign(team_size=3, group_price=1990)
    await Product.filter(skus__id=campaign.sku_id).update(
        title="赣南脐橙", images=["https://img.example/orange.jpg"]
    )
    listed = await (await client.get("/api/v1/campaigns")).json()  # no login
    product = listed["items"][0]["product"]
    assert (product["title"], product["image"], product["sku_name"]) == (
        "赣南脐橙",
        "https://img.example/orange.jpg",
        "默认",
    )
    assert product["price"] == 1990 and product["sku_id"] == str(campaign.sku_id)

    head, friend = await make_user(nickname="王阿姨"), await make_user(nickname="小李")
    profile = await client.patch(
        "/api/v1/me/profile",
        json={"avatar_url": "https://img.example/wang.png"},
        headers=auth(head, settings),
    )
    assert profile.status == 200
    assert await profile.json() == {
        "nickname": "王阿姨",
        "avatar_url": "https://img.example/wang.png",
    }
    started = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", headers=auth(head, settings)
    )  # no body at all
    assert started.status == 201, await started.text()
    code = (await started.json())["team"]["code"]
    joined = await client.post(f"/api/v1/teams/{code}/join", headers=auth(friend, settings))
    assert joined.status == 201, await joined.text()
    reservation = await joined.json()
    assert reservation["order"]["product"]["title"] == "赣南脐橙"
    assert reservation["team"]["seats_left"] == 1

    teams = await (await client.get(f"/api/v1/campaigns/{campaign.id}/teams")).json()
    (team,) = teams["items"]
    assert (team["code"], team["seats_left"], team["size"]) == (code, 1, 3)
    assert team["deadline_at"] and team["product"]["title"] == "赣南脐橙"
    assert team["members"] == [
        {
            "nickname": "王阿姨",
            "avatar_url": "https://img.example/wang.png",
            "is_head": True,
            "paid": False,
        },
        {"nickname": "小李", "avatar_url": None, "is_head": False, "paid": False},
    ]
    shown = await (await client.get(f"/api/v1/teams/{code}")).json()
    assert [m["nickname"] for m in shown["members"]] == ["王阿姨", "小李"]
    missing = await client.get("/api/v1/campaigns/not-a-campaign/teams")
    assert missing.status == 404 and (await missing.json())["code"] == "campaign_not_found"


async def test_a_full_team_is_not_listed_as_open(client: TestClient, settings: Settings) -> None:
    campaign = await make_campaign(team_size=2)
    head, friend = await make_user(), await make_user()
    started = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=auth(head, settings)
    )
    code = (await started.json())["team"]["code"]
    await client.post(f"/api/v1/teams/{code}/join", headers=auth(friend, settings))
    teams = await (await client.get(f"/api/v1/campaigns/{campaign.id}/teams")).json()
    assert teams["items"] == []


async def test_an_order_shows_its_refund(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    campaign = await make_campaign(team_size=3, group_price=990)
    head = await make_user()
    started = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=auth(head, settings)
    )
    body = await started.json()
    order = (await (await client.get("/api/v1/orders", headers=auth(head, settings))).json())[
        "items"
    ][0]
    assert order["refunds"] == [] and order["product"]["title"] == "测试商品"
    row = await Order.get(id=order["id"])
    await pay(client, wechat, {"out_trade_no": row.out_trade_no, "amount": 990}, head.openid)
    deadline = (await groupbuy.find_team(body["team"]["code"])).deadline_at
    await groupbuy.close_team(body["team"]["id"], now=deadline + timedelta(seconds=1))

    mine = await (
        await client.get(f"/api/v1/orders/{order['id']}", headers=auth(head, settings))
    ).json()
    assert mine["status"] == "refunding"
    (refund,) = mine["refunds"]
    assert (refund["amount"], refund["status"], refund["reason"]) == (990, "pending", "team_failed")


async def test_a_blank_nickname_is_refused_and_a_padded_one_trimmed(
    client: TestClient, settings: Settings
) -> None:
    """Teams and cards show the nickname to others: spaces alone would show nobody."""
    me = await make_user(nickname="小红")
    for blank in ("   ", "\u3000", "\t\n"):
        refused = await client.patch(
            "/api/v1/me/profile", json={"nickname": blank}, headers=auth(me, settings)
        )
        assert refused.status == 422, await refused.text()
        assert (await refused.json())["errors"][0]["loc"] == ["nickname"]
    assert (await User.get(id=me.id)).nickname == "小红"
    padded = await client.patch(
        "/api/v1/me/profile", json={"nickname": " 小红花 "}, headers=auth(me, settings)
    )
    assert padded.status == 200 and (await padded.json())["nickname"] == "小红花"


async def test_a_shopper_pages_through_all_her_orders(
    client: TestClient, settings: Settings
) -> None:
    """Past the first page the older orders are still there: next_cursor leads to them."""
    me, other = await make_user(), await make_user()
    sku_id = (await make_campaign()).sku_id
    made = []
    for n in range(5):
        made.append(
            await Order.create(
                out_trade_no=f"QSPAGE{n:04d}",
                kind="direct",
                user=me,
                sku_id=sku_id,
                unit_price=100,
                amount=100,
                status="confirmed",
            )
        )
    await Order.create(
        out_trade_no="QSPAGEOTHER", kind="direct", user=other, sku_id=sku_id, unit_price=1, amount=1
    )
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(5):
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await client.get("/api/v1/orders", params=params, headers=auth(me, settings))
        assert page.status == 200, await page.text()
        body = await page.json()
        assert len(body["items"]) <= 2
        seen += [o["id"] for o in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [str(o.id) for o in sorted(made, key=lambda o: (o.created_at, o.id))][::-1]
    bad = await client.get("/api/v1/orders", params={"cursor": "nope"}, headers=auth(me, settings))
    assert bad.status == 422 and (await bad.json())["code"] == "invalid_cursor"
    plain = await (await client.get("/api/v1/orders", headers=auth(me, settings))).json()
    assert len(plain["items"]) == 5 and plain["next_cursor"] is None
