"""Share, invite, pay, pick up, refund: the growth hooks as the payment and refund flows call
them, through the real endpoints and signed pay notifies; nothing here calls the hooks by
hand.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient

from models.groupbuy import Team, TeamStatus
from models.growth import EarningEntry, EarningEvent, EarningKind
from models.order import Order, OrderStatus
from models.user import User
from qunshop.config import Settings
from qunshop.keys import CHAT_TEMPLATES, REDIS
from scheduler.jobs import Jobs
from services import earnings, groupbuy
from tests.support.factories import auth, make_campaign, make_community, make_user
from tests.support.fake_wechat import FakeWeChat


async def _pay(client: TestClient, wechat: FakeWeChat, order_id: str) -> None:
    order = await Order.get(id=order_id)
    user = await User.get(id=order.user_id)
    body = wechat.payment_notify(
        out_trade_no=order.out_trade_no, total_fee=order.amount, openid=user.openid
    )
    resp = await client.post(
        "/pay/wechat/notify", data=body, headers={"Content-Type": "application/xml"}
    )
    assert resp.status == 200 and "SUCCESS" in await resp.text()


async def _accruals(order_id: str) -> dict[EarningKind, int]:
    rows = await EarningEntry.filter(order_id=order_id, event=EarningEvent.ACCRUE)
    return {r.kind: r.amount for r in rows}


async def test_invited_member_pays_picks_up_and_a_failed_team_is_reversed(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    campaign = await make_campaign(community, team_size=2, group_price=10_000, per_user_limit=5)
    head, member = await make_user(), await make_user()

    # The head shares the campaign; the member opens it and is bound to the head.
    resp = await client.get(f"/api/v1/campaigns/{campaign.id}/share", headers=auth(head, settings))
    code = (await resp.json())["code"]
    resp = await client.post(
        "/api/v1/attribution/entries", json={"code": code}, headers=auth(member, settings)
    )
    assert (await resp.json())["outcome"] == "bound"

    resp = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=auth(head, settings)
    )
    started = await resp.json()
    resp = await client.post(
        f"/api/v1/teams/{started['team']['code']}/join", json={}, headers=auth(member, settings)
    )
    joined = await resp.json()
    await _pay(client, wechat, started["order"]["id"])
    await _pay(client, wechat, joined["order"]["id"])

    # Paid: accrued and frozen, by the payment's own transaction.
    assert await _accruals(started["order"]["id"]) == {EarningKind.LEADER_SHARE: 500}
    assert await _accruals(joined["order"]["id"]) == {
        EarningKind.LEADER_SHARE: 500,
        EarningKind.INVITE_L1: 300,
    }
    assert await earnings.balance(leader.id) == earnings.Balance(frozen=1000, available=0)
    assert await earnings.balance(head.id) == earnings.Balance(frozen=300, available=0)

    # Arrived, picked up, and completed by the clock after the after-sale days: released.
    resp = await client.post("/api/v1/pickups/arrived", json={}, headers=auth(leader, settings))
    assert (await resp.json())["orders"] == 2
    resp = await client.get(
        f"/api/v1/orders/{joined['order']['id']}/pickup", headers=auth(member, settings)
    )
    pickup_code = (await resp.json())["code"]
    resp = await client.post(
        "/api/v1/pickups/verify", json={"code": pickup_code}, headers=auth(leader, settings)
    )
    assert resp.status == 200, await resp.text()
    assert await earnings.balance(head.id) == earnings.Balance(frozen=300, available=0)
    app = client.server.app
    jobs = Jobs(settings=settings, templates=app[CHAT_TEMPLATES], redis=app[REDIS])
    await jobs.sweep(datetime.now(tz=UTC) + timedelta(days=settings.auto_complete_days, hours=1))
    assert await earnings.balance(head.id) == earnings.Balance(frozen=0, available=300)
    assert await earnings.balance(leader.id) == earnings.Balance(frozen=500, available=500)

    # A second team of the member fails at its deadline: refunded, and reversed.
    resp = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=auth(member, settings)
    )
    lonely = await resp.json()
    await _pay(client, wechat, lonely["order"]["id"])
    assert await earnings.balance(head.id) == earnings.Balance(frozen=300, available=300)
    team = await Team.get(id=lonely["team"]["id"])
    status = await groupbuy.close_team(team.id, now=team.deadline_at + timedelta(seconds=1))
    assert status is TeamStatus.FAILED
    assert (await Order.get(id=lonely["order"]["id"])).status is OrderStatus.REFUNDING
    assert await earnings.balance(head.id) == earnings.Balance(frozen=0, available=300)
    assert await earnings.balance(leader.id) == earnings.Balance(frozen=500, available=500)
