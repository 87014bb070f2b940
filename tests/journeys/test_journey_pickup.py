"""A team from the group chat to the pickup point, as the people live it.

The leader speaks in the WeCom group through the intelligent bot; one shopper uses the
mini-program (logged in with a wx.login code, subscribe messages accepted); the other is an
Official Account follower who joins by writing 参团. WeChat Pay notifies as it does (repeated
deliveries included); the outbox sends what the fake WeChat records; the injected clock
completes what the leader verified. Every assertion is what a person sees or receives.
"""

from __future__ import annotations

from datetime import timedelta

from models.order import Order
from tests.bot.helpers import OPENID
from tests.journeys.doors import Doors
from tests.support.factories import make_campaign

POINT = "「门口小店」（1 号楼，9-21）"


async def _team_of_two(doors: Doors, campaign_id: str) -> tuple[str, Order, Order, str]:
    """The mini-program shopper starts a team; the follower joins it by writing 参团."""
    wang_wu = await doors.log_in("code-wangwu", "o-mini-wangwu")
    await doors.accept_news(wang_wu)
    resp = await doors.client.post(
        f"/api/v1/campaigns/{campaign_id}/teams", json={}, headers=wang_wu
    )
    assert resp.status == 201, await resp.text()
    code = (await resp.json())["team"]["code"]
    joined = await doors.say_to_oa(f"参团 {code}")
    assert "已为你占座" in joined and code in joined
    orders = await Order.filter(team__code=code).order_by("created_at")
    return code, orders[0], orders[1], "o-mini-wangwu"


async def test_a_team_fills_arrives_is_picked_up_and_pays_its_leader(doors: Doors) -> None:
    community = await doors.bound_community()
    campaign = await make_campaign(community, team_size=2, group_price=1990)
    code, head_order, follower_order, mini = await _team_of_two(doors, str(campaign.id))

    # Both pay; the follower's notify arrives three times at once and once more later.
    await doors.notify_paid(head_order.out_trade_no, head_order.amount, mini)
    await doors.notify_paid(
        follower_order.out_trade_no, follower_order.amount, f"wechat:{OPENID}", deliveries=3
    )
    await doors.notify_paid(follower_order.out_trade_no, follower_order.amount, f"wechat:{OPENID}")
    await doors.send()

    # 成团: the group, the mini-program shopper (subscribe) and the follower (customer service).
    assert doors.group_sees() == [
        f"🎉 成团啦！「测试拼团」团码 {code}，2 人已付款。\n"
        f"到货后在{POINT}自提，到货时会再通知大家。"
    ]
    assert doors.mini_user_receives(mini) == [
        (
            doors.settings.subscribe_template_team_succeeded,
            {"thing1": "测试拼团", "thing2": "门口小店", "amount3": "¥19.90"},
        )
    ]
    assert doors.follower_receives() == [
        f"🎉 你参加的「测试拼团」已成团（团码 {code}），实付 ¥19.90。\n"
        f"自提点：{POINT}。到货后会通知你凭提货码取货。"
    ]

    # The goods reach the pickup point: the leader says so in the group.
    arrived = await doors.say_in_group("到货")
    assert arrived.startswith("已确认到货：「测试社区」2 份订单可以提货了。")
    await doors.send()
    codes = {o.id: o.pickup_code for o in await Order.filter(team__code=code)}
    follower_code = codes[follower_order.id] or ""
    assert doors.group_sees()[1] == (
        f"📦 到货啦！「测试商品」2 份订单已到{POINT}。\n"
        "请凭提货码取货：提货码已私信发给各位，没收到的在小程序订单页或发「我的订单」查看。"
    )
    assert doors.follower_receives()[1] == (
        f"📦 你的「测试商品」到货了，提货码 {follower_code}。\n请到{POINT}出示提货码取货。"
    )
    assert doors.mini_user_receives(mini)[1] == (
        doors.settings.subscribe_template_arrived,
        {
            "thing1": "测试商品",
            "character_string2": codes[head_order.id] or "",
            "thing3": "门口小店",
        },
    )

    # The follower shows the code; the leader verifies it in the group.
    verified = await doors.say_in_group(f"核销 {follower_code}")
    assert verified.startswith("核销成功：") and "已取货" in verified
    again = await doors.say_in_group(f"核销 {follower_code}")
    assert "已经核销过" in again

    # Nothing is released until the after-sale days have passed, by the clock, and the
    # leader is told so (not that a pickup releases it).
    frozen = await doors.say_alone("收益", sender="wang")
    assert "冻结中 ¥1.98（订单完成后到账" in frozen and "提货或" not in frozen
    doors.clock.advance(timedelta(days=doors.settings.auto_complete_days, hours=1))
    await doors.jobs.sweep(doors.clock.now())
    earned = await doors.say_alone("收益", sender="wang")
    assert "冻结中 ¥0.99" in earned and "可结算 ¥0.99" in earned  # the picked-up order's share
    assert len(doors.group_sees()) == 2  # nothing else went to the group


