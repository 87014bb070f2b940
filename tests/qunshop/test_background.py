"""The server refunds a failed team on its own: sweeper, then outbox, then WeChat Pay."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from bot import budget
from models.groupbuy import Team, TeamStatus
from models.order import Order, OrderStatus
from models.payment import Refund, RefundStatus
from qunshop.assembly.app import create_app
from qunshop.assembly.background import CLOCKWORK, outbox_handlers
from qunshop.clock import FrozenClock
from qunshop.keys import TASKS
from tests.support.factories import auth, make_campaign, make_user
from tests.support.fake_wechat import FakeWeChat


async def test_failed_team_is_refunded_without_anyone_clicking(
    make_settings: Any, start_client: Any, wechat: FakeWeChat
) -> None:
    clock = FrozenClock(datetime.now(tz=UTC))
    settings = make_settings(
        outbox_interval_seconds=0.02, sweep_interval_seconds=0.05, scheduler_refresh_seconds=0.05
    )
    client = await start_client(create_app(settings, clock=clock))
    assert client.server.app[TASKS].pending == 1  # the outbox sender; the clock is APScheduler
    assert client.server.app[CLOCKWORK].scheduler.running

    campaign = await make_campaign(team_size=3, now=clock.now())
    head = await make_user()
    resp = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=auth(head, settings)
    )
    order = await Order.get(id=(await resp.json())["order"]["id"])
    notify = wechat.payment_notify(
        out_trade_no=order.out_trade_no, total_fee=order.amount, openid=head.openid
    )
    resp = await client.post("/pay/wechat/notify", data=notify)
    assert "SUCCESS" in await resp.text()

    clock.advance(timedelta(hours=25))  # the deadline passes with one of three members
    for _ in range(200):
        if len(wechat.refunds) == 1 and await Refund.filter(status=RefundStatus.SUBMITTED).exists():
            break
        await asyncio.sleep(0.02)
    team = await Team.get(id=order.team_id)
    assert team.status is TeamStatus.FAILED
    assert (await Order.get(id=order.id)).status is OrderStatus.REFUNDING
    assert len(wechat.refunds) == 1
    refund = await Refund.get(order_id=order.id)
    assert refund.status is RefundStatus.SUBMITTED and refund.amount == order.amount
    await asyncio.sleep(0.1)  # more sweeps and sends change nothing
    assert len(wechat.refunds) == 1 and await Refund.all().count() == 1


async def test_the_outbox_dispatches_updates_left_to_it(client: TestClient) -> None:
    assert budget.REDISPATCH in outbox_handlers(client.server.app)
