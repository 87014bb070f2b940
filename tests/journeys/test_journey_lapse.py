"""A seat held in chat and not paid in time: the clock gives it back and says so.

A mini-program shopper starts a team of three and pays; an Official Account follower joins it
by writing 参团 and does not pay. At the seat's deadline the clock's sweeps (two at once, then
another) release it: the follower is told once, in the chat they used, that the seat went and
how to come back (参团 <code>, the team still being open), and writing that again holds a seat.

The same news, once, for every unpaid order the clock cancels: a seat still held when its
必成团 team succeeds at the deadline, a direct order, a flash order (buy again only where the
sale would still take it), a bargain's order (its price kept until the bargain's deadline, else
a new bargain, else the offer is over).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from models.bargain import Bargain
from models.catalog import Sku
from models.order import Order, OrderStatus
from models.user import Role, User
from tests.bot.helpers import OPENID
from tests.journeys.doors import Doors
from tests.services.flash_world import start_sale
from tests.support.factories import auth, make_campaign, make_community, make_sku, make_user


async def _follower_buys(doors: Doors, path: str, body: dict[str, object]) -> Order:
    """The follower, who wrote to the Official Account just now, buys in the mini-program
    (their account, linked) and does not pay."""
    assert "订单" in await doors.say_to_oa("我的订单")
    follower = await User.get(chat_identities__external_id=OPENID)
    resp = await doors.client.post(
        path, json=body, headers=auth(follower, doors.settings, doors.clock.now())
    )
    assert resp.status == 201, await resp.text()
    return await Order.get(id=(await resp.json())["id"])


async def _lapse(doors: Doors, order: Order) -> list[str]:
    """The clock passes the order's payment window (two sweeps at once, then another); what
    the follower is sent."""
    told_before = len(doors.follower_receives())
    assert order.reserved_until is not None
    doors.clock.set(order.reserved_until + timedelta(seconds=1))
    await asyncio.gather(*(doors.jobs.sweep(doors.clock.now()) for _ in range(2)))
    await doors.send()
    await doors.jobs.sweep(doors.clock.now() + timedelta(minutes=1))
    await doors.send()
    assert (await Order.get(id=order.id)).status is OrderStatus.CANCELLED
    return doors.follower_receives()[told_before:]


async def test_a_lapsed_seat_is_told_once_and_the_way_back_works(doors: Doors) -> None:
    community = await make_community()
    campaign = await make_campaign(community, team_size=3, group_price=1990)
    mini = await doors.log_in("code-lapse-head", "o-mini-lapse-head")
    code = (await doors.start_team(campaign.id, mini))["team"]["code"]
    head = await Order.get(team__code=code)
    await doors.notify_paid(head.out_trade_no, head.amount, "o-mini-lapse-head")

    joined = await doors.say_to_oa(f"参团 {code}")
    assert "已为你占座" in joined and code in joined
    held = await Order.get(team__code=code, status=OrderStatus.PENDING_PAYMENT)
    await doors.send()

    assert await _lapse(doors, held) == [
        f"⌛ 你在「测试拼团」（团码 {code}）占的座位已过付款时间，座位已释放，订单已取消，"
        "不会扣款。\n"
        f"这个团还在拼，想参加请发「参团 {code}」。"
    ]

    again = await doors.say_to_oa(f"参团 {code}")
    assert "已为你占座" in again and code in again, again


async def test_a_seat_unpaid_when_a_guaranteed_team_succeeds_is_told_once(doors: Doors) -> None:
    """A 必成团 team succeeds at its deadline with whoever paid; a follower who wrote 参团 five
    minutes before and never paid loses the seat. They hear it once, that the team succeeded
    without them and nothing is charged (not 参团 <code>: the team is closed), however often
    the clock runs; the group hears the success counting only who paid."""
    community = await doors.bound_community()
    campaign = await make_campaign(community, team_size=3, group_price=1990, guaranteed=True)
    mini = await doors.log_in("code-sure-head", "o-mini-sure-head")
    code = (await doors.start_team(campaign.id, mini))["team"]["code"]
    head = await Order.get(team__code=code)
    await doors.notify_paid(head.out_trade_no, head.amount, "o-mini-sure-head")
    await doors.send()

    deadline = (await Order.get(id=head.id).prefetch_related("team")).team.deadline_at
    doors.clock.set(deadline - timedelta(minutes=5))
    joined = await doors.say_to_oa(f"参团 {code}")
    assert "已为你占座" in joined
    await doors.send()
    told_before = len(doors.follower_receives())

    doors.clock.set(deadline + timedelta(seconds=1))
    await asyncio.gather(*(doors.jobs.due(doors.clock.now()) for _ in range(2)))
    await doors.send()
    await doors.jobs.sweep(doors.clock.now() + timedelta(minutes=1))
    await doors.send()

    assert doors.follower_receives()[told_before:] == [
        f"⌛ 「测试拼团」（团码 {code}）到截止时间已成团，你占的座位没有在截止前付款，"
        "座位已释放，订单已取消，不会扣款。\n"
        "想再参加，请发「团购」看看正在拼的团。"
    ]
    assert doors.group_sees()[-1].startswith(f"🎉 成团啦！「测试拼团」团码 {code}，1 人已付款。")


async def test_a_direct_order_left_unpaid_is_told_once_to_buy_again(doors: Doors) -> None:
    community = await make_community()
    sku = await make_sku(community, stock=5)
    order = await _follower_buys(doors, "/api/v1/orders", {"sku_id": str(sku.id), "quantity": 1})
    assert await _lapse(doors, order) == [
        "⌛ 你的「测试商品」订单已过付款时间，订单已取消，不会扣款。\n"
        "还有货，想要请在小程序里重新下单。"
    ]


@pytest.mark.parametrize(
    ("limit", "after"),
    [
        (2, "秒杀还在进行，想要请在小程序里尽快重新抢购。"),
        (1, "未付款的订单也算在这场秒杀的每人限购里，这次不能再抢了。"),
    ],
)
async def test_a_flash_order_left_unpaid_is_told_once_what_is_left(
    doors: Doors, limit: int, after: str
) -> None:
    """Not 参团 (no team), and buy again only where the sale would take the order."""
    sale = await start_sale(doors.clock, stock=5, limit=limit)
    order = await _follower_buys(doors, f"/api/v1/flash-sales/{sale.id}/buy", {})
    assert await _lapse(doors, order) == [
        f"⌛ 你的「测试商品」秒杀订单已过付款时间，订单已取消，不会扣款。\n{after}"
    ]


async def test_a_flash_order_that_lapses_after_its_sale_says_it_ended(doors: Doors) -> None:
    sale = await start_sale(doors.clock, stock=5, limit=2)
    doors.clock.set(sale.ends_at - timedelta(minutes=1))  # the payment window outlives the sale
    order = await _follower_buys(doors, f"/api/v1/flash-sales/{sale.id}/buy", {})
    assert await _lapse(doors, order) == [
        "⌛ 你的「测试商品」秒杀订单已过付款时间，订单已取消，不会扣款。\n这场秒杀已经结束了。"
    ]


async def _follower_starts_a_bargain(doors: Doors, *, hours: int) -> tuple[Bargain, str]:
    """An admin offers a SKU for bargaining (the offer's id, returned); the follower starts a
    bargain by chat."""
    boss = await make_user(Role.ADMIN)
    sku = await make_sku(price=9900, stock=5)
    status, offer = await doors.api(
        "POST",
        "/api/v1/admin/bargain-offers",
        auth(boss, doors.settings, doors.clock.now()),
        json={"sku_id": str(sku.id), "floor_price": 990, "helpers_needed": 3, "hours": hours},
    )
    assert status == 201, offer
    assert "砍价码" in await doors.say_to_oa("砍价 1")
    return await Bargain.get(), str(offer["id"])


async def _follower_orders(doors: Doors, bargain: Bargain) -> Order:
    """砍价购买: an order at the bargain's price so far, pending payment."""
    ordered = await doors.say_to_oa(f"砍价购买 {bargain.code}")
    assert "已按砍后价下单：¥99.00" in ordered, ordered
    return await Order.get(id=(await Bargain.get(id=bargain.id)).order_id)


LAPSED_BARGAIN = "⌛ 你的「测试商品」砍价订单已过付款时间，订单已取消，不会扣款。\n"


async def test_a_bargain_order_left_unpaid_is_told_once_its_price_is_kept(doors: Doors) -> None:
    """The bargain runs on: its price is kept until its deadline, and 砍价购买 orders again."""
    bargain, _ = await _follower_starts_a_bargain(doors, hours=24)
    order = await _follower_orders(doors, bargain)
    kept = bargain.deadline_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%m-%d %H:%M")
    assert await _lapse(doors, order) == [
        f"{LAPSED_BARGAIN}砍到的价格 ¥99.00 为你保留到 {kept}，"
        f"想要请在这之前发「砍价购买 {bargain.code}」重新下单。"
    ]
    again = await _follower_orders(doors, bargain)
    assert again.id != order.id and again.status is OrderStatus.PENDING_PAYMENT


@pytest.mark.parametrize(
    ("closed", "after"),
    [
        (False, "这次砍价已经到期，砍到的价格不再保留；想要可以发「砍价」重新发起。"),
        (True, "这个砍价活动已经结束了。"),
    ],
)
async def test_a_bargain_order_that_lapses_after_its_bargain_says_what_is_left(
    doors: Doors, closed: bool, after: str
) -> None:
    """Ordered in the bargain's last minutes, the order lapses after its deadline: a new
    bargain may start (砍价), unless the offer has closed meanwhile."""
    bargain, offer_id = await _follower_starts_a_bargain(doors, hours=1)
    doors.clock.set(bargain.deadline_at - timedelta(minutes=5))
    order = await _follower_orders(doors, bargain)
    if closed:
        boss = await make_user(Role.ADMIN)
        headers = auth(boss, doors.settings, doors.clock.now())
        status, _ = await doors.api(
            "POST", f"/api/v1/admin/bargain-offers/{offer_id}/close", headers
        )
        assert status == 200
    assert await _lapse(doors, order) == [f"{LAPSED_BARGAIN}{after}"]
    if not closed:  # the way back works
        assert "砍价码" in await doors.say_to_oa("砍价 1")
        assert await Bargain.filter(starter_id=order.user_id).count() == 2


async def test_a_bargain_whose_product_goes_off_sale_is_not_ordered_again(doors: Doors) -> None:
    """The product is taken off sale while the bargain's order waits for payment: the lapse
    does not invite 砍价购买 again, and neither door orders it at the bargain's price."""
    bargain, _ = await _follower_starts_a_bargain(doors, hours=24)
    order = await _follower_orders(doors, bargain)
    sku = await Sku.get(id=bargain.sku_id)
    boss = auth(await make_user(Role.ADMIN), doors.settings, doors.clock.now())
    status, product = await doors.api(
        "PATCH", f"/api/v1/products/{sku.product_id}", boss, json={"active": False}
    )
    assert status == 200 and product["active"] is False, product

    assert await _lapse(doors, order) == [f"{LAPSED_BARGAIN}这个砍价活动已经结束了。"]
    refused = await doors.say_to_oa(f"砍价购买 {bargain.code}")
    assert "没有找到这个商品" in refused and "已按砍后价下单" not in refused, refused
    follower = auth(await User.get(id=order.user_id), doors.settings, doors.clock.now())
    path = f"/api/v1/bargains/{bargain.code}/order"
    status, answer = await doors.api("POST", path, follower)
    assert (status, answer["code"], answer["detail"]) == (404, "sku_not_found", "no such SKU")
    assert await Order.filter(user_id=order.user_id).count() == 1
    assert (await Sku.get(id=sku.id)).stock == 5  # the lapsed unit came back; none taken since
    status, spec = await doors.api("GET", "/openapi.json")
    assert "sku_not_found" in str(spec["paths"]["/api/v1/bargains/{bargain_ref}/order"]["post"])
