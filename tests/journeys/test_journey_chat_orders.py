"""A shopper's own orders from the chat: 取消订单 and 取货码, by the number 我的订单 shows.

li speaks in the WeCom group and alone with the bot (the intelligent bot, signed and encrypted
webhooks); WeChat Pay notifies as it does; the leader says 到货 and 核销 in the group; the
injected clock passes the after-sale days, configured here to 3 (QUNSHOP_AUTO_COMPLETE_DAYS)
so that the refusal is seen to say the configured days, not a fixed 7.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from models.aftersale import AfterSale
from models.chat import ChatIdentity
from models.community import Community
from models.groupbuy import Team
from models.order import Order, OrderStatus
from models.user import User
from qunshop.config import Settings
from tests.journeys.doors import Doors
from tests.support.factories import auth, make_campaign

DAYS = 3


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(auto_complete_days=DAYS)


async def _newest(sender: str) -> Order:
    """The order ``sender`` (a chat identity) placed last."""
    person = await ChatIdentity.get(external_id=sender)
    order = await Order.filter(user_id=person.user_id).order_by("-created_at").first()
    assert order is not None
    return order


async def _pays(doors: Doors, sender: str) -> Order:
    """WeChat Pay's notify for the sender's last order, as it comes once they paid."""
    order = await _newest(sender)
    payer = await User.get(id=order.user_id)
    await doors.notify_paid(order.out_trade_no, order.amount, payer.openid)
    return await Order.get(id=order.id)


async def _team_open(doors: Doors) -> tuple[Community, str]:
    """The leader's community, bound to the group, with a team of two opened there (开团)."""
    community = await doors.bound_community(sender="wang")
    await make_campaign(community, team_size=2, group_price=1990, per_user_limit=2)
    return community, await doors.leader_opens_team("wang")


async def _joins_and_pays(doors: Doors, sender: str, code: str) -> Order:
    assert "已为你占座" in await doors.say_in_group(f"参团 {code}", sender=sender)
    return await _pays(doors, sender)


async def test_a_shopper_cancels_her_unpaid_order_by_its_number(doors: Doors) -> None:
    _, code = await _team_open(doors)

    # li holds a seat; 我的订单, alone with the bot, numbers it and says how to cancel it.
    assert "已为你占座" in await doors.say_in_group(f"参团 {code}", sender="li")
    mine = await doors.say_alone("我的订单", sender="li")
    assert "1. 测试商品 ×1 ¥19.90 · 待支付" in mine and "「取消订单 序号」" in mine, mine

    # Unpaid, there is no pickup code yet.
    unpaid = await doors.say_alone("取货码 1", sender="li")
    assert "还没付款，还没有提货码" in unpaid, unpaid

    # She cancels it by its number, in the group: it is done, and the group reads only that.
    cancelled = await doors.say_in_group("取消订单 1", sender="li")
    assert cancelled == (
        "已取消你在「我的订单」里的第 1 个订单：它还没付款，不会扣款，也不用退款。"
        "订单详情请私聊我发送「我的订单」查看。"
    )
    assert (await _newest("li")).status is OrderStatus.CANCELLED
    assert (await Team.get(code=code)).seats_held == 0
    again = await doors.say_in_group("cancel 1", sender="li")
    assert again == "这个订单已经取消了，不用再取消：它没有付款，不会扣款。想要的话请重新下单。"
    assert "没有可以提的货" in await doors.say_alone("取货码 1", sender="li")
    # 售后 on it is refused at once, not after she has written why.
    refused = await doors.say_alone("售后 1", sender="li")
    assert refused.startswith("这个订单现在还不能申请售后"), refused
    assert "没有第 3 个订单（最近只有 1 个）" in await doors.say_in_group("取消订单 3", sender="li")
    assert "序号" in await doors.say_in_group("取消订单", sender="li")

    # She joins again and pays: waiting for the team it is not cancelled.
    li_order = await _joins_and_pays(doors, "li", code)
    assert "2. 测试商品 ×1 ¥19.90 · 已取消" in await doors.say_alone("我的订单", sender="li")
    waiting = await doors.say_in_group("取消订单 1", sender="li")
    assert "正在等成团，现在不能取消" in waiting, waiting
    assert "正在等成团：成团后才有提货码" in await doors.say_alone("pickup 1", sender="li")

    # zhao fills the team and pays: confirmed, it is after-sales' now.
    await _joins_and_pays(doors, "zhao", code)
    assert (await Order.get(id=li_order.id)).status is OrderStatus.CONFIRMED
    use_aftersales = await doors.say_in_group("取消订单 1", sender="li")
    assert "不能取消" in use_aftersales and "「售后」" in use_aftersales, use_aftersales
    assert (await Order.get(id=li_order.id)).status is OrderStatus.CONFIRMED


