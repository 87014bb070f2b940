"""News when things happen: once each, to the group robot and to each member by the channel
they allow, however often the cause is replayed and however many workers send."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from models.activity import SubscribeConsent
from models.community import Community
from models.order import Order, OrderStatus
from models.outbox import OutboxMessage, OutboxStatus
from models.payment import Refund
from models.user import User
from qunshop.assembly.background import outbox_handlers
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from qunshop.keys import CHAT_TEMPLATES, REDIS
from scheduler.jobs import Jobs
from services import (
    chat_users,
    groupbuy,
    groupchat,
    news,
    notify,
    outbox,
    payments,
    pickup,
    refunds,
    subscriptions,
)
from services.auth import Principal
from tests.support.factories import make_campaign, make_user
from tests.support.fake_wechat import FakeWeChat

ROBOT = "robot-key-news-1"


def _principal(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.role)


class World:
    """A community with a group robot, a campaign, and the app's outbox and clock."""

    def __init__(self, api: TestClient, settings: Settings, wechat: FakeWeChat, clock: Any):
        self.api, self.settings, self.wechat, self.clock = api, settings, wechat, clock
        self.handlers = outbox_handlers(api.server.app)

    async def setup(self, *, team_size: int = 2) -> None:
        self.campaign = await make_campaign(
            team_size=team_size, group_price=990, now=self.clock.now()
        )
        self.community = await Community.get(id=self.campaign.community_id)
        self.leader = await User.get(id=self.community.leader_id)
        await groupchat.bind_chat(
            principal=_principal(self.leader),
            chat_id=self.community.chat_id or "",
            robot_key=ROBOT,
            now=self.clock.now(),
        )

    async def shopper(self) -> User:
        """A mini-program user who accepted every news template once."""
        user = await make_user(nickname="小程序用户")
        s = self.settings
        await subscriptions.accepted(
            user_id=user.id,
            template_ids=[
                s.subscribe_template_team_succeeded,
                s.subscribe_template_team_failed,
                s.subscribe_template_arrived,
                s.subscribe_template_refunded,
                s.subscribe_template_order_lapsing,
            ],
            known=s.subscribe_templates.values(),
        )
        return user

    async def follower(self, openid: str) -> User:
        """An Official Account follower who wrote to us just now (48-hour window open)."""
        return await chat_users.user_for(
            platform="wechat", external_id=openid, now=self.clock.now()
        )

    def notify_body(self, order: Order, user: User) -> bytes:
        return self.wechat.payment_notify(
            out_trade_no=order.out_trade_no, total_fee=order.amount, openid=user.openid
        )

    async def deliver(self, body: bytes) -> payments.NotifyOutcome:
        return await payments.handle_notify(
            body,
            api_key=self.settings.pay_api_key.get_secret_value(),
            appid=self.settings.wechat_appid,
            mch_id=self.settings.pay_mch_id,
            now=self.clock.now(),
        )

    async def settle_refund(self, refund: Refund, out_trade_no: str, *, times: int = 1) -> None:
        """WeChat Pay's refund notify for ``refund``, delivered ``times`` times."""
        body = self.wechat.refund_notify(
            out_refund_no=refund.out_refund_no,
            out_trade_no=out_trade_no,
            refund_fee=refund.amount,
            total_fee=refund.total,
        )
        for _ in range(times):
            await refunds.settle_from_notify(
                body,
                api_key=self.settings.pay_api_key.get_secret_value(),
                appid=self.settings.wechat_appid,
                mch_id=self.settings.pay_mch_id,
                now=self.clock.now(),
            )

    async def send_all(self) -> None:
        """Run the outbox until nothing is due (fan-out rows queue chat.send rows)."""
        while await outbox.run_once(self.handlers, now=self.clock.now()):
            pass

    def robot_texts(self) -> list[str]:
        return [m["text"]["content"] for _, m in self.wechat.robot_messages.get(ROBOT, [])]

    def custom_texts(self, openid: str) -> list[str]:
        return [m["text"]["content"] for m in self.wechat.custom_messages if m["touser"] == openid]


