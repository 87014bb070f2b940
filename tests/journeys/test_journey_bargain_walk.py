"""What a new shopper meets around a bargain (砍价), walked through the real doors.

Wang starts a bargain in the WeCom group and, unsure it took, sends 砍价 1 again: he is told
his bargain is already running, with its progress and code, not that a new one started.
Zhao, who only saw the code, tries to buy it at its price (砍价购买): he is told plainly that
only its starter buys at that price, and that he may cut it or start his own; the
mini-program refuses him the same way (403 bargain_not_yours) and nothing is ordered. Wang
orders; Qian starts a bargain of her own. The admin closes the offer: Qian's card (the
mini-program's share and the H5 page) says the bargain ended instead of asking for a cut,
and no door cuts it. Wang pays his order after the close, as he may; like any other paid
order it waits for its goods until the leader's 到货.
"""

from __future__ import annotations

from models.bargain import Bargain, BargainStatus
from models.community import Community
from models.order import Order, OrderStatus
from models.user import User
from tests.journeys.bargain_steps import admin_opens_offer, member_links_mini
from tests.journeys.doors import Doors
from tests.support.factories import auth

INVITE = "帮我砍一刀"
ENDED = "这个砍价活动已经结束了"


async def test_a_new_shopper_around_a_bargain(doors: Doors) -> None:
    offer, admin, _ = await admin_opens_offer(doors)

    # Wang starts one, then asks again: the same bargain, said to be running, with progress.
    started = await doors.say_in_group("砍价 1", sender="wang")
    assert "砍价已发起" in started
    wangs = await Bargain.get()
    assert "你帮忙砍掉了" in await doors.say_in_group(f"帮砍 {wangs.code}", sender="sun")
    wangs = await Bargain.get(id=wangs.id)
    again = await doors.say_in_group("砍价 1", sender="wang")
    assert "砍价已发起" not in again, again
    assert "你已经在砍这件商品了" in again, again
    assert f"现价 ¥{wangs.price_now / 100:.2f}" in again and "已有 1 位好友帮砍" in again
    assert "还差 2 刀" in again and f"砍价码 {wangs.code}" in again
    assert f"/h5/bargains/{wangs.code}" in again
    assert await Bargain.all().count() == 1

    # Zhao tries to buy Wang's bargain at its price: told whose it is and what he can do.
    refused = await doors.say_in_group(f"砍价购买 {wangs.code}", sender="zhao")
    assert "只有发起人才能按砍后价购买" in refused, refused
    assert f"帮砍 {wangs.code}" in refused and "发送「砍价」发起你自己的砍价" in refused
    assert "没有找到" not in refused
    friend = await doors.log_in("code-friend", "o-friend")
    status, problem = await doors.api("POST", f"/api/v1/bargains/{wangs.code}/order", friend)
    assert (status, problem["code"]) == (403, "bargain_not_yours"), problem
    assert await Order.all().count() == 0

    # Wang orders; Qian starts her own, whose card invites cuts while the offer runs.
    assert "已按砍后价下单" in await doors.say_in_group(f"砍价购买 {wangs.code}", sender="wang")
    await doors.say_in_group("砍价 1", sender="qian")
    qians = await Bargain.get(status=BargainStatus.OPEN)
    status, card = await doors.api("GET", f"/api/v1/bargains/{qians.code}/share")
    assert status == 200 and card["title"].startswith(f"{INVITE}！"), card
    page = await doors.client.get(f"/h5/bargains/{qians.code}")
    html = await page.text()
    assert f'<meta property="og:title" content="{INVITE}！' in html, html

    # The admin closes the offer: Qian's card says it ended, and nobody cuts it any more.
    close = f"/api/v1/admin/bargain-offers/{offer['id']}/close"
    status, closed = await doors.api("POST", close, admin)
    assert (status, closed["active"]) == (200, False)
    status, card = await doors.api("GET", f"/api/v1/bargains/{qians.code}/share")
    assert status == 200 and card["title"] == "砍价活动已结束 · 测试商品", card
    page = await doors.client.get(f"/h5/bargains/{qians.code}")
    html = await page.text()
    assert page.status == 200 and INVITE not in html, html
    assert '<meta property="og:title" content="砍价活动已结束 · 测试商品">' in html
    assert "活动已结束，不能再帮砍" in html and "还差" not in html
    assert ENDED in await doors.say_in_group(f"帮砍 {qians.code}", sender="sun")
    status, problem = await doors.api("POST", f"/api/v1/bargains/{qians.code}/cuts", friend)
    assert (status, problem["code"]) == (409, "bargain_offer_closed")
    assert (await Bargain.get(id=qians.id)).cuts_made == 0

    # Wang pays his order after the close, as he may: bought, awaiting its goods.
    await doors.send()
    wang, _ = await member_links_mini(doors, "wang", code="code-wang", openid="o-wang-mini")
    order = await Order.get()
    await doors.prepay_and_pay(str(order.id), wang)
    assert (await Order.get(id=order.id)).status is OrderStatus.CONFIRMED
    status, card = await doors.api("GET", f"/api/v1/bargains/{wangs.code}/share")
    assert card["title"] == f"已砍到 ¥{wangs.price_now / 100:.2f} · 测试商品", card

    # Like any other paid order it waits for its goods, and the leader's 到货 makes it ready.
    assert "还没到货" in await doors.say_alone("取货码", sender="wang")
    community = await Community.get(id=order.community_id)
    leader = auth(await User.get(id=community.leader_id), doors.settings, doors.clock.now())
    status, arrived = await doors.api("POST", "/api/v1/pickups/arrived", leader, json={})
    assert (status, arrived["orders"]) == (200, 1), arrived
    status, paid = await doors.api("GET", f"/api/v1/orders/{order.id}", wang)
    assert paid["status"] == "ready_for_pickup" and paid["pickup_code"], paid