async def test_her_pickup_code_comes_alone_never_into_the_group(doors: Doors) -> None:
    community, code = await _team_open(doors)
    li_order = await _joins_and_pays(doors, "li", code)
    zhao_order = await _joins_and_pays(doors, "zhao", code)

    # Her pickup code: alone with the bot, never in the group, once her orders are numbered.
    assert "测试商品" in await doors.say_alone("我的订单", sender="li")
    alone = await doors.say_alone("取货码 1", sender="li")
    pickup_code = (await Order.get(id=li_order.id)).pickup_code or ""
    assert pickup_code and f"提货码：{pickup_code}" in alone and "还没到货" in alone, alone
    for asked in ("取货码", "取货码 1", "pickup"):
        in_group = await doors.say_in_group(asked, sender="li")
        assert "私聊" in in_group and pickup_code not in in_group, in_group

    # The goods arrive: her codes, alone; the group's 我的订单 sends her to 取货码.
    assert "可以提货了" in await doors.say_in_group("到货", sender="wang")
    codes = await doors.say_alone("取货码", sender="li")
    assert f"1. 测试商品 ×1 · 提货码 {pickup_code} · 已到货，可以来取" in codes, codes
    # A full-width keyboard: 「取货码　１」 is 取货码 1, and reads back as 1.
    wide = await doors.say_alone("取货码\u3000１", sender="li")
    assert wide.startswith(f"第 1 个订单 测试商品 ×1 的提货码：{pickup_code}"), wide
    listed = await doors.say_in_group("我的订单", sender="li")
    assert listed.startswith("「我的订单」是你的个人信息，请私聊我发送。"), listed
    assert pickup_code not in listed and "¥" not in listed, listed

    # zhao's order is refunded in full before pickup: nothing to pick up, nothing to cancel.
    assert "测试商品" in await doors.say_alone("售后", sender="zhao")
    # Asked in the group, her list of orders and amounts is not read out there.
    group_list = await doors.say_in_group("售后", sender="zhao")
    assert group_list.startswith("「售后」是你的个人信息，请私聊我发送。"), group_list
    assert "测试商品" not in group_list and "¥" not in group_list, group_list
    assert "售后申请" in await doors.say_in_group("售后 1 坏了", sender="zhao")
    sale = await AfterSale.get(order_id=zhao_order.id)
    leader = await User.get(id=community.leader_id)
    status, approved = await doors.api(
        "POST",
        f"/api/v1/after-sales/{sale.id}/approve",
        auth(leader, doors.settings, doors.clock.now()),
    )
    assert status == 200, approved
    await doors.send()
    await doors.refunds_done()
    await doors.send()
    assert (await Order.get(id=zhao_order.id)).status is OrderStatus.REFUNDED
    nothing = await doors.say_alone("取货码 1", sender="zhao")
    assert "已经退款了，没有可以提的货" in nothing, nothing
    refunded = await doors.say_in_group("取消订单 1", sender="zhao")
    assert "全额退回" in refunded and "不用再取消" in refunded, refunded

    # li picks up; once the configured after-sale days are over, the refusal says them.
    assert "核销成功" in await doors.say_in_group(f"核销 {pickup_code}", sender="wang")
    assert "已经取过货了" in await doors.say_alone("取货码 1", sender="li")
    doors.clock.advance(timedelta(days=DAYS, hours=1))
    closed = await doors.say_in_group("取消订单 1", sender="li")
    assert closed == (
        f"这个订单已经过了售后期（自提后 {DAYS} 天内可以申请售后），不能再取消或申请退款了。"
    )
    assert await doors.say_in_group("售后 1 坏了", sender="li") == closed
    assert await doors.say_alone("售后 1", sender="li") == closed  # no reason asked for first
    await doors.jobs.sweep(doors.clock.now())
    assert (await Order.get(id=li_order.id)).status is OrderStatus.COMPLETED
    assert await doors.say_in_group("取消订单 1", sender="li") == closed


async def test_help_names_the_new_commands_and_a_follower_asks_alone(doors: Doors) -> None:
    """An Official Account chat is one-to-one: 取货码 answers there, with nothing to pick up."""
    shown = await doors.say_in_group("帮助", sender="li")
    assert "取消订单 <序号> (cancel)" in shown and "取货码 [序号] (pickup)" in shown, shown
    follower = await doors.say_to_oa("取货码")
    assert "你现在没有待提货的订单" in follower, follower
    assert "没有第 1 个订单：你还没有订单" in await doors.say_to_oa("取消订单 1")
