"""A team from the group chat to the pickup point, as the people live it.

The leader speaks in the WeCom group through the intelligent bot; one shopper uses the
mini-program (logged in with a wx.login code, subscribe messages accepted); the other is an
Official Account follower who joins by writing 参团. WeChat Pay notifies as it does (repeated
deliveries included); the outbox sends what the fake WeChat records; the injected clock
completes what the leader verified. Every assertion is what a person sees or receives.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import xmltodict
from aiohttp.test_utils import TestClient

from models.chat import ChatIdentity
from models.community import Community
from models.order import Order
from models.payment import Refund
from models.user import User
from qunshop.app import create_app
from qunshop.background import outbox_handlers
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from qunshop.keys import CHAT_TEMPLATES, REDIS
from scheduler.jobs import Jobs
from services import outbox
from tests.bot.helpers import OA, OPENID, WeComBot, oa_text
from tests.support.factories import make_campaign, make_community
from tests.support.fake_wechat import FakeWeChat

GROUP = "wrkSFfCgAAxxxx"  # the group chat WeComBot.text speaks in
ROBOT = "robot-key-journey-1"
POINT = "「门口小店」（1 号楼，9-21）"


class ClockedBot(WeComBot):
    """The platform stamps its callbacks with the time: the journey's injected clock."""

    def __init__(self, client: TestClient, clock: FrozenClock) -> None:
        super().__init__(client)
        self.clock = clock

    async def post(self, payload: dict[str, Any], *, ts: str | None = None) -> Any:
        return await super().post(payload, ts=ts or str(int(self.clock.now().timestamp())))


class Journey:
    def __init__(
        self, client: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
    ) -> None:
        self.client, self.settings, self.wechat, self.clock = client, settings, wechat, clock
        self.bot, self.oa = ClockedBot(client, clock), OA(client)
        app = client.server.app
        self.jobs = Jobs(settings=settings, templates=app[CHAT_TEMPLATES], redis=app[REDIS])
        self.handlers = outbox_handlers(app)

    async def say_in_group(self, text: str, sender: str = "wang") -> str:
        frame = await self.bot.reply(self.bot.text(f"@群团购助手 {text}", sender=sender))
        assert frame is not None and frame["stream"]["finish"] is True
        return str(frame["stream"]["content"])

    async def say_to_oa(self, text: str) -> str:
        stamp = str(int(self.clock.now().timestamp()))
        resp = await self.oa.post_safe(oa_text(text, create_time=stamp), ts=stamp)
        assert resp.status == 200
        return str(xmltodict.parse(self.oa.open(await resp.text()))["xml"]["Content"])

    async def log_in(self, code: str, openid: str) -> dict[str, str]:
        self.wechat.sessions[code] = {"openid": openid, "session_key": "c2Vzc2lvbmtleTAxMjM0NQ=="}
        resp = await self.client.post("/api/v1/session", json={"code": code})
        assert resp.status == 200, await resp.text()
        return {"Authorization": f"Bearer {(await resp.json())['token']}"}

    async def pay(self, order: Order, openid: str, *, deliveries: int = 1) -> None:
        """WeChat Pay's notify, delivered ``deliveries`` times at once, each answered SUCCESS."""
        body = self.wechat.payment_notify(
            out_trade_no=order.out_trade_no, total_fee=order.amount, openid=openid
        )

        async def deliver() -> None:
            resp = await self.client.post(
                "/pay/wechat/notify", data=body, headers={"Content-Type": "text/xml"}
            )
            assert resp.status == 200 and "SUCCESS" in await resp.text()

        await asyncio.gather(*(deliver() for _ in range(deliveries)))

    async def send(self) -> None:
        """The outbox, as the server runs it after each commit, until nothing is due."""
        while await outbox.run_once(self.handlers, now=self.clock.now()):
            pass

    def group_sees(self) -> list[str]:
        return [m["text"]["content"] for _, m in self.wechat.robot_messages.get(ROBOT, [])]

    def follower_receives(self) -> list[str]:
        return [m["text"]["content"] for m in self.wechat.custom_messages if m["touser"] == OPENID]

    def mini_user_receives(self, openid: str) -> list[tuple[str, dict[str, str]]]:
        return [
            (m["template_id"], {k: v["value"] for k, v in m["data"].items()})
            for m in self.wechat.subscribe_messages
            if m["touser"] == openid
        ]


