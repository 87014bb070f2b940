"""A seat held in chat and not paid in time: the clock gives it back and says so.

A mini-program shopper starts a team of three and pays; an Official Account follower joins it
by writing 参团 and does not pay. At the seat's deadline the clock's sweeps (two at once, then
another) release it: the follower is told once, in the chat they used, that the seat went and
how to come back (参团 <code>, the team still being open), and writing that again holds a seat.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from models.order import Order, OrderStatus
from tests.journeys.doors import Doors
from tests.support.factories import make_campaign, make_community


async def test_a_lapsed_seat_is_told_once_and_the_way_back_works(doors: Doors) -> None:
    community = await make_community()
    campaign = await make_campaign(community, team_size=3, group_price=1990)
    mini = await doors.log_in("code-lapse-head", "o-mini-lapse-head")
    resp = await doors.client.post(f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=mini)
    assert resp.status == 201, await resp.text()
    code = (await resp.json())["team"]["code"]
    head = await Order.get(team__code=code)
    await doors.notify_paid(head.out_trade_no, head.amount, "o-mini-lapse-head")

    joined = await doors.say_to_oa(f"参团 {code}")
    assert "已为你占座" in joined and code in joined
    held = await Order.get(team__code=code, status=OrderStatus.PENDING_PAYMENT)
    assert held.reserved_until is not None
    await doors.send()
    told_before = len(doors.follower_receives())

    doors.clock.set(held.reserved_until + timedelta(seconds=1))
    await asyncio.gather(*(doors.jobs.sweep(doors.clock.now()) for _ in range(2)))
    await doors.send()
    await doors.jobs.sweep(doors.clock.now() + timedelta(minutes=1))
    await doors.send()

    assert (await Order.get(id=held.id)).status is OrderStatus.CANCELLED
    lapsed = doors.follower_receives()[told_before:]
    assert lapsed == [
        f"⌛ 你在「测试拼团」（团码 {code}）占的座位已过付款时间，座位已释放，订单已取消，"
        "不会扣款。\n"
        f"这个团还在拼，想参加请发「参团 {code}」。"
    ]

    again = await doors.say_to_oa(f"参团 {code}")
    assert "已为你占座" in again and code in again, again
