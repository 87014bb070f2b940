"""A bargain (砍价) from start to purchase, through chat and the API.

An admin opens a SKU for bargaining through the API. Wang, in the WeCom group, asks 砍价 and
starts one; the reply carries the code and the card's link. Two friends open the card in the
mini-program and cut, a third cuts with 帮砍 in the group; Wang hears each cut privately.
Wang links the mini-program, buys at the floor and pays with WeChat Pay; the card then says
purchased. A second bargain left alone is closed by the clock at its deadline.
"""

from __future__ import annotations

from datetime import timedelta

from models.bargain import Bargain, BargainStatus
from tests.journeys.bargain_steps import admin_opens_offer, member_links_mini
from tests.journeys.doors import Doors


async def test_a_bargain_from_start_to_purchase(doors: Doors) -> None:
    await admin_opens_offer(doors)

    # Wang, in the group: the offers, then his bargain with its code and link.
    listed = await doors.say_in_group("砍价", sender="wang")
    assert "1. 测试商品" in listed and "找 3 位好友砍到 ¥9.90" in listed
    started = await doors.say_in_group("砍价 1", sender="wang")
    bargain = await Bargain.get()
    code = bargain.code
    assert f"砍价码 {code}" in started and f"/h5/bargains/{code}" in started
    assert "还差 3 刀" in started

    # Friends open the card and cut: two in the mini-program, one in the group.
    status, card = await doors.api("GET", f"/api/v1/bargains/{code}")
    assert (status, card["state"], card["price_now"]) == (200, "open", 9900)
    page = await doors.client.get(f"/h5/bargains/{code}")
    assert page.status == 200 and "还差3刀" in await page.text()
    cut_amounts = []
    for n in range(2):
        friend = await doors.log_in(f"code-friend-{n}", f"o-friend-{n}")
        status, done = await doors.api("POST", f"/api/v1/bargains/{code}/cuts", friend)
        assert status == 201, done
        cut_amounts.append(done["amount"])
        assert done["cuts_left"] == 2 - n
    last = await doors.say_in_group(f"帮砍 {code}", sender="zhao")
    assert "你帮忙砍掉了" in last and "已经砍到底价" in last
    status, card = await doors.api("GET", f"/api/v1/bargains/{code}")
    assert (card["state"], card["price_now"], card["cuts_made"]) == ("reached", 990, 3)
    assert sum(c["amount"] for c in card["cuts"]) == 9900 - 990

    # Wang hears each cut privately (his WeCom identity), the last one as the floor reached.
    await doors.send()
    told = [m for m in doors.wecom_member_receives("wang") if "砍" in m]
    assert len(told) == 3, told
    # The outbox sends them in no promised order (cuts at one frozen instant tie): by content.
    for amount in cut_amounts:
        assert any(f"帮你砍了 ¥{amount / 100:.2f}" in m for m in told), (amount, told)
    (floor,) = [m for m in told if "已砍到底价 ¥9.90" in m]
    assert f"砍价购买 {code}" in floor

    # He links the mini-program (the link the bot sent him alone) and buys at the floor.
    wang, linked = await member_links_mini(doors, "wang", code="code-wang", openid="o-wang-mini")
    assert linked["moved"]["bargains"] == 1, linked
    status, mine = await doors.api("GET", "/api/v1/me/bargains", wang)
    assert [b["code"] for b in mine["items"]] == [code]
    status, order = await doors.api("POST", f"/api/v1/bargains/{code}/order", wang)
    assert status == 201, order
    assert (order["amount"], order["status"]) == (990, "pending_payment")
    await doors.prepay_and_pay(order["id"], wang)
    status, paid = await doors.api("GET", f"/api/v1/orders/{order['id']}", wang)
    assert paid["status"] == "confirmed" and paid["paid_at"] is not None
    status, card = await doors.api("GET", f"/api/v1/bargains/{code}")
    assert (card["state"], card["order_id"]) == ("purchased", order["id"])
    mine_in_chat = await doors.say_alone("我的订单", sender="wang")
    assert "¥9.90" in mine_in_chat

    # Someone else's bargain, left alone, is closed by the clock at its deadline.
    await doors.say_in_group("砍价 1", sender="qian")
    idle = await Bargain.get(status=BargainStatus.OPEN)
    doors.clock.advance(timedelta(hours=24, minutes=1))
    await doors.jobs.due(doors.clock.now())
    assert (await Bargain.get(id=idle.id)).status is BargainStatus.EXPIRED
    late = await doors.say_in_group(f"帮砍 {idle.code}", sender="sun")
    assert "这个砍价已经结束了" in late
