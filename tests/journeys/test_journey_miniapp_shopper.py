"""A mini-program shopper's journey, through the real doors only.

Browse without logging in -> log in with wx.login -> open a friend's share card -> join
that team -> pay (WeChat Pay's notify, as it sends it) -> see the order with its product,
amount and state. What the shopper sees is asserted at each step.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp.test_utils import TestClient

from models.catalog import Product
from models.order import Order
from qunshop.config import Settings
from tests.support.factories import auth, make_campaign, make_user
from tests.support.fake_wechat import FakeWeChat


async def pay(
    client: TestClient, wechat: FakeWeChat, headers: dict[str, str], order_id: str
) -> None:
    """Prepay as the mini-program does, then WeChat Pay's notify once the shopper paid."""
    prepay = await client.post(f"/api/v1/orders/{order_id}/prepay", headers=headers)
    assert prepay.status == 200, await prepay.text()
    assert (await prepay.json())["package"].startswith("prepay_id=")
    (sent,) = [o for o in wechat.pay_orders.values() if o["out_trade_no"] == await _trade(order_id)]
    notify = wechat.payment_notify(
        out_trade_no=sent["out_trade_no"], total_fee=int(sent["total_fee"]), openid=sent["openid"]
    )
    answer = await client.post(
        "/pay/wechat/notify", data=notify, headers={"Content-Type": "text/xml"}
    )
    assert answer.status == 200 and "SUCCESS" in await answer.text()


async def _trade(order_id: str) -> str:
    # The out_trade_no is between the server and WeChat Pay; the fake saw it at prepay.
    return (await Order.get(id=order_id)).out_trade_no


async def test_a_shopper_browses_logs_in_joins_from_a_share_card_pays_and_sees_the_order(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    campaign = await make_campaign(team_size=2, group_price=2990)
    await Product.filter(skus__id=campaign.sku_id).update(
        title="赣南脐橙", images=["https://img.example/orange.jpg"]
    )
    friend = await make_user(nickname="王阿姨")
    started = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", headers=auth(friend, settings)
    )
    assert started.status == 201
    team_code = (await started.json())["team"]["code"]
    await pay(client, wechat, auth(friend, settings), (await started.json())["order"]["id"])
    card = await (
        await client.get(f"/api/v1/teams/{team_code}/share", headers=auth(friend, settings))
    ).json()

    # 1. Browsing, not logged in: the deal with its product and price, its open team.
    listed = await client.get(
        "/api/v1/campaigns", params={"community_id": str(campaign.community_id)}
    )
    assert listed.status == 200
    (deal,) = (await listed.json())["items"]
    assert (deal["title"], deal["group_price"]) == ("测试拼团", 2990)
    assert (deal["product"]["title"], deal["product"]["image"]) == (
        "赣南脐橙",
        "https://img.example/orange.jpg",
    )
    products = await (await client.get("/api/v1/products")).json()
    assert [p["title"] for p in products["items"]] == ["赣南脐橙"]
    teams = await (await client.get(f"/api/v1/campaigns/{campaign.id}/teams")).json()
    (open_team,) = teams["items"]
    assert (open_team["code"], open_team["seats_left"]) == (team_code, 1)
    assert open_team["members"] == [
        {"nickname": "王阿姨", "avatar_url": None, "is_head": True, "paid": True}
    ]

    # 2. Logging in: wx.login's code, exchanged by the server with WeChat.
    wechat.sessions["wx-login-code"] = {
        "openid": "o-xiaoli",
        "session_key": "c2Vzc2lvbmtleTEyMzQ1Ng==",
    }
    session = await client.post("/api/v1/session", json={"code": "wx-login-code"})
    assert session.status == 200, await session.text()
    headers = {"Authorization": f"Bearer {(await session.json())['token']}"}

    # 3. Opening the friend's share card: its path names the team and the sharer's code.
    query = parse_qs(urlsplit(card["path"]).query)
    entered = await client.post(
        "/api/v1/attribution/entries", json={"code": query["s"][0]}, headers=headers
    )
    assert entered.status == 200, await entered.text()
    assert (await entered.json())["team_id"] == open_team["id"]
    shown = await (await client.get(f"/api/v1/teams/{query['code'][0]}")).json()
    assert (shown["seats_left"], shown["product"]["title"]) == (1, "赣南脐橙")

    # 4. Joining: the page's button posts no body at all.
    joined = await client.post(f"/api/v1/teams/{team_code}/join", headers=headers)
    assert joined.status == 201, await joined.text()
    reservation: dict[str, Any] = await joined.json()
    assert reservation["order"]["status"] == "pending_payment"
    assert reservation["order"]["amount"] == 2990

    # 5. Paying: prepay, then WeChat Pay's notify. The last seat paid: the team succeeded.
    await pay(client, wechat, headers, reservation["order"]["id"])

    # 6. The order as the shopper sees it.
    mine = await (await client.get("/api/v1/orders", headers=headers)).json()
    (order,) = mine["items"]
    assert order["status"] == "confirmed"
    assert (order["amount"], order["product"]["title"], order["product"]["sku_name"]) == (
        2990,
        "赣南脐橙",
        "默认",
    )
    assert order["refunds"] == [] and order["paid_at"] is not None
    team = await (await client.get(f"/api/v1/teams/{team_code}")).json()
    assert team["status"] == "succeeded" and team["seats_left"] == 0
    assert [m["nickname"] for m in team["members"]] == ["王阿姨", ""]
