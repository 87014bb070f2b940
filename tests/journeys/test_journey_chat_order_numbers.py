"""The number a shopper types after 我的订单 names the order she was shown, or nothing.

li lists her orders alone with the bot, then an order is placed in the mini-program before
she types 取消订单/售后/取货码 with the number she read: the list has moved under her, so
nothing is done and she is asked to look again; after a fresh look the same kind of number
acts on exactly the order it showed. The rows where orders and money change are counted.
Her order list is hers: asked in the group, it is not shown there.
"""

from __future__ import annotations

from models.aftersale import AfterSale
from models.chat import ChatIdentity
from models.groupbuy import Team
from models.order import Order, OrderStatus
from models.payment import Refund
from models.user import User
from tests.journeys.doors import Doors
from tests.support.factories import auth, make_campaign, make_sku

CHANGED = (
    "你看过「我的订单」之后订单有了变化（比如又下了新单），第 1 个可能已经不是你看到的那个订单了。"
)


async def _statuses(user_id: object) -> dict[str, int]:
    """How many of the person's orders are in each status."""
    counted: dict[str, int] = {}
    for order in await Order.filter(user_id=user_id):
        counted[order.status.value] = counted.get(order.status.value, 0) + 1
    return counted


async def test_a_list_that_moved_never_lets_a_number_act_on_another_order(doors: Doors) -> None:
    community = await doors.bound_community(sender="wang")
    await make_campaign(community, team_size=2, group_price=1990)
    code = await doors.leader_opens_team("wang")
    sku = await make_sku(community, price=500, stock=5)

    # li holds a seat (unpaid) and reads her list alone: it is number 1.
    assert "已为你占座" in await doors.say_in_group(f"参团 {code}", sender="li")
    seat_order = await Order.get(user_id=(await ChatIdentity.get(external_id="li")).user_id)
    li = await User.get(id=seat_order.user_id)
    assert "1. 测试商品 ×1 ¥19.90 · 待支付" in await doors.say_alone("我的订单", sender="li")

    # She buys something else in the mini-program: it is the newest now, number 1 today.
    status, bought = await doors.api(
        "POST", "/api/v1/orders", auth(li, doors.settings), json={"sku_id": str(sku.id)}
    )
    assert status == 201, bought
    before = await _statuses(li.id)
    assert before == {"pending_payment": 2}, before

    # 我的订单 in the group shows the group nothing, and numbers nothing anew.
    in_group = await doors.say_in_group("我的订单", sender="li")
    assert in_group.startswith("「我的订单」是你的个人信息，请私聊我发送。"), in_group
    assert "测试商品" not in in_group and "¥" not in in_group, in_group
    assert "19.90" not in await doors.say_in_group("付款", sender="li")

    # The number she read, glued on or spaced, in the group or alone: refused, nothing done.
    for said, where in (
        ("取消订单1", doors.say_in_group),
        ("取消订单 1", doors.say_alone),
        ("售后1 坏了", doors.say_in_group),
        ("取货码1", doors.say_alone),
    ):
        refused = await where(said, sender="li")
        assert refused.startswith(CHANGED) and "这次没有处理" in refused, (said, refused)
        # Alone with the bot she is already asking privately: only the group is told to.
        ask = "请私聊我发「我的订单」" if where == doors.say_in_group else "请发「我的订单」"
        assert ask in refused, (said, refused)
    assert await _statuses(li.id) == before
    assert await AfterSale.filter(order_id=seat_order.id).count() == 0
    assert (await Team.get(code=code)).seats_held == 1

    # A fresh look numbers them again; the glued number names the order it showed, only.
    fresh = await doors.say_alone("我的订单", sender="li")
    assert "1. 测试商品 ×1 ¥5.00 · 待支付" in fresh and "2. 测试商品 ×1 ¥19.90" in fresh, fresh
    cancelled = await doors.say_in_group("取消订单2", sender="li")
    assert cancelled.startswith("已取消你在「我的订单」里的第 2 个订单"), cancelled
    assert (await Order.get(id=seat_order.id)).status is OrderStatus.CANCELLED
    assert (await Order.get(id=bought["id"])).status is OrderStatus.PENDING_PAYMENT
    assert await _statuses(li.id) == {"pending_payment": 1, "cancelled": 1}
    assert (await Team.get(code=code)).seats_held == 0

    # Cancelling moved no number: the list she read still holds, so 取货码２ and 取消订单 2
    # (full-width, glued) still name the seat she gave up, in their own words.
    assert "没有可以提的货，也没有提货码" in await doors.say_alone("取货码２", sender="li")
    again = await doors.say_in_group("取消订单２", sender="li")
    assert again.startswith("这个订单已经取消了，不用再取消"), again
    assert await _statuses(li.id) == {"pending_payment": 1, "cancelled": 1}
    assert await Refund.filter(order_id__in=[seat_order.id, bought["id"]]).count() == 0


async def test_a_number_typed_before_any_list_was_shown_does_nothing(doors: Doors) -> None:
    community = await doors.bound_community(sender="wang")
    await make_campaign(community, team_size=2, group_price=1990)
    code = await doors.leader_opens_team("wang")
    assert "已为你占座" in await doors.say_in_group(f"参团 {code}", sender="zhao")

    asked = await doors.say_in_group("取消订单1", sender="zhao")
    assert asked.startswith("请先私聊我发「我的订单」看看订单的序号"), asked
    alone = await doors.say_alone("取消订单1", sender="zhao")
    assert alone.startswith("请先发「我的订单」看看订单的序号"), alone
    zhao = await ChatIdentity.get(external_id="zhao")
    assert await _statuses(zhao.user_id) == {"pending_payment": 1}
    assert (await Team.get(code=code)).seats_held == 1