@pytest.fixture
async def journey(make_settings: Any, start_client: Any, wechat: FakeWeChat) -> Journey:
    settings = make_settings()
    clock = FrozenClock(datetime.now(tz=UTC).replace(microsecond=0))
    client = await start_client(create_app(settings, clock=clock, background=False))
    return Journey(client, settings, wechat, clock)


async def _community_with_leader(journey: Journey) -> Community:
    community = await make_community()
    await Community.filter(id=community.id).update(chat_id=None)  # not yet bound to a group
    leader = await User.get(id=community.leader_id)
    # The leader's chat identity: bound through 认证 once account linking lands (issue #12.2).
    await ChatIdentity.create(platform="wecom_bot", external_id="wang", user=leader)
    answer = await journey.say_in_group(f"绑定 {ROBOT}")
    assert community.name in answer
    return community


async def _team_of_two(journey: Journey, campaign_id: str) -> tuple[str, Order, Order, str]:
    """The mini-program shopper starts a team; the follower joins it by writing 参团."""
    wang_wu = await journey.log_in("code-wangwu", "o-mini-wangwu")
    s = journey.settings
    resp = await journey.client.post(
        "/api/v1/me/subscriptions",
        json={
            "template_ids": [
                s.subscribe_template_team_succeeded,
                s.subscribe_template_arrived,
                s.subscribe_template_team_failed,
                s.subscribe_template_refunded,
            ]
        },
        headers=wang_wu,
    )
    assert resp.status == 200, await resp.text()
    resp = await journey.client.post(
        f"/api/v1/campaigns/{campaign_id}/teams", json={}, headers=wang_wu
    )
    assert resp.status == 201, await resp.text()
    code = (await resp.json())["team"]["code"]
    joined = await journey.say_to_oa(f"参团 {code}")
    assert "已为你占座" in joined and code in joined
    orders = await Order.filter(team__code=code).order_by("created_at")
    return code, orders[0], orders[1], "o-mini-wangwu"


async def test_a_team_fills_arrives_is_picked_up_and_pays_its_leader(journey: Journey) -> None:
    community = await _community_with_leader(journey)
    campaign = await make_campaign(community, team_size=2, group_price=1990)
    code, head_order, follower_order, mini = await _team_of_two(journey, str(campaign.id))

    # Both pay; the follower's notify arrives three times at once and once more later.
    await journey.pay(head_order, mini)
    await journey.pay(follower_order, f"wechat:{OPENID}", deliveries=3)
    await journey.pay(follower_order, f"wechat:{OPENID}")
    await journey.send()

    # 成团: the group, the mini-program shopper (subscribe) and the follower (customer service).
    assert journey.group_sees() == [
        f"🎉 成团啦！「测试拼团」团码 {code}，2 人已付款。\n"
        f"到货后在{POINT}自提，到货时会再通知大家。"
    ]
    assert journey.mini_user_receives(mini) == [
        (
            journey.settings.subscribe_template_team_succeeded,
            {"thing1": "测试拼团", "thing2": "门口小店", "amount3": "¥19.90"},
        )
    ]
    assert journey.follower_receives() == [
        f"🎉 你参加的「测试拼团」已成团（团码 {code}），实付 ¥19.90。\n"
        f"自提点：{POINT}。到货后会通知你凭提货码取货。"
    ]

    # The goods reach the pickup point: the leader says so in the group.
    arrived = await journey.say_in_group("到货")
    assert arrived.startswith("已确认到货：「测试社区」2 份订单可以提货了。")
    await journey.send()
    codes = {o.id: o.pickup_code for o in await Order.filter(team__code=code)}
    follower_code = codes[follower_order.id] or ""
    assert journey.group_sees()[1] == (
        f"📦 到货啦！「测试商品 默认」2 份订单已到{POINT}。\n请凭提货码取货，提货码已私信发给各位。"
    )
    assert journey.follower_receives()[1] == (
        f"📦 你的「测试商品 默认」到货了，提货码 {follower_code}。\n请到{POINT}出示提货码取货。"
    )
    assert journey.mini_user_receives(mini)[1] == (
        journey.settings.subscribe_template_arrived,
        {
            "thing1": "测试商品 默认",
            "character_string2": codes[head_order.id] or "",
            "thing3": "门口小店",
        },
    )

    # The follower shows the code; the leader verifies it in the group.
    verified = await journey.say_in_group(f"核销 {follower_code}")
    assert verified.startswith("核销成功：") and "已取货" in verified
    again = await journey.say_in_group(f"核销 {follower_code}")
    assert "已经核销过" in again

    # Nothing is released until the after-sale days have passed, by the clock.
    leader_private = await journey.bot.reply(
        journey.bot.text("@群团购助手 收益", sender="wang", chat_id=None)
    )
    assert leader_private is not None
    assert "冻结中 ¥1.98" in leader_private["stream"]["content"]
    journey.clock.advance(timedelta(days=journey.settings.auto_complete_days, hours=1))
    await journey.jobs.sweep(journey.clock.now())
    leader_private = await journey.bot.reply(
        journey.bot.text("@群团购助手 收益", sender="wang", chat_id=None)
    )
    assert leader_private is not None
    earned = leader_private["stream"]["content"]
    assert "冻结中 ¥0.99" in earned and "可结算 ¥0.99" in earned  # the picked-up order's share
    assert len(journey.group_sees()) == 2  # nothing else went to the group


