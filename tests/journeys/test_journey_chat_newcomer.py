"""What a newcomer walking the chat door found, each walked through the signed webhook.

In a group nobody's points, tier, coupons, bargains or earnings are answered; codes typed
glued on (帮砍<code>, 砍价购买<code>, 核销<code>) are understood; 售后 words an approved
request from its refund's real state; 秒杀 lists the group's flash sales with their pages;
a full team that 成团 is said to be full; 开团 typed again gives back the team still waiting
for its first payment instead of opening another empty one.
"""

from __future__ import annotations

from datetime import timedelta

from models.activity import FlashSale
from models.aftersale import AfterSale, AfterSaleStatus
from models.bargain import Bargain
from models.catalog import Product
from models.chat import ChatIdentity
from models.community import Community
from models.groupbuy import Team, TeamStatus
from models.order import Order
from models.payment import Refund, RefundStatus
from models.user import Role, User
from tests.journeys.bargain_steps import admin_opens_offer
from tests.journeys.doors import Doors
from tests.services.marketing_world import make_template
from tests.support.factories import auth, make_campaign, make_sku, make_user

# Each is a person's own: said in a group, it is refused and sent to a private chat.
PERSONAL = {
    "li": ("积分", "我的积分", "points", "会员", "tier", "等级", "我的券", "券", "mycoupons"),
    "zhao": ("我的砍价", "mybargains", "我的订单", "售后", "取货码", "积分", "会员", "我的券"),
    "wang": ("收益", "earnings", "积分", "会员", "我的券"),
}


async def _shop_offer(doors: Doors) -> None:
    """An offer of the shop's own (no community's): every group's 砍价 lists it."""
    _, _, sku = await admin_opens_offer(doors)
    await Product.filter(id=sku.product_id).update(community_id=None)


async def _pays(doors: Doors, order: Order) -> None:
    payer = await User.get(id=order.user_id)
    await doors.notify_paid(order.out_trade_no, order.amount, payer.openid)


async def _orders_of(sender: str) -> list[Order]:
    person = await ChatIdentity.get(external_id=sender)
    return await Order.filter(user_id=person.user_id).order_by("created_at")


async def _team_filled(doors: Doors) -> tuple[Community, str]:
    """wang's group, his team of two, which li and zhao join and pay: it 成团."""
    community = await doors.bound_community(sender="wang")
    await make_campaign(community, team_size=2, group_price=1990)
    code = await doors.leader_opens_team("wang")
    for sender in ("li", "zhao"):
        assert "已为你占座" in await doors.say_in_group(f"参团 {code}", sender=sender)
        await _pays(doors, (await _orders_of(sender))[-1])
    return community, code


async def test_in_a_group_nothing_personal_is_answered(doors: Doors) -> None:
    community = await doors.bound_community(sender="wang")
    await make_campaign(community, team_size=2, group_price=2990, per_user_limit=2)
    await make_template(name="阳光满20减5", community_id=community.id)
    code = await doors.leader_opens_team("wang")
    # li and zhao fill the team and pay, check in, and each claim the coupon: points (with a
    # history), growth and a coupon of their own. zhao starts a bargain too.
    for sender in ("li", "zhao"):
        assert "已为你占座" in await doors.say_in_group(f"参团 {code}", sender=sender)
        await _pays(doors, (await _orders_of(sender))[-1])
        assert "签到成功" in await doors.say_in_group("签到", sender=sender)
        assert "领到了" in await doors.say_in_group("领券 1", sender=sender)
    await _shop_offer(doors)
    assert "砍价" in await doors.say_in_group("砍价 1", sender="zhao")
    bargain = await Bargain.get()

    for sender, commands in PERSONAL.items():
        for command in commands:
            said = await doors.say_in_group(command, sender=sender)
            assert "是你的个人信息，请私聊我发送" in said, (sender, command, said)
            for secret in ("¥", "积分抵", "签到 +", "成长值", "阳光满20减5", "可用", "测试商品"):
                assert secret not in said, (sender, command, secret, said)
            assert bargain.code not in said and code not in said, (command, said)

    # Alone, the same commands answer with what is theirs.
    assert "签到 +" in await doors.say_alone("积分", sender="li")
    assert "成长值" in await doors.say_alone("会员", sender="li")
    assert "阳光满20减5" in await doors.say_alone("我的券", sender="li")
    assert bargain.code in await doors.say_alone("我的砍价", sender="zhao")
    # 签到 in the group says what was earned today, not the balance.
    again = await doors.say_in_group("签到", sender="li")
    assert "今天已经签到过了" in again and "积分" not in again, again


