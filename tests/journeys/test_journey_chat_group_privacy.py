"""What a shopper's order commands say in the group, and 取消 N, and a bargain's unpaid order.

li and zhao speak in the WeCom group and alone with the bot (signed, encrypted webhooks).
In the group her order commands are carried out (a number names only her own order, from the
list shown to her alone) and the group reads that they were, never what she bought, for how
much, or her pickup code. 取消 N is 取消订单 N; the leader's 活动 取消 N still cancels an
activity. After 砍价购买, 砍价 names the bargain's order as waiting for payment.
"""

from __future__ import annotations

from models.activity import Activity
from models.aftersale import AfterSale
from models.bargain import Bargain
from models.chat import ChatIdentity
from models.groupbuy import Team
from models.order import Order, OrderKind, OrderStatus
from models.user import User
from tests.journeys.bargain_steps import admin_opens_offer
from tests.journeys.doors import Doors
from tests.support.factories import make_campaign

PRODUCT, PRICE = "测试商品", "19.90"


async def _orders_of(sender: str) -> list[Order]:
    person = await ChatIdentity.get(external_id=sender)
    return await Order.filter(user_id=person.user_id).order_by("created_at")


async def _pays(doors: Doors, order: Order) -> None:
    payer = await User.get(id=order.user_id)
    await doors.notify_paid(order.out_trade_no, order.amount, payer.openid)


def _names_nothing(reply: str, *secrets: str) -> None:
    for secret in (PRODUCT, PRICE, "¥", *secrets):
        assert secret not in reply, (secret, reply)


async def test_in_the_group_her_order_commands_act_and_name_nothing(doors: Doors) -> None:
    community = await doors.bound_community(sender="wang")
    await make_campaign(community, team_size=2, group_price=1990, per_user_limit=2)
    code = await doors.leader_opens_team("wang")

    # li holds a seat; alone, 我的订单 numbers it. In the group, 取消 1 cancels it.
    assert "已为你占座" in await doors.say_in_group(f"参团 {code}", sender="li")
    assert f"1. {PRODUCT} ×1 ¥{PRICE} · 待支付" in await doors.say_alone("我的订单", sender="li")
    cancelled = await doors.say_in_group("取消 1", sender="li")
    assert cancelled.startswith("已取消你在「我的订单」里的第 1 个订单"), cancelled
    assert "私聊我发送「我的订单」" in cancelled, cancelled
    _names_nothing(cancelled)
    (seat,) = await _orders_of("li")
    assert seat.status is OrderStatus.CANCELLED
    assert (await Team.get(code=code)).seats_held == 0

    # She joins again and pays, zhao fills the team: confirmed, with a pickup code.
    assert "已为你占座" in await doors.say_in_group(f"参团 {code}", sender="li")
    paid = (await _orders_of("li"))[-1]
    await _pays(doors, paid)
    assert "已为你占座" in await doors.say_in_group(f"参团 {code}", sender="zhao")
    await _pays(doors, (await _orders_of("zhao"))[-1])
    listed = await doors.say_alone("我的订单", sender="li")
    assert f"1. {PRODUCT} ×1 ¥{PRICE} · " in listed, listed
    assert "提货码：" in await doors.say_alone("取货码 1", sender="li")  # alone, it is given
    paid = await Order.get(id=paid.id)
    assert paid.status is OrderStatus.CONFIRMED and paid.pickup_code

    # Her pickup code, under every name, never in the group.
    # (A sender may write 20 times a minute: a few of its names, the rest are the same route.)
    for asked in ("取货码 1", "提货码1", "pickup 1", "我的取货码"):
        refused = await doors.say_in_group(asked, sender="li")
        assert "私聊" in refused, (asked, refused)
        _names_nothing(refused, paid.pickup_code)

    # 售后 1 alone asks why, naming nothing; with a reason it is filed, once.
    why = await doors.say_in_group("售后 1", sender="li")
    assert why.startswith("你的第 1 个订单：请写上原因"), why
    _names_nothing(why)
    assert await AfterSale.filter(order_id=paid.id).count() == 0
    asked = await doors.say_in_group("售后 1 有几个坏了", sender="li")
    assert asked.startswith("已提交你第 1 个订单的售后申请（仅退款）"), asked
    assert "私聊我发送「售后」" in asked, asked
    _names_nothing(asked)
    sale = await AfterSale.get(order_id=paid.id)
    assert (sale.amount, sale.detail) == (paid.amount, "有几个坏了")
    # The other names for it: refused as already asked, still naming nothing; no second row.
    for again in ("退款 1 坏了", "aftersale1坏了"):
        refused = await doors.say_in_group(again, sender="li")
        assert "已经有一个售后申请在处理了" in refused and "私聊我发送「售后」" in refused, refused
        _names_nothing(refused, paid.pickup_code)
    # A cancel of a paid order sends her to 售后, privately.
    use_aftersales = await doors.say_in_group("取消订单 1", sender="li")
    assert "私聊我发送「售后」" in use_aftersales, use_aftersales
    assert (await Order.get(id=paid.id)).status is OrderStatus.CONFIRMED
    assert await AfterSale.filter(order_id=paid.id).count() == 1

    # Alone, the same commands name what and how much, as they always did.
    alone = await doors.say_alone("售后", sender="li")
    assert PRODUCT in alone and "仅退款 ¥19.90 · 待处理" in alone, alone


