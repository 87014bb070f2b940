"""A team from start to success through the real endpoints and a signed pay notify."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from models.groupbuy import Team, TeamStatus
from models.order import Order, OrderStatus
from models.payment import Payment
from qunshop.config import Settings
from tests.support.factories import auth, make_campaign, make_user, stock_left
from tests.support.fake_wechat import FakeWeChat


async def _pay(client: TestClient, wechat: FakeWeChat, order_id: str, headers: Any) -> str:
    resp = await client.post(f"/api/v1/orders/{order_id}/prepay", headers=headers)
    assert resp.status == 200, await resp.text()
    params = await resp.json()
    assert params["package"].startswith("prepay_id=")
    order = await Order.get(id=order_id)
    user = await order.user
    body = wechat.payment_notify(
        out_trade_no=order.out_trade_no,
        total_fee=order.amount,
        openid=user.openid,
        sign_type="HMAC-SHA256",
    )
    resp = await client.post(
        "/pay/wechat/notify", data=body, headers={"Content-Type": "application/xml"}
    )
    assert resp.status == 200
    text = await resp.text()
    assert "SUCCESS" in text, text
    return text


async def test_team_fills_and_succeeds(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    campaign = await make_campaign(team_size=2, stock_cap=10, group_price=1500, head_price=1200)
    head, member = await make_user(), await make_user()

    resp = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=auth(head, settings)
    )
    assert resp.status == 201, await resp.text()
    started = await resp.json()
    assert started["order"]["amount"] == 1200  # the head's perk
    code = started["team"]["code"]

    resp = await client.post(f"/api/v1/teams/{code}/join", json={}, headers=auth(member, settings))
    assert resp.status == 201, await resp.text()
    joined = await resp.json()
    assert joined["team"]["seats_left"] == 0
    assert await stock_left(campaign.id) == 8

    await _pay(client, wechat, started["order"]["id"], auth(head, settings))
    assert (await Order.get(id=started["order"]["id"])).status is OrderStatus.PAID_AWAITING_TEAM
    await _pay(client, wechat, joined["order"]["id"], auth(member, settings))

    team = await Team.get(code=code)
    assert team.status is TeamStatus.SUCCEEDED and team.seats_paid == 2
    statuses = {o.status for o in await Order.filter(team_id=team.id)}
    assert statuses == {OrderStatus.CONFIRMED}
    assert await Payment.filter(outcome="honoured").count() == 2