async def test_codes_typed_glued_on_are_understood(doors: Doors) -> None:
    await doors.bound_community(sender="wang")
    await _shop_offer(doors)
    assert "砍价" in await doors.say_in_group("砍价 1", sender="li")
    bargain = await Bargain.get()

    cut = await doors.say_in_group(f"帮砍{bargain.code}", sender="zhao")
    assert cut.startswith("你帮忙砍掉了"), cut
    assert (await Bargain.get()).cuts_made == 1
    bought = await doors.say_in_group(f"砍价购买{bargain.code}", sender="li")
    assert bought.startswith("已按砍后价下单"), bought
    assert len(await _orders_of("li")) == 1

    # A code starting with a digit, glued on, lower case too: still that command.
    assert "没有找到这个砍价" in await doors.say_in_group("帮砍2QGYJE39", sender="qian")
    assert "没有找到这个砍价" in await doors.say_in_group("砍价购买2qgyje39", sender="qian")
    # 核销 glued on: the leader's verify (no such code here), a shopper's refusal.
    assert "没有找到这个提货码" in await doors.say_in_group("核销DUTLTDY8", sender="wang")
    assert "只有团长可以用" in await doors.say_in_group("核销DUTLTDY8", sender="li")
    for said in ("帮砍2QGYJE39", "砍价购买2QGYJE39", "核销DUTLTDY8"):
        assert "没听懂" not in await doors.say_alone(said, sender="sun"), said


async def test_after_sales_words_the_refund_as_it_stands(doors: Doors) -> None:
    community, code = await _team_filled(doors)
    (order,) = await _orders_of("li")
    await doors.send()
    assert "1. 测试商品 ×1 ¥19.90" in await doors.say_alone("售后", sender="li")
    assert "已提交售后申请" in await doors.say_alone("售后 1 有三个烂了", sender="li")
    sale = await AfterSale.get(order_id=order.id)

    leader = await User.get(id=community.leader_id)
    status, approved = await doors.api(
        "POST",
        f"/api/v1/after-sales/{sale.id}/approve",
        auth(leader, doors.settings, doors.clock.now()),
    )
    assert status == 200 and approved["status"] == AfterSaleStatus.APPROVED.value, approved
    assert "仅退款 ¥19.90 · 已同意，退款中" in await doors.say_alone("售后", sender="li")

    # WeChat Pay is asked and reports it done: refunded, with how much.
    await doors.send()
    await doors.refunds_done()
    await doors.send()
    assert (await Refund.get()).status is RefundStatus.SUCCEEDED
    done = await doors.say_alone("售后", sender="li")
    assert "仅退款 ¥19.90 · 已同意，已退款 ¥19.90" in done and "退款中" not in done, done

    # Had WeChat Pay closed it instead, she reads that it failed and is being seen to.
    await Refund.filter(id=(await Refund.get()).id).update(status=RefundStatus.FAILED)
    failed = await doors.say_alone("售后", sender="li")
    assert "已同意，退款失败，客服会重新发起" in failed, failed