@pytest.fixture
async def world(
    api: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> World:
    made = World(api, settings, wechat, clock)
    await made.setup()
    return made


async def _full_team(world: World, head: User, member: User) -> tuple[Order, Order]:
    now = world.clock.now()
    started = await groupbuy.start_team(
        principal=_principal(head), campaign_id=str(world.campaign.id), now=now
    )
    joined = await groupbuy.join_team(
        principal=_principal(member), team_ref=started.team.code, now=now
    )
    return started.order, joined.order


async def test_team_succeeded_is_told_once_to_the_group_and_each_member(world: World) -> None:
    shopper, follower = await world.shopper(), await world.follower("oa-lisi")
    head_order, member_order = await _full_team(world, shopper, follower)
    await world.deliver(world.notify_body(head_order, shopper))
    body = world.notify_body(member_order, follower)
    # The same notify delivered at once and again later: one payment, one piece of news.
    outcomes = await asyncio.gather(*(world.deliver(body) for _ in range(6)))
    outcomes.append(await world.deliver(body))
    assert sum(o.applied for o in outcomes) == 1
    assert await OutboxMessage.filter(kind=news.KIND).count() == 1

    # Three workers send at once, then again: each message leaves once.
    await asyncio.gather(*(world.send_all() for _ in range(3)))
    await world.send_all()
    team = await groupbuy.find_team(str(head_order.team_id))
    assert world.robot_texts() == [
        f"🎉 成团啦！「测试拼团」团码 {team.code}，2 人已付款。\n"
        "到货后在「门口小店」（1 号楼，9-21）自提，到货时会再通知大家。"
    ]
    [subscribed] = world.wechat.subscribe_messages
    assert subscribed["touser"] == shopper.openid
    assert subscribed["template_id"] == world.settings.subscribe_template_team_succeeded
    assert subscribed["data"] == {
        "thing1": {"value": "测试拼团"},
        "thing2": {"value": "门口小店"},
        "amount3": {"value": "¥9.90"},
    }
    consent = await SubscribeConsent.get(
        user_id=shopper.id, template_id=world.settings.subscribe_template_team_succeeded
    )
    assert consent.remaining == 0  # one consent, one message
    assert world.custom_texts("oa-lisi") == [
        f"🎉 你参加的「测试拼团」已成团（团码 {team.code}），实付 ¥9.90。\n"
        "自提点：「门口小店」（1 号楼，9-21）。到货后会通知你凭提货码取货。"
    ]
    assert {m.status for m in await OutboxMessage.all()} == {OutboxStatus.DONE}


async def test_a_fan_out_run_twice_sends_each_message_once(world: World) -> None:
    shopper, follower = await world.shopper(), await world.follower("oa-twice")
    head_order, member_order = await _full_team(world, shopper, follower)
    await world.deliver(world.notify_body(head_order, shopper))
    await world.deliver(world.notify_body(member_order, follower))
    row = await OutboxMessage.get(kind=news.KIND)
    fan_out = world.handlers[news.KIND]
    await asyncio.gather(fan_out(row.payload), fan_out(row.payload))  # a lapsed lease, say
    await fan_out(row.payload)
    assert await OutboxMessage.filter(kind="chat.send").count() == 3  # group, two members
    remaining = await SubscribeConsent.filter(user_id=shopper.id).values_list(
        "template_id", "remaining"
    )
    assert dict(remaining)[world.settings.subscribe_template_team_succeeded] == 0


async def test_no_consent_and_no_window_means_nothing(world: World) -> None:
    silent, quiet = await make_user(), await world.follower("oa-quiet")
    world.clock.advance(timedelta(hours=49))  # the follower's window has closed
    await world.setup()  # a campaign running now
    head_order, member_order = await _full_team(world, silent, quiet)
    await world.deliver(world.notify_body(head_order, silent))
    await world.deliver(world.notify_body(member_order, quiet))
    await world.send_all()
    assert len(world.robot_texts()) == 1  # the group still hears of it
    assert world.wechat.subscribe_messages == [] and world.wechat.custom_messages == []


async def test_team_failed_tells_the_refund(world: World) -> None:
    shopper, follower = await world.shopper(), await world.follower("oa-fail")
    await world.setup(team_size=3)
    now = world.clock.now()
    started = await groupbuy.start_team(
        principal=_principal(shopper), campaign_id=str(world.campaign.id), now=now
    )
    joined = await groupbuy.join_team(
        principal=_principal(follower), team_ref=started.team.code, now=now
    )
    await world.deliver(world.notify_body(started.order, shopper))
    await world.deliver(world.notify_body(joined.order, follower))
    world.clock.set(started.team.deadline_at + timedelta(seconds=1))
    jobs = Jobs(
        settings=world.settings,
        templates=world.api.server.app[CHAT_TEMPLATES],
        redis=world.api.server.app[REDIS],
    )
    await jobs.due(world.clock.now())
    await jobs.due(world.clock.now())  # the sweep again: told once
    await world.send_all()
    code = started.team.code
    assert world.robot_texts() == [
        f"「测试拼团」团码 {code} 人数未满，未能成团。\n已付款的 2 位成员共 ¥19.80 将原路退回。"
    ]
    [subscribed] = world.wechat.subscribe_messages
    assert subscribed["template_id"] == world.settings.subscribe_template_team_failed
    assert subscribed["data"]["amount2"] == {"value": "¥9.90"}
    assert world.custom_texts("oa-fail") == [
        f"很遗憾，你参加的「测试拼团」（团码 {code}）未能成团。\n"
        "你支付的 ¥9.90 将原路退回，一般 1-3 个工作日到账。"
    ]

    # WeChat Pay settles the refunds (notified twice each): the refund news, once.
    for refund in await Refund.all().prefetch_related("order"):
        await world.settle_refund(refund, refund.order.out_trade_no, times=2)
    await world.send_all()
    assert world.custom_texts("oa-fail")[1:] == ["💰 退款已完成：「测试商品」¥9.90 已原路退回。"]
    refunded = [m for m in world.wechat.subscribe_messages if m["touser"] == shopper.openid]
    assert [m["template_id"] for m in refunded] == [
        world.settings.subscribe_template_team_failed,
        world.settings.subscribe_template_refunded,
    ]
    assert {o.status for o in await Order.filter(team_id=started.team.id)} == {OrderStatus.REFUNDED}


async def test_arrival_tells_each_buyer_their_code(world: World) -> None:
    shopper, follower = await world.shopper(), await world.follower("oa-arrive")
    head_order, member_order = await _full_team(world, shopper, follower)
    await world.deliver(world.notify_body(head_order, shopper))
    await world.deliver(world.notify_body(member_order, follower))
    await world.send_all()
    delivery = await pickup.arrived(
        principal=_principal(world.leader), community_id=None, now=world.clock.now()
    )
    assert delivery.orders == 2
    await world.send_all()
    codes = {o.user_id: o.pickup_code for o in await Order.filter(team_id=head_order.team_id)}
    assert world.robot_texts()[1:] == [
        "📦 到货啦！「测试商品」2 份订单已到「门口小店」（1 号楼，9-21）。\n"
        "请凭提货码取货：提货码已私信发给各位，没收到的在小程序订单页或发「我的订单」查看。"
    ]
    assert world.custom_texts("oa-arrive")[1:] == [
        f"📦 你的「测试商品」到货了，提货码 {codes[follower.id]}。\n"
        "请到「门口小店」（1 号楼，9-21）出示提货码取货。"
    ]
    arrived = [
        m
        for m in world.wechat.subscribe_messages
        if m["template_id"] == world.settings.subscribe_template_arrived
    ]
    assert [m["data"]["character_string2"]["value"] for m in arrived] == [codes[shopper.id]]

    # A day later the one not yet picked up is reminded, by customer service (no consent).
    world.clock.advance(timedelta(hours=25))
    line = await pickup.verify(
        principal=_principal(world.leader), code=codes[shopper.id] or "", now=world.clock.now()
    )
    assert line.order.status is OrderStatus.PICKED_UP
    jobs = Jobs(
        settings=world.settings,
        templates=world.api.server.app[CHAT_TEMPLATES],
        redis=world.api.server.app[REDIS],
    )
    await jobs.sweep(world.clock.now())
    await world.send_all()
    assert world.custom_texts("oa-arrive")[2:] == [
        f"📦 提醒：你的「测试商品」还在「门口小店」（1 号楼，9-21）等你，"
        f"提货码 {codes[follower.id]}。"
    ]
    assert len(world.custom_texts(shopper.openid)) == 0


async def test_a_seat_about_to_lapse_is_warned_once(world: World) -> None:
    follower = await world.follower("oa-lapse")
    now = world.clock.now()
    started = await groupbuy.start_team(
        principal=_principal(follower), campaign_id=str(world.campaign.id), now=now
    )
    jobs = Jobs(
        settings=world.settings,
        templates=world.api.server.app[CHAT_TEMPLATES],
        redis=world.api.server.app[REDIS],
    )
    await jobs.sweep(now)  # 15 minutes left: not yet
    assert await OutboxMessage.filter(kind=news.KIND).count() == 0
    until = started.order.reserved_until
    assert until is not None
    world.clock.set(until - timedelta(minutes=4))
    await asyncio.gather(*(jobs.sweep(world.clock.now()) for _ in range(3)))
    await jobs.sweep(world.clock.now() + timedelta(minutes=1))
    await world.send_all()
    deadline = until.astimezone(world.settings.tz).strftime("%H:%M")
    assert world.custom_texts("oa-lapse") == [
        f"⏰ 你在「测试商品」的座位将在 {deadline} 释放，请尽快到小程序支付 ¥9.90。"
    ]
    assert (await Order.get(id=started.order.id)).lapse_warned_at is not None


async def test_the_robot_quota_holds_news_back_not_away(world: World) -> None:
    """Over the robot's 20 a minute, the news waits for the next minute and is sent once."""
    world.wechat.robot_clock = world.clock.now
    for i in range(20):  # this minute's 20 are spent by other posts
        await notify.to_group(
            community=await Community.get(id=world.community.id),
            message=notify.text(f"公告 {i}"),
            dedupe_key=f"filler:{i}",
            now=world.clock.now(),
        )
    await world.send_all()
    shopper, follower = await world.shopper(), await world.follower("oa-quota")
    head_order, member_order = await _full_team(world, shopper, follower)
    await world.deliver(world.notify_body(head_order, shopper))
    await world.deliver(world.notify_body(member_order, follower))
    await world.send_all()
    assert len(world.robot_texts()) == 20  # held back this minute
    world.clock.advance(timedelta(minutes=2))
    await world.send_all()
    assert len(world.robot_texts()) == 21 and "成团啦" in world.robot_texts()[-1]
    assert await OutboxMessage.filter(kind="chat.send", status=OutboxStatus.DONE).count() == 23


async def test_a_tier_price_says_why_less_was_paid_and_what_comes_back(world: World) -> None:
    """Two members bring ¥9.90 down to ¥8.90: the 成团 news says what was paid and that the
    difference goes back, and the refund's news says what the ¥1.00 is."""
    world.campaign = await make_campaign(
        team_size=2,
        group_price=990,
        price_tiers=[{"min_members": 2, "price": 890}],
        now=world.clock.now(),
    )
    head, follower = await world.shopper(), await world.follower("oa-tier")
    head_order, member_order = await _full_team(world, head, follower)
    await world.deliver(world.notify_body(head_order, head))
    await world.deliver(world.notify_body(member_order, follower))
    await world.send_all()
    team = await groupbuy.find_team(str(member_order.team_id))
    assert world.custom_texts("oa-tier")[0].startswith(
        f"🎉 你参加的「测试拼团」已成团（团码 {team.code}），"
        "实付 ¥8.90（已付 ¥9.90，差价 ¥1.00 原路退回）。"
    )
    refund = await Refund.get(order_id=member_order.id)
    assert refund.reason == "tier_price"
    await world.settle_refund(refund, member_order.out_trade_no)
    await world.send_all()
    assert world.custom_texts("oa-tier")[-1] == (
        "💰 退款已完成：「测试商品」¥1.00 已原路退回（成团价更低，退还差价）。"
    )


async def test_a_seat_held_unpaid_at_a_failed_deadline_is_told(world: World) -> None:
    """One member paid, one still held an unpaid seat when the deadline came: both hear the
    team failed, the unpaid one that nothing is owed; the group counts only who paid."""
    payer, holder = await world.follower("oa-payer"), await world.follower("oa-holder")
    await world.setup(team_size=3)
    started = await _paid_head(world, payer)
    world.clock.set(started.team.deadline_at - timedelta(minutes=5))
    await groupbuy.join_team(
        principal=_principal(holder), team_ref=started.team.code, now=world.clock.now()
    )
    world.clock.set(started.team.deadline_at + timedelta(seconds=1))
    jobs = Jobs(
        settings=world.settings,
        templates=world.api.server.app[CHAT_TEMPLATES],
        redis=world.api.server.app[REDIS],
    )
    await jobs.due(world.clock.now())
    await world.send_all()
    code = started.team.code
    assert world.robot_texts() == [
        f"「测试拼团」团码 {code} 人数未满，未能成团。\n已付款的 1 位成员共 ¥9.90 将原路退回。"
    ]
    assert world.custom_texts("oa-holder") == [
        f"很遗憾，你参加的「测试拼团」（团码 {code}）未能成团。\n"
        "你占的座位还没付款，订单已取消，不会扣款。"
    ]
    assert "你支付的 ¥9.90 将原路退回" in world.custom_texts("oa-payer")[0]


async def test_a_team_nobody_paid_fails_with_no_refund_line(world: World) -> None:
    holder = await world.follower("oa-only")
    await world.setup(team_size=3)
    world.clock.set(world.clock.now())
    started = await groupbuy.start_team(
        principal=_principal(holder), campaign_id=str(world.campaign.id), now=world.clock.now()
    )
    world.clock.set(started.team.deadline_at + timedelta(seconds=1))
    jobs = Jobs(
        settings=world.settings,
        templates=world.api.server.app[CHAT_TEMPLATES],
        redis=world.api.server.app[REDIS],
    )
    await jobs.due(world.clock.now())
    await world.send_all()
    assert world.robot_texts() == [f"「测试拼团」团码 {started.team.code} 人数未满，未能成团。"]
    # Its seat lapsed in the same sweep, before the team closed: told once, pointed to 团购.
    (told,) = world.custom_texts("oa-only")
    assert "不会扣款" in told and told.endswith("想再参加，请发「团购」看看正在拼的团。")


async def _paid_head(world: World, payer: User) -> Any:
    """A team started by ``payer`` now, its head's payment delivered by WeChat Pay's notify."""
    started = await groupbuy.start_team(
        principal=_principal(payer), campaign_id=str(world.campaign.id), now=world.clock.now()
    )
    await world.deliver(world.notify_body(started.order, payer))
    return started


async def _lapse_sweep(world: World, at: Any) -> None:
    jobs = Jobs(
        settings=world.settings,
        templates=world.api.server.app[CHAT_TEMPLATES],
        redis=world.api.server.app[REDIS],
    )
    await jobs.due(at)


async def test_a_seat_that_lapses_is_told_once_with_its_team_code(world: World) -> None:
    """The clock releases an unpaid seat at its deadline: its holder hears it once, with the
    team's code to join again while the team is still open, however often the lapse runs."""
    await world.setup(team_size=3)
    payer, holder = await world.follower("oa-head"), await world.follower("oa-lapsed")
    now = world.clock.now()
    started = await _paid_head(world, payer)
    joined = await groupbuy.join_team(
        principal=_principal(holder), team_ref=started.team.code, now=now
    )
    until = joined.order.reserved_until
    assert until is not None and until < started.team.deadline_at
    world.clock.set(until + timedelta(seconds=1))
    # Two schedulers race, then a later sweep runs the lapse again.
    await asyncio.gather(*(_lapse_sweep(world, world.clock.now()) for _ in range(2)))
    await _lapse_sweep(world, world.clock.now() + timedelta(minutes=1))
    assert await groupbuy.release_seat(joined.seat.id, now=world.clock.now()) is False
    assert await OutboxMessage.filter(kind=news.KIND).count() == 1  # the payer's notify: none
    row = await OutboxMessage.get(kind=news.KIND)
    assert row.payload["event"] == news.ORDER_LAPSED
    assert row.dedupe_key == f"news:{news.ORDER_LAPSED}:{joined.order.id}"
    assert (await Order.get(id=joined.order.id)).status is OrderStatus.CANCELLED
    await world.send_all()
    await world.send_all()
    code = started.team.code
    assert world.custom_texts("oa-lapsed") == [
        f"⌛ 你在「测试拼团」（团码 {code}）占的座位已过付款时间，座位已释放，订单已取消，"
        "不会扣款。\n"
        f"这个团还在拼，想参加请发「参团 {code}」。"
    ]
    assert world.custom_texts("oa-head") == []
    assert world.robot_texts() == []  # one shopper's seat is not the group's news


async def test_a_lapsed_seat_of_a_closed_team_points_to_the_deals(world: World) -> None:
    """The team filled and succeeded before the news went out: 参团 would be refused, so the
    holder is pointed to 团购; a mini-program shopper who accepted the template gets it there."""
    await world.setup(team_size=3)
    head, holder = await world.follower("oa-head3"), await world.follower("oa-late")
    shopper = await world.shopper()
    await subscriptions.accepted(
        user_id=shopper.id,
        template_ids=[world.settings.subscribe_template_order_lapsed],
        known=world.settings.subscribe_templates.values(),
    )
    now = world.clock.now()
    started = await groupbuy.start_team(
        principal=_principal(head), campaign_id=str(world.campaign.id), now=now
    )
    await world.deliver(world.notify_body(started.order, head))
    for user in (holder, shopper):
        await groupbuy.join_team(principal=_principal(user), team_ref=started.team.code, now=now)
    until = started.order.reserved_until
    assert until is not None
    world.clock.set(until + timedelta(seconds=1))
    assert await groupbuy.release_expired(now=world.clock.now()) == 2
    for openid in ("oa-fill1", "oa-fill2"):  # two others fill the team before the news goes
        filler = await world.follower(openid)
        joined = await groupbuy.join_team(
            principal=_principal(filler), team_ref=started.team.code, now=world.clock.now()
        )
        await world.deliver(world.notify_body(joined.order, filler))
    await world.send_all()
    assert world.custom_texts("oa-late") == [
        f"⌛ 你在「测试拼团」（团码 {started.team.code}）占的座位已过付款时间，座位已释放，"
        "订单已取消，不会扣款。\n想再参加，请发「团购」看看正在拼的团。"
    ]
    sent = [m for m in world.wechat.subscribe_messages if m["touser"] == shopper.openid]
    assert [m["template_id"] for m in sent] == [world.settings.subscribe_template_order_lapsed]
    assert sent[0]["data"]["thing3"]["value"] == "超时未付款，座位已释放"


async def test_a_seat_paid_just_before_its_deadline_is_not_told_it_lapsed(world: World) -> None:
    holder = await world.follower("oa-paid")
    started = await groupbuy.start_team(
        principal=_principal(holder), campaign_id=str(world.campaign.id), now=world.clock.now()
    )
    until = started.order.reserved_until
    assert until is not None
    world.clock.set(until - timedelta(seconds=1))
    await world.deliver(world.notify_body(started.order, holder))
    world.clock.set(until + timedelta(seconds=1))
    assert await groupbuy.release_expired(now=world.clock.now()) == 0
    await _lapse_sweep(world, world.clock.now())
    assert not await OutboxMessage.filter(
        kind=news.KIND, dedupe_key__startswith=f"news:{news.ORDER_LAPSED}:"
    ).exists()


async def test_a_seat_the_shopper_cancels_is_not_news(world: World) -> None:
    holder = await world.follower("oa-cancel")
    started = await groupbuy.start_team(
        principal=_principal(holder), campaign_id=str(world.campaign.id), now=world.clock.now()
    )
    assert await groupbuy.release_seat(started.seat.id, now=world.clock.now(), force=True)
    assert await OutboxMessage.filter(kind=news.KIND).count() == 0


async def test_a_seat_told_it_lapsed_is_not_told_again_when_the_team_fails(world: World) -> None:
    """Its holder heard at the lapse that the seat went; the team failing later tells the one
    who paid, not the holder a second time."""
    await world.setup(team_size=3)
    payer, holder = await world.follower("oa-payer2"), await world.follower("oa-gone")
    now = world.clock.now()
    started = await _paid_head(world, payer)
    joined = await groupbuy.join_team(
        principal=_principal(holder), team_ref=started.team.code, now=now
    )
    assert joined.order.reserved_until is not None
    world.clock.set(joined.order.reserved_until + timedelta(seconds=1))
    await _lapse_sweep(world, world.clock.now())
    await world.send_all()
    world.clock.set(started.team.deadline_at + timedelta(seconds=1))
    await _lapse_sweep(world, world.clock.now())
    await world.send_all()
    texts = world.custom_texts("oa-gone")
    assert len(texts) == 1 and texts[0].startswith("⌛ 你在「测试拼团」")
    assert "你支付的 ¥9.90 将原路退回" in world.custom_texts("oa-payer2")[-1]