async def test_cancel_n_is_the_shoppers_and_activity_cancel_stays_the_leaders(
    doors: Doors,
) -> None:
    community = await doors.bound_community(sender="wang")
    await make_campaign(community, team_size=3, group_price=1990, per_user_limit=2)
    code = await doors.leader_opens_team("wang")
    for when in ("明天 09:00 明早到货", "后天 09:00 后天到货"):
        assert "已安排" in await doors.say_in_group(f"活动 公告 {when}", sender="wang")

    # Bare 取消 says what it needs: in the group, to look privately; a leader hears of 活动 too.
    bare = await doors.say_in_group("取消", sender="li")
    assert "例如「取消订单 1」。私聊我发送「我的订单」看看。" in bare, bare
    assert "活动 取消" not in bare, bare
    alone = await doors.say_alone("取消", sender="li")
    assert "例如「取消订单 1」。发送「我的订单」看看。" in alone, alone
    leader_bare = await doors.say_in_group("取消", sender="wang")
    assert "团长取消定时活动请发「活动 取消 序号」" in leader_bare, leader_bare
    assert await Activity.filter(active=True).count() == 2

    # li: 取消 N alone (and cancel N, 取消N glued) each cancel the order her list showed.
    for said in ("取消 1", "cancel 1", "取消1"):
        assert "已为你占座" in await doors.say_in_group(f"参团 {code}", sender="li")
        assert "· 待支付" in await doors.say_alone("我的订单", sender="li")
        done = await doors.say_alone(said, sender="li")
        assert done.startswith(f"已取消订单：{PRODUCT} ×1 ¥{PRICE}"), (said, done)
    assert [o.status for o in await _orders_of("li")] == [OrderStatus.CANCELLED] * 3
    assert await Activity.filter(active=True).count() == 2

    # The leader holds a seat too and has read his list: 活动 取消 1 cancels the activity only.
    assert "已为你占座" in await doors.say_in_group(f"参团 {code}", sender="wang")
    assert "· 待支付" in await doors.say_alone("我的订单", sender="wang")
    assert "已取消第 1 个活动" in await doors.say_in_group("活动 取消 1", sender="wang")
    assert await Activity.filter(active=True).count() == 1
    (his,) = await _orders_of("wang")
    assert his.status is OrderStatus.PENDING_PAYMENT
    # ... and his 取消 1 cancels his order, not an activity.
    his_cancel = await doors.say_in_group("取消 1", sender="wang")
    assert his_cancel.startswith("已取消你在「我的订单」里的第 1 个订单"), his_cancel
    assert (await Order.get(id=his.id)).status is OrderStatus.CANCELLED
    assert await Activity.filter(active=True).count() == 1


async def test_bargain_says_its_order_awaits_payment(doors: Doors) -> None:
    await admin_opens_offer(doors)
    assert "已经" not in await doors.say_in_group("砍价 1", sender="li")
    code = (await Bargain.get()).code
    for friend in ("zhao", "qian", "sun"):
        assert "你帮忙砍掉了" in await doors.say_in_group(f"帮砍 {code}", sender=friend)

    # Bought in the group: done, and the group reads neither amount nor product.
    ordered = await doors.say_in_group(f"砍价购买 {code}", sender="li")
    assert ordered.startswith("已按砍后价下单。请在 15 分钟内到小程序「我的订单」支付"), ordered
    _names_nothing(ordered, "9.90")
    (order,) = await _orders_of("li")
    assert (order.kind, order.amount, order.status) == (
        OrderKind.BARGAIN,
        990,
        OrderStatus.PENDING_PAYMENT,
    )

    # 砍价 still speaks of it: alone with the amount and its number, in the group without.
    alone = await doors.say_alone("砍价", sender="li")
    assert f"你的砍价 {code}：{PRODUCT} 已按 ¥9.90 下单，待付款" in alone, alone
    assert "到小程序「我的订单」付款" in alone and "（第 1 个订单）" in alone, alone
    in_group = await doors.say_in_group("砍价", sender="li")
    mine = in_group.split("发送「砍价 编号」发起砍价。")[-1]
    assert f"你的砍价 {code} 已下单，待付款" in mine and "私聊我发送「我的订单」" in mine, in_group
    _names_nothing(mine, "9.90")
    assert "1. 测试商品 ×1 ¥9.90 · 待支付" in await doors.say_alone("我的订单", sender="li")

    # Paid, it is no longer waiting: 砍价 no longer asks her to pay.
    await _pays(doors, order)
    assert (await Order.get(id=order.id)).status is not OrderStatus.PENDING_PAYMENT
    assert "待付款" not in await doors.say_alone("砍价", sender="li")


async def test_a_bargain_bought_early_and_cancelled_is_not_said_cut_to_the_floor(
    doors: Doors,
) -> None:
    await admin_opens_offer(doors)
    await doors.say_in_group("砍价 1", sender="li")
    code = (await Bargain.get()).code
    assert "你帮忙砍掉了" in await doors.say_in_group(f"帮砍 {code}", sender="zhao")
    assert "已按砍后价下单" in await doors.say_in_group(f"砍价购买 {code}", sender="li")
    assert "待付款" in await doors.say_alone("砍价", sender="li")

    # She cancels its order (取消 1 from 我的订单): 砍价 offers it again at the price reached.
    assert "· 待支付" in await doors.say_alone("我的订单", sender="li")
    assert "已取消订单" in await doors.say_alone("取消 1", sender="li")
    again = await doors.say_alone("砍价", sender="li")
    assert "砍价已停止（上次下的单没付款，已取消）" in again and "已砍到底" not in again, again
    assert f"「砍价购买 {code}」" in again and "待付款" not in again, again
    assert [o.status for o in await _orders_of("li")] == [OrderStatus.CANCELLED]
