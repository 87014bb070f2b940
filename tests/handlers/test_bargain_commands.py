"""砍价 / 帮砍 / 砍价购买 through the dispatcher, checked against the database."""

from __future__ import annotations

from datetime import UTC, datetime

from models.bargain import Bargain, BargainCut
from models.chat import ChatIdentity
from models.order import Order, OrderKind
from models.user import Role
from qunshop.chat import Platform, Text
from services import bargains
from services.auth import Principal
from tests.handlers.conftest import Say
from tests.support.factories import make_sku, make_user


async def _offer(*, price: int = 9900, floor: int = 990, helpers: int = 2) -> bargains.BargainOffer:
    boss = await make_user(Role.ADMIN)
    sku = await make_sku(price=price)
    spec = bargains.OfferSpec(
        sku_id=str(sku.id), floor_price=floor, helpers_needed=helpers, hours=24
    )
    return await bargains.open_offer(
        principal=Principal(user_id=boss.id, role=Role.ADMIN), spec=spec, now=datetime.now(tz=UTC)
    )


async def test_bargain_lists_starts_and_friends_cut_in_chat(say: Say) -> None:
    await _offer()
    listed = await say("砍价", sender="li")
    assert isinstance(listed, Text)
    assert "1. 测试商品" in listed.content and "¥99.00" in listed.content
    assert "砍到 ¥9.90" in listed.content
    started = await say("bargain 1", sender="li")
    bargain = await Bargain.get()
    assert bargain.code in started.content and "还差 2 刀" in started.content
    assert f"/h5/bargains/{bargain.code}" in started.content
    assert f"发送「帮砍 {bargain.code}」就能帮你砍一刀" in started.content
    assert "打开" not in started.content  # the page shows the progress; it does not cut
    again = await say("砍价 1", sender="li")  # the same bargain, not a second one
    assert bargain.code in again.content and await Bargain.all().count() == 1
    assert "砍价已发起" not in again.content and "你已经在砍这件商品了" in again.content
    # Buying does not wait for the floor: both say so, with the command to type.
    for told in (started, again):
        assert f"也可以随时发「砍价购买 {bargain.code}」按现价下单" in told.content, told

    own = await say(f"帮砍 {bargain.code}", sender="li")
    assert "不能给自己的砍价帮砍" in own.content
    first = await say(f"cut {bargain.code}", sender="zhang")
    assert "你帮忙砍掉了" in first.content and "还差 1 刀" in first.content
    twice = await say(f"帮砍 {bargain.code}", sender="zhang")
    assert "每人只能砍一刀" in twice.content
    last = await say(f"帮砍 {bargain.code}", sender="wang")
    assert "已经砍到底价" in last.content
    assert await BargainCut.all().count() == 2
    assert (await Bargain.get()).price_now == 990

    status = await say("砍价", sender="li")
    assert f"砍价购买 {bargain.code}" in status.content
    again = await say("砍价 1", sender="li")  # reached: says how to buy, not to share
    assert "已经砍到底价啦" in again.content and f"砍价购买 {bargain.code}" in again.content
    theirs = await say(f"砍价购买 {bargain.code}", sender="zhang")  # only the starter buys
    assert "只有发起人才能按砍后价购买" in theirs.content and await Order.all().count() == 0
    ordered = await say(f"砍价购买 {bargain.code}", sender="li")  # in the group: no amount
    assert "已按砍后价下单" in ordered.content and "¥" not in ordered.content, ordered.content
    order = await Order.get()
    li = await ChatIdentity.get(platform=Platform.WECOM_BOT.value, external_id="li")
    assert (order.kind, order.amount, order.user_id) == (OrderKind.BARGAIN, 990, li.user_id)
    # Unpaid, it has no pickup code yet; a bargain has no team, so nothing says 成团.
    listed = (await say("我的订单", sender="li", chat_id=None)).content
    assert "1. 测试商品 ×1 ¥9.90 · 待支付" in listed, listed
    no_code = (await say("取货码 1", sender="li", chat_id=None)).content
    assert "请先到小程序「我的订单」付款，到货后凭提货码取货" in no_code and "成团" not in no_code
    # 砍价 still speaks of the bargain while its order waits: alone with the amount and its
    # number in 我的订单, in the group with neither.
    alone = (await say("砍价", sender="li", chat_id=None)).content
    assert f"你的砍价 {bargain.code}：测试商品 已按 ¥9.90 下单，待付款" in alone, alone
    assert "（第 1 个订单）" in alone, alone
    in_group = (await say("砍价", sender="li")).content
    assert f"你的砍价 {bargain.code} 已下单，待付款" in in_group, in_group
    assert "¥9.90" not in in_group.split("发送「砍价 编号」")[-1], in_group