async def test_a_flash_sale_is_found_from_chat(doors: Doors) -> None:
    community = await doors.bound_community(sender="wang")
    await make_sku(community, price=1590, stock=50)
    assert "1. 测试商品" in await doors.say_in_group("商品", sender="wang")
    assert "没有进行中或即将开始的秒杀" in await doors.say_in_group("秒杀", sender="li")

    created = await doors.say_in_group("活动 秒杀 明天 19:55 1 9.9 20 限购2", sender="wang")
    assert created.startswith("✅ 已安排秒杀"), created
    assert "测试商品 秒杀价 ¥9.90，20 件，每人限购 2 件" in created, created
    listed = await doors.say_in_group("活动 列表", sender="wang")
    assert "1. 秒杀 " in listed and "· 测试商品 ¥9.90" in listed, listed

    # Anyone finds it: in the group, by its English name, and alone (their communities').
    for said in ("秒杀", "flash"):
        found = await doors.say_in_group(said, sender="li")
        assert "1. 测试商品 秒杀价 ¥9.90（原价 ¥15.90），每人限购 2 件" in found, found
        assert "19:55 开始，限量 20 件" in found, found
        assert f"/h5/flash-sales/{(await FlashSale.get()).id}" in found, found
    assert "请在社区群里" in await doors.say_alone("秒杀", sender="li")  # in no community yet
    assert "签到成功" in await doors.say_in_group("签到", sender="li")  # now she is
    assert "19:55 开始" in await doors.say_alone("秒杀", sender="li")
    assert "秒杀 (flash)" in await doors.say_in_group("帮助", sender="li")

    # Once it runs, it says so and what is left; after it ends it is no longer listed.
    sale = await FlashSale.get()
    doors.clock.advance(sale.starts_at + timedelta(minutes=1) - doors.clock.now())
    running = await doors.say_in_group("秒杀", sender="li")
    assert "进行中，还剩 20 件，20:25 结束" in running, running
    doors.clock.advance(timedelta(hours=1))
    assert "没有进行中或即将开始的秒杀" in await doors.say_in_group("秒杀", sender="li")


async def test_joining_a_team_that_filled_says_so(doors: Doors) -> None:
    _, code = await _team_filled(doors)
    assert (await Team.get(code=code)).status is TeamStatus.SUCCEEDED

    late = await doors.say_in_group(f"参团 {code}", sender="qian")
    assert f"团 {code} 已经满员成团了" in late and "发送「团购」" in late, late
    assert "在小程序里自己开一个团" in late and "已经结束了" not in late, late
    leader = await doors.say_in_group(f"参团{code}", sender="wang")
    assert "发「开团 序号」再开一个" in leader, leader
    assert await _orders_of("qian") == []


async def test_start_again_gives_back_the_team_nobody_paid(doors: Doors) -> None:
    community = await doors.bound_community(sender="wang")
    await make_campaign(community, team_size=2, group_price=1990)
    first = await doors.leader_opens_team("wang")
    assert await doors.leader_opens_team("wang") == first  # 开团 1 again: the same card
    assert await Team.all().count() == 1

    # li holds a seat, unpaid: still that team.
    assert "已为你占座" in await doors.say_in_group(f"参团 {first}", sender="li")
    assert await doors.leader_opens_team("wang") == first
    # Once she pays, a second team may be opened (the first has a buyer to bring friends).
    await _pays(doors, (await _orders_of("li"))[-1])
    second = await doors.leader_opens_team("wang")
    assert second != first and await Team.all().count() == 2
    assert await doors.leader_opens_team("wang") == second
    assert await Team.all().count() == 2


async def test_batch_before_the_first_cut_says_when_it_comes(doors: Doors) -> None:
    community = await doors.bound_community(sender="wang")
    assert "在后台设定截单时间后" in await doors.say_in_group("批次", sender="wang")
    leader = await User.get(id=community.leader_id)
    status, plan = await doors.api(
        "PUT",
        f"/api/v1/communities/{community.id}/delivery-plan",
        auth(leader, doors.settings, doors.clock.now()),
        json={"cutoff": "21:00"},
    )
    assert status == 200, plan
    said = await doors.say_in_group("批次", sender="wang")
    assert said.startswith("还没有配送批次：每天 21:00 截单时自动生成，下次截单 "), said
    assert "设定截单时间" not in said, said


async def test_an_operator_verifying_in_chat_is_spoken_to_as_one(doors: Doors) -> None:
    operator = await make_user(Role.ADMIN)
    status, code = await doors.api(
        "POST", "/api/v1/me/leader/chat-code", auth(operator, doors.settings, doors.clock.now())
    )
    assert status == 201, code
    said = await doors.say_alone(f"认证 {code['code']}", sender="ops")
    assert said.startswith("认证成功！") and "团长" not in said.split("。")[0], said
    assert "你是运营：私聊我发送「后台」" in said and "查看团长命令" not in said, said
    assert "后台 (console)" in await doors.say_alone("帮助", sender="ops")