async def test_a_team_that_does_not_fill_is_refunded_and_told(journey: Journey) -> None:
    community = await _community_with_leader(journey)
    campaign = await make_campaign(community, team_size=3, group_price=1990)
    code, head_order, follower_order, mini = await _team_of_two(journey, str(campaign.id))
    await journey.pay(head_order, mini)
    await journey.pay(follower_order, f"wechat:{OPENID}")

    # The deadline passes with a seat empty: the clock closes the team, twice for good measure.
    deadline = (await Order.get(id=head_order.id).prefetch_related("team")).team.deadline_at
    journey.clock.set(deadline + timedelta(seconds=1))
    await journey.jobs.due(journey.clock.now())
    await journey.jobs.due(journey.clock.now())
    await journey.send()
    assert journey.group_sees() == [
        f"「测试拼团」团码 {code} 人数未满，未能成团。\n已付款的 2 位成员共 ¥39.80 将原路退回。"
    ]
    assert journey.follower_receives() == [
        f"很遗憾，你参加的「测试拼团」（团码 {code}）未能成团。\n"
        "你支付的 ¥19.90 将原路退回，一般 1-3 个工作日到账。"
    ]
    assert journey.mini_user_receives(mini) == [
        (
            journey.settings.subscribe_template_team_failed,
            {"thing1": "测试拼团", "amount2": "¥19.90", "thing3": "未成团，原路退款"},
        )
    ]
    assert len(journey.wechat.refunds) == 2  # the outbox asked WeChat Pay for both

    # WeChat Pay reports each refund done (twice): each buyer hears it once.
    for refund in await Refund.all().prefetch_related("order"):
        body = journey.wechat.refund_notify(
            out_refund_no=refund.out_refund_no,
            out_trade_no=refund.order.out_trade_no,
            refund_fee=refund.amount,
            total_fee=refund.total,
        )
        for _ in range(2):
            resp = await journey.client.post("/pay/wechat/refund-notify", data=body)
            assert resp.status == 200 and "SUCCESS" in await resp.text()
    await journey.send()
    assert journey.follower_receives()[1:] == [
        "💰 退款已完成：「测试商品 默认」¥19.90 已原路退回。"
    ]
    assert journey.mini_user_receives(mini)[1:] == [
        (
            journey.settings.subscribe_template_refunded,
            {"thing1": "测试商品 默认", "amount2": "¥19.90", "thing3": "已原路退回"},
        )
    ]
    assert len(journey.group_sees()) == 1
    mine = await journey.say_to_oa("我的订单")
    assert "19.90" in mine