async def test_a_team_that_does_not_fill_is_refunded_and_told(doors: Doors) -> None:
    community = await doors.bound_community()
    campaign = await make_campaign(community, team_size=3, group_price=1990)
    code, head_order, follower_order, mini = await _team_of_two(doors, str(campaign.id))
    await doors.notify_paid(head_order.out_trade_no, head_order.amount, mini)
    await doors.notify_paid(follower_order.out_trade_no, follower_order.amount, f"wechat:{OPENID}")

    # The deadline passes with a seat empty: the clock closes the team, twice for good measure.
    deadline = (await Order.get(id=head_order.id).prefetch_related("team")).team.deadline_at
    doors.clock.set(deadline + timedelta(seconds=1))
    await doors.jobs.due(doors.clock.now())
    await doors.jobs.due(doors.clock.now())
    await doors.send()
    assert doors.group_sees() == [
        f"「测试拼团」团码 {code} 人数未满，未能成团。\n已付款的 2 位成员共 ¥39.80 将原路退回。"
    ]
    assert doors.follower_receives() == [
        f"很遗憾，你参加的「测试拼团」（团码 {code}）未能成团。\n"
        "你支付的 ¥19.90 将原路退回，一般 1-3 个工作日到账。"
    ]
    assert doors.mini_user_receives(mini) == [
        (
            doors.settings.subscribe_template_team_failed,
            {"thing1": "测试拼团", "amount2": "¥19.90", "thing3": "未成团，原路退款"},
        )
    ]
    assert len(doors.wechat.refunds) == 2  # the outbox asked WeChat Pay for both

    # WeChat Pay reports each refund done (twice): each buyer hears it once.
    await doors.refunds_done()
    await doors.send()
    assert doors.follower_receives()[1:] == ["💰 退款已完成：「测试商品」¥19.90 已原路退回。"]
    assert doors.mini_user_receives(mini)[1:] == [
        (
            doors.settings.subscribe_template_refunded,
            {"thing1": "测试商品", "amount2": "¥19.90", "thing3": "已原路退回"},
        )
    ]
    assert len(doors.group_sees()) == 1
    mine = await doors.say_to_oa("我的订单")
    assert "19.90" in mine


async def test_the_group_hears_how_many_arrived_though_one_was_picked_up_first(
    doors: Doors,
) -> None:
    """到货 makes two orders ready; one buyer is at the counter and picked up before the news
    went out. The group still hears that 2 arrived (the arrival's count, not those still
    waiting when the outbox ran); the one who picked up is not sent a code they have used."""
    community = await doors.bound_community()
    campaign = await make_campaign(community, team_size=2, group_price=1990)
    code, head_order, follower_order, mini = await _team_of_two(doors, str(campaign.id))
    await doors.notify_paid(head_order.out_trade_no, head_order.amount, mini)
    await doors.notify_paid(follower_order.out_trade_no, follower_order.amount, f"wechat:{OPENID}")
    await doors.send()
    told_before = len(doors.follower_receives())

    arrived = await doors.say_in_group("到货")
    assert arrived.startswith("已确认到货：「测试社区」2 份订单可以提货了。")
    follower_code = (await Order.get(id=follower_order.id)).pickup_code or ""
    verified = await doors.say_in_group(f"核销 {follower_code}")
    assert verified.startswith("核销成功：")
    await doors.send()

    assert doors.group_sees()[1:] == [
        f"📦 到货啦！「测试商品」2 份订单已到{POINT}。\n"
        "请凭提货码取货：提货码已私信发给各位，没收到的在小程序订单页或发「我的订单」查看。"
    ]
    assert doors.follower_receives()[told_before:] == []
    head_code = (await Order.get(id=head_order.id)).pickup_code or ""
    assert doors.mini_user_receives(mini)[1:] == [
        (
            doors.settings.subscribe_template_arrived,
            {"thing1": "测试商品", "character_string2": head_code, "thing3": "门口小店"},
        )
    ]
