"""A bargain offer closed while bargains run on it (砍价活动停止).

An admin opens a SKU for bargaining. The Official Account follower starts a bargain and
orders it (not paid yet); Wang, in the WeCom group, starts one and Zhao cuts it. The admin
closes the offer through the API: Wang is told, once, that his bargain closed with the offer;
his card says so (API and H5 page); nobody cuts it or buys it at its price any more, in chat
or in the mini-program. The follower's order stays payable within its reservation; left
unpaid, it lapses, its unit comes back, and the news says the offer ended: no 砍价购买 again.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from models.bargain import Bargain, BargainStatus
from models.catalog import Sku
from models.order import Order, OrderStatus
from models.user import User
from tests.journeys.bargain_steps import admin_opens_offer
from tests.journeys.doors import Doors

CLOSED_NEWS = "砍价活动已经结束了，你的砍价"
ENDED = "这个砍价活动已经结束了"


async def test_closing_an_offer_ends_the_bargains_running_on_it(doors: Doors) -> None:
    offer, admin, sku = await admin_opens_offer(doors)

    # The follower starts one and orders it at its price so far; Wang starts one, Zhao cuts.
    assert "砍价码" in await doors.say_to_oa("砍价 1")
    theirs = await Bargain.get()
    assert "已按砍后价下单：¥99.00" in await doors.say_to_oa(f"砍价购买 {theirs.code}")
    placed = await Order.get(id=(await Bargain.get(id=theirs.id)).order_id)
    await doors.say_in_group("砍价 1", sender="wang")
    wangs = await Bargain.get(status=BargainStatus.OPEN)
    assert "你帮忙砍掉了" in await doors.say_in_group(f"帮砍 {wangs.code}", sender="zhao")
    await doors.send()
    follower_before = len(doors.follower_receives())

    close = f"/api/v1/admin/bargain-offers/{offer['id']}/close"
    status, closed = await doors.api("POST", close, admin)
    assert (status, closed["active"]) == (200, False)
    await doors.send()
    told = [m for m in doors.wecom_member_receives("wang") if CLOSED_NEWS in m]
    assert len(told) == 1 and wangs.code in told[0], told
    assert "「测试商品」" in told[0], told
    assert len(doors.follower_receives()) == follower_before  # their order still waits

    # Wang's card says so, and neither door cuts or sells it.
    status, card = await doors.api("GET", f"/api/v1/bargains/{wangs.code}")
    assert (status, card["state"]) == (200, "closed")
    page = await doors.client.get(f"/h5/bargains/{wangs.code}")
    assert page.status == 200 and "活动已结束" in await page.text()
    assert ENDED in await doors.say_in_group(f"帮砍 {wangs.code}", sender="sun")
    assert ENDED in await doors.say_in_group(f"砍价购买 {wangs.code}", sender="wang")
    friend = await doors.log_in("code-friend", "o-friend")
    status, refused = await doors.api("POST", f"/api/v1/bargains/{wangs.code}/cuts", friend)
    assert (status, refused["code"]) == (409, "bargain_offer_closed")
    assert "现在没有可以砍价的商品" in await doors.say_in_group("砍价", sender="qian")
    assert (await Bargain.get(id=wangs.id)).cuts_made == 1

    # Closing again ends nothing more and tells nobody twice.
    status, _ = await doors.api("POST", close, admin)
    assert status == 200
    await doors.send()
    assert len([m for m in doors.wecom_member_receives("wang") if CLOSED_NEWS in m]) == 1

    # The follower's order, placed before the close, lapses unpaid: the unit comes back and
    # the news offers no way back at the bargain's price.
    assert (await Order.get(id=placed.id)).status is OrderStatus.PENDING_PAYMENT
    assert placed.reserved_until is not None
    doors.clock.set(placed.reserved_until + timedelta(seconds=1))
    await asyncio.gather(*(doors.jobs.sweep(doors.clock.now()) for _ in range(2)))
    await doors.send()
    lapsed = doors.follower_receives()[follower_before:]
    assert len(lapsed) == 1 and lapsed[0].endswith(f"{ENDED}。"), lapsed
    assert (await Sku.get(id=sku.id)).stock == 5
    assert ENDED in await doors.say_to_oa(f"砍价购买 {theirs.code}")
    follower = await User.get(id=placed.user_id)
    assert await Order.filter(user_id=follower.id).count() == 1