async def test_chat_words_its_refusals(say: Say) -> None:
    assert "格式不对" in (await say("帮砍", sender="li")).content
    assert "没有找到这个砍价" in (await say("帮砍 ZZZZ9999", sender="li")).content
    assert "现在没有可以砍价的商品" in (await say("砍价", sender="li")).content
    assert "没有第 3 个砍价商品" in (await say("砍价 3", sender="li")).content


async def test_a_closed_offer_is_neither_cut_nor_bought_in_chat(say: Say) -> None:
    """Closed by an admin, the offer's bargains end: 帮砍 and 砍价购买 are refused in the
    chat's words, 砍价 lists neither the offer nor the bargain, and nothing is written."""
    offer = await _offer(helpers=3)
    await say("砍价 1", sender="li")
    bargain = await Bargain.get()
    assert "你帮忙砍掉了" in (await say(f"帮砍 {bargain.code}", sender="zhang")).content
    boss = await make_user(Role.ADMIN)
    await bargains.close_offer(
        principal=Principal(user_id=boss.id, role=Role.ADMIN),
        offer_id=str(offer.id),
        now=datetime.now(tz=UTC),
    )

    refused = await say(f"帮砍 {bargain.code}", sender="wang")
    assert "这个砍价活动已经结束了" in refused.content, refused.content
    bought = await say(f"砍价购买 {bargain.code}", sender="li")
    assert "这个砍价活动已经结束了" in bought.content, bought.content
    listed = await say("砍价", sender="li")
    assert "现在没有可以砍价的商品" in listed.content and bargain.code not in listed.content
    assert await BargainCut.all().count() == 1 and not await Order.exists()


async def test_starting_again_says_what_the_bargain_waits_for(say: Say) -> None:
    """砍价 N on a bargain already ordered: unpaid, where to pay it (as 砍价 alone says it);
    its order cancelled before the deadline, the bargain as it stands, to buy again. Never
    「你已经砍过」, and never a second bargain."""
    await _offer(helpers=1)
    await say("砍价 1", sender="li", chat_id=None)
    bargain = await Bargain.get()
    assert "已经砍到底价" in (await say(f"帮砍 {bargain.code}", sender="zhang")).content
    await say(f"砍价购买 {bargain.code}", sender="li", chat_id=None)

    alone = (await say("砍价 1", sender="li", chat_id=None)).content
    assert f"你的砍价 {bargain.code}：测试商品 已按 ¥9.90 下单，待付款" in alone, alone
    assert "到小程序「我的订单」付款" in alone and "（第 1 个订单）" in alone, alone
    assert "你已经砍过" not in alone and "可以砍价的商品" not in alone, alone
    in_group = (await say("砍价 1", sender="li")).content
    assert f"你的砍价 {bargain.code} 已下单，待付款" in in_group, in_group
    assert "¥9.90" not in in_group, in_group

    await say("我的订单", sender="li", chat_id=None)  # the numbers 取消订单 goes by
    cancelled = (await say("取消订单 1", sender="li", chat_id=None)).content
    assert "取消" in cancelled and (await Order.get()).status.value == "cancelled", cancelled
    again = (await say("砍价 1", sender="li", chat_id=None)).content
    assert "你已经在砍这件商品了" in again and "已经砍到底价啦" in again, again
    assert f"发送「砍价购买 {bargain.code}」" in again, again
    assert await Bargain.all().count() == 1
