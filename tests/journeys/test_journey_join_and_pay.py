"""A team filled by shoppers who pay as they join, through the real doors only.

Log in with wx.login -> start a team and pay in one request -> a friend joins and pays in one
request while WeChat Pay refuses: the seat is held, the answer says why, and she pays later
through prepay -> a third joins and pays in one request; each payment arrives as WeChat Pay's
signed notify -> the team succeeded and each sees a confirmed order.
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from models.order import Order
from qunshop.config import Settings
from tests.support.factories import make_campaign
from tests.support.fake_wechat import FakeWeChat
from wechat import pay


async def _log_in(client: TestClient, wechat: FakeWeChat, openid: str) -> dict[str, str]:
    wechat.sessions[f"code-{openid}"] = {"openid": openid, "session_key": "c2Vzc2lvbmtleQ=="}
    session = await client.post("/api/v1/session", json={"code": f"code-{openid}"})
    assert session.status == 200, await session.text()
    return {"Authorization": f"Bearer {(await session.json())['token']}"}


def _request_payment(settings: Settings, params: dict[str, str]) -> None:
    """What wx.requestPayment checks: our app, a prepay_id, and paySign over the rest."""
    assert params["appId"] == settings.wechat_appid
    assert params["package"].startswith("prepay_id=")
    unsigned = {k: v for k, v in params.items() if k != "paySign"}
    assert pay.verify(
        {**unsigned, "sign": params["paySign"]}, settings.pay_api_key.get_secret_value()
    )


async def _wechat_pays(client: TestClient, wechat: FakeWeChat, params: dict[str, str]) -> None:
    """The shopper confirms in WeChat; WeChat Pay sends its notify for that prepay_id."""
    prepay_id = params["package"].removeprefix("prepay_id=")
    (placed,) = [o for o in wechat.pay_orders.values() if o["prepay_id"] == prepay_id]
    notify = wechat.payment_notify(
        out_trade_no=placed["out_trade_no"],
        total_fee=int(placed["total_fee"]),
        openid=placed["openid"],
    )
    answer = await client.post(
        "/pay/wechat/notify", data=notify, headers={"Content-Type": "text/xml"}
    )
    assert answer.status == 200 and "SUCCESS" in await answer.text()


async def _my_order(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    (order,) = (await (await client.get("/api/v1/orders", headers=headers)).json())["items"]
    return order


async def test_shoppers_pay_as_they_join_and_one_pays_later_when_wechat_pay_refused(
    journey: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    client = journey
    campaign = await make_campaign(team_size=3, group_price=1990)
    head = await _log_in(client, wechat, "o-head")
    friend = await _log_in(client, wechat, "o-friend")
    third = await _log_in(client, wechat, "o-third")

    # 1. The head starts the team and pays in one request, then WeChat Pay notifies.
    started = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", json={"pay": True}, headers=head
    )
    assert started.status == 201, await started.text()
    start = await started.json()
    assert start["payment_error"] is None
    _request_payment(settings, start["payment"])
    await _wechat_pays(client, wechat, start["payment"])
    code = start["team"]["code"]

    # 2. The friend joins with pay while WeChat Pay refuses: the seat is hers all the same.
    mch_id, wechat.mch_id = wechat.mch_id, "1900000109"
    joined = await client.post(f"/api/v1/teams/{code}/join", json={"pay": True}, headers=friend)
    assert joined.status == 201, await joined.text()
    join = await joined.json()
    assert join["payment"] is None
    assert join["payment_error"]["code"] == "payment_provider_error"
    assert join["order"]["status"] == "pending_payment"
    team = await (await client.get(f"/api/v1/teams/{code}")).json()
    assert (team["seats_held"], team["seats_left"]) == (2, 1)

    # ... and pays a minute later through prepay, as the page's "pay" button does.
    wechat.mch_id = mch_id
    later = await client.post(f"/api/v1/orders/{join['order']['id']}/prepay", headers=friend)
    assert later.status == 200, await later.text()
    _request_payment(settings, await later.json())
    await _wechat_pays(client, wechat, await later.json())
    assert (await _my_order(client, friend))["status"] == "paid_awaiting_team"

    # 3. The third joins and pays in one request: her payment fills the team.
    joined = await client.post(f"/api/v1/teams/{code}/join", json={"pay": True}, headers=third)
    assert joined.status == 201, await joined.text()
    last = await joined.json()
    assert last["payment_error"] is None and last["order"]["amount"] == 1990
    _request_payment(settings, last["payment"])
    assert (await Order.get(id=last["order"]["id"])).prepaid_at is not None
    await _wechat_pays(client, wechat, last["payment"])

    # 4. What each sees: the team succeeded, every order confirmed and paid.
    team = await (await client.get(f"/api/v1/teams/{code}")).json()
    assert team["status"] == "succeeded"
    for headers in (head, friend, third):
        order = await _my_order(client, headers)
        assert (order["status"], order["amount"]) == ("confirmed", 1990)
        assert order["paid_at"] is not None
    assert len(wechat.calls_to("/pay/unifiedorder")) == 4  # one refused, three placed
