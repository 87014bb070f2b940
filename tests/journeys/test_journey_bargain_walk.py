"""What a new shopper meets around a bargain (砍价), walked through the real doors.

Wang starts a bargain in the WeCom group and, unsure it took, sends 砍价 1 again: he is told
his bargain is already running, with its progress and code, not that a new one started.
Zhao, who only saw the code, tries to buy it at its price (砍价购买): he is told plainly that
only its starter buys at that price, and that he may cut it or start his own; the
mini-program refuses him the same way (403 bargain_not_yours) and nothing is ordered. Wang
orders; Qian starts a bargain of her own. The admin closes the offer: Qian's card (the
mini-program's share and the H5 page) says the bargain ended instead of asking for a cut,
and no door cuts it. Wang pays his order after the close, as he may.
"""

from __future__ import annotations

from models.bargain import Bargain, BargainStatus
from models.order import Order, OrderStatus
from models.user import Role
from tests.journeys.doors import LINK_TOKEN, Doors
from tests.support.factories import auth, make_sku, make_user

INVITE = "帮我砍一刀"
ENDED = "这个砍价活动已经结束了"


async def test_a_new_shopper_around_a_bargain(doors: Doors) -> None:
    boss = await make_user(Role.ADMIN)
    sku = await make_sku(price=9900, stock=5)
    admin = auth(boss, doors.settings, doors.clock.now())
    status, offer = await doors.api(
        "POST",
        "/api/v1/admin/bargain-offers",
        admin,
        json={"sku_id": str(sku.id), "floor_price": 990, "helpers_needed": 3, "hours": 24},
    )
    assert status == 201, offer

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
    assert status == 200 and card["title"] == "砍价活动已结束 · 测试商品 默认", card
    page = await doors.client.get(f"/h5/bargains/{qians.code}")
    html = await page.text()
    assert page.status == 200 and INVITE not in html, html
    assert '<meta property="og:title" content="砍价活动已结束 · 测试商品 默认">' in html
    assert "活动已结束，不能再帮砍" in html and "还差" not in html
    assert ENDED in await doors.say_in_group(f"帮砍 {qians.code}", sender="sun")
    status, problem = await doors.api("POST", f"/api/v1/bargains/{qians.code}/cuts", friend)
    assert (status, problem["code"]) == (409, "bargain_offer_closed")
    assert (await Bargain.get(id=qians.id)).cuts_made == 0

    # Wang pays his order after the close, as he may: bought, awaiting its goods.
    await doors.send()
    (token,) = {
        found.group(1)
        for text in doors.wecom_member_receives("wang")
        if (found := LINK_TOKEN.search(text))
    }
    wang = await doors.log_in("code-wang", "o-wang-mini")
    status, linked = await doors.api("POST", "/api/v1/me/links", wang, json={"token": token})
    assert status == 200, linked
    order = await Order.get()
    await doors.prepay_and_pay(str(order.id), wang)
    assert (await Order.get(id=order.id)).status is OrderStatus.CONFIRMED
    status, card = await doors.api("GET", f"/api/v1/bargains/{wangs.code}/share")
    assert card["title"] == f"已砍到 ¥{wangs.price_now / 100:.2f} · 测试商品 默认", card
