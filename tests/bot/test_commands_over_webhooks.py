"""Every chat command, as the platforms send it: signed, encrypted, through the real webhooks."""

from __future__ import annotations

import xmltodict
from aiohttp.test_utils import TestClient

from models.chat import ChatIdentity, Follow
from models.community import Community
from models.groupbuy import Seat, Team
from models.order import Order
from qunshop.chat import Text
from tests.bot.conftest import FakeMessenger
from tests.bot.helpers import OA, WeComApp, WeComBot, oa_event, oa_text
from tests.support.factories import make_campaign, make_community

GROUP = "wrkSFfCgAAxxxx"  # the chat id WeComBot.text uses


async def _say(bot: WeComBot, text: str, sender: str = "zhangsan", chat_id: str | None = GROUP):
    frame = await bot.reply(bot.text(f"@群团购助手 {text}", sender=sender, chat_id=chat_id))
    assert frame is not None and frame["stream"]["finish"] is True
    return frame


async def test_group_commands_through_the_wecom_bot(
    bot_client: TestClient, messenger: FakeMessenger
) -> None:
    community = await make_community()
    await Community.filter(id=community.id).update(chat_id=None)
    leader = await community.leader
    await ChatIdentity.create(platform="wecom_bot", external_id="wang", user=leader)
    campaign = await make_campaign(community, team_size=2, group_price=1990)
    bot = WeComBot(bot_client)

    bound = await _say(bot, "绑定 robot-key-12345", sender="wang")
    assert community.name in bound["stream"]["content"]
    assert (await Community.get(id=community.id)).chat_id == GROUP

    deals = await _say(bot, "团购")
    assert campaign.title in deals["stream"]["content"] and "19.90" in deals["stream"]["content"]

    started = await _say(bot, "开团 1", sender="wang")
    assert started["msgtype"] == "stream_with_template_card"
    team = await Team.get(campaign_id=campaign.id)
    assert started["template_card"]["button_list"][0]["key"] == f"参团 {team.code}"

    # The team card's button sends 参团 <code>: pressed in the group, it takes a seat.
    click = bot.event(
        "template_card_event",
        {"card_type": "button_interaction", "event_key": f"参团 {team.code}", "task_id": "t1"},
        chatid=GROUP,
        chattype="group",
        **{"from": {"userid": "lisi"}},
        response_url="https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=R9",
    )
    assert await bot.reply(click) is None  # acknowledged; the answer follows by response_url
    await messenger.wait()
    [(_, seated)] = messenger.delivered
    assert isinstance(seated, Text) and "已为你占座" in seated.content
    assert await Seat.filter(team_id=team.id).count() == 1  # the leader opened it, not bought

    orders = await _say(bot, "我的订单", sender="lisi")  # the group would read them: not here
    assert "私聊" in orders["stream"]["content"] and "19.90" not in orders["stream"]["content"]
    invite = await _say(bot, "邀请", sender="lisi")
    assert invite["msgtype"] == "stream_with_template_card"
    # The invite card's links carry a code too (its sharer's), but it is no team: no 参团
    # button, it opens the invite page.
    shown = invite["template_card"]
    assert shown["card_type"] in ("news_notice", "text_notice") and "button_list" not in shown
    assert "/h5/invite?from=" in shown["card_action"]["url"]
    stats = await _say(bot, "统计", sender="wang")
    assert "订单 0 笔" in stats["stream"]["content"]  # nobody has paid yet
    notice = await _say(bot, "公告 明天九点到货", sender="wang")
    assert "明天九点到货" in notice["stream"]["content"]
    refused = await _say(bot, "统计", sender="lisi")
    assert "只有团长" in refused["stream"]["content"]
    unknown = await _say(bot, "今天吃什么")
    assert "帮助" in unknown["stream"]["content"]
    bad = await _say(bot, "参团", sender="lisi")
    assert "用法" in bad["stream"]["content"]
    assert await Order.filter(team_id=team.id).count() == 1


async def test_official_account_follower(bot_client: TestClient) -> None:
    oa = OA(bot_client)
    resp = await oa.post_safe(oa_event("subscribe", "qrscene_leader42"))
    reply = xmltodict.parse(oa.open(await resp.text()))["xml"]
    assert "欢迎" in reply["Content"]
    assert await Follow.filter(scene="leader42", event="subscribe").count() == 1

    resp = await oa.post_safe(oa_text("我的订单"))
    reply = xmltodict.parse(oa.open(await resp.text()))["xml"]
    assert "还没有订单" in reply["Content"]

    resp = await oa.post_safe(oa_event("CLICK", "团购"))
    reply = xmltodict.parse(oa.open(await resp.text()))["xml"]
    # One-to-one: the deals of the person's communities; a newcomer has none yet.
    assert "还没有加入社区" in reply["Content"]

    resp = await oa.post(oa_event("unsubscribe"))
    assert await resp.text() == "success"
    assert await Follow.filter(event="unsubscribe").count() == 1


async def test_wecom_app_commands(bot_client: TestClient) -> None:
    app = WeComApp(bot_client)
    resp = await app.post(app.xml("help", sender="wangwu"))
    reply = xmltodict.parse(app.open(await resp.text()))["xml"]
    assert "参团" in reply["Content"]
    resp = await app.post(app.xml("邀请", sender="wangwu"))
    reply = xmltodict.parse(app.open(await resp.text()))["xml"]
    assert reply["MsgType"] == "news"
