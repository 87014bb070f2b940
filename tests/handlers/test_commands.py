"""Every chat command, through the dispatcher, checked against the database."""

from __future__ import annotations

from datetime import UTC, datetime

from models.chat import ChatIdentity, Follow
from models.community import Community
from models.groupbuy import Seat, Team, TeamStatus
from models.order import Order
from models.user import Role, User
from qunshop.chat import Card, Platform, Text
from services import groupbuy, payments
from tests.conftest import TEST_SECRETS
from tests.handlers.conftest import Say
from tests.support.factories import make_campaign, make_community, make_user


async def _as(user: User, sender: str, platform: Platform = Platform.WECOM_BOT) -> None:
    await ChatIdentity.create(platform=platform.value, external_id=sender, user=user)


async def _bound_group() -> tuple[Community, User]:
    community = await make_community()
    await Community.filter(id=community.id).update(chat_id="group-1")
    leader = await community.leader
    await _as(leader, "wang")
    return await Community.get(id=community.id), leader


async def test_leader_binds_the_group(say: Say) -> None:
    community = await make_community()
    await Community.filter(id=community.id).update(chat_id=None)
    await _as(await community.leader, "wang")
    reply = await say("绑定 robotkey-123456", sender="wang", chat_id="group-9")
    assert isinstance(reply, Text) and community.name in reply.content
    fresh = await Community.get(id=community.id)
    assert fresh.chat_id == "group-9" and fresh.robot_key == "robotkey-123456"
    # a shopper cannot
    reply = await say("bind", sender="someone", chat_id="group-10")
    assert "只有团长" in reply.content
    assert await Community.filter(chat_id="group-10").count() == 0


async def test_deals_lists_campaigns_with_seats_left(say: Say) -> None:
    community, _ = await _bound_group()
    campaign = await make_campaign(community, team_size=3, group_price=2990)
    reply = await say("团购")
    assert campaign.title in reply.content and "29.90" in reply.content
    assert "暂无可加入的团" in reply.content and "「开团" not in reply.content  # a shopper
    reply = await say("团购", sender="wang")
    assert "团长可发「开团 1」" in reply.content  # the leader is told how to open one
    reply = await say("deals", chat_id="unbound-group")
    assert "还没有绑定" in reply.content


async def test_leader_starts_a_team_and_posts_its_card(say: Say) -> None:
    community, leader = await _bound_group()
    campaign = await make_campaign(community, team_size=3)
    reply = await say("开团 1", sender="wang")
    assert isinstance(reply, Card)
    team = await Team.get(campaign_id=campaign.id)
    assert team.code in reply.button_text and team.chat_id == "group-1"
    # The leader opened it for the group: no seat, no order, every seat still free.
    assert reply.description.startswith(f"团码 {team.code} · 还差 3 人成团")
    assert reply.description.endswith(f"{leader.nickname}开的团")
    assert await Seat.filter(team_id=team.id).count() == 0
    assert await Order.filter(user_id=leader.id).count() == 0
    assert team.code in (reply.mini_program_path or "")
    assert (await say("deals")).content.count(team.code) == 1
    bad = await say("开团 abc", sender="wang")
    assert "用法" in bad.content


async def test_a_leader_who_buys_too_holds_a_seat(say: Say) -> None:
    community, leader = await _bound_group()
    campaign = await make_campaign(community, team_size=3)
    reply = await say("开团 1 我也买", sender="wang")
    assert isinstance(reply, Card) and "还差 2 人成团" in reply.description
    seat = await Seat.get(campaign_id=campaign.id)
    assert seat.user_id == leader.id and seat.is_head


async def test_join_by_code_and_friendly_errors(say: Say) -> None:
    community, _ = await _bound_group()
    await make_campaign(community, team_size=2)
    await say("start 1", sender="wang")
    team = await Team.get()
    reply = await say(f"参团 {team.code.lower()}", sender="li")
    assert "已为你占座" in reply.content and "还差 1 人" in reply.content
    assert "请在 15 分钟内" in reply.content  # the campaign's payment window
    order = await Order.get(user__chat_identities__external_id="li")
    assert order.chat_id == "group-1" and order.team_id == team.id
    last = await say(f"join {team.code}", sender="zhao")
    assert "成团" in last.content and "还差 0 人" not in last.content
    full = await say(f"join {team.code}", sender="qian")
    assert "满员" in full.content
    missing = await say("参团 ZZZZZZZZ", sender="qian")
    assert "没有找到" in missing.content
    usage = await say("参团", sender="qian")
    assert "用法" in usage.content
    assert await Seat.filter(team_id=team.id).count() == 2


async def test_my_orders(say: Say) -> None:
    assert "还没有订单" in (await say("我的订单", sender="new", chat_id=None)).content
    community, _ = await _bound_group()
    await make_campaign(community, team_size=2, group_price=1234, reservation_minutes=20)
    await say("开团 我也买", sender="wang")
    reply = await say("orders", sender="wang", chat_id=None)
    assert "1. 测试商品 ×1 ¥12.34 · 待支付" in reply.content
    # Asked in the group, her orders and what she paid are not read out to everyone.
    in_group = await say("orders", sender="wang")
    assert in_group.content.startswith("「我的订单」是你的个人信息，请私聊我发送。")
    assert "12.34" not in in_group.content


async def test_stats_counts_today(say: Say) -> None:
    community, _ = await _bound_group()
    campaign = await make_campaign(community, team_size=2, group_price=1000)
    await say("开团 我也买", sender="wang")
    order = await Order.get(campaign_id=campaign.id)
    now = datetime.now(tz=UTC)
    # WeChat Pay's notify for it, through the verb /pay/wechat/notify calls.
    merchant = {k: TEST_SECRETS[f"pay_{k}"] for k in ("api_key", "mch_id")}
    merchant["appid"] = TEST_SECRETS["wechat_appid"]
    body = await payments.simulated_notify(order=order, transaction_id="t1", now=now, **merchant)
    await payments.handle_notify(body, now=now, **merchant)
    reply = await say("统计", sender="wang")
    assert "订单 1 笔" in reply.content and "10.00" in reply.content
    shopper = await say("stats", sender="li")
    assert "只有团长" in shopper.content


async def test_notice_and_invite(say: Say) -> None:
    community, _ = await _bound_group()
    reply = await say("公告 明早九点到货", sender="wang")
    assert "明早九点到货" in reply.content and community.name in reply.content
    card = await say("邀请", sender="li")
    assert isinstance(card, Card) and "/h5/invite?from=" in card.url


async def test_follow_scan_and_unfollow_are_recorded(say: Say) -> None:
    platform = Platform.WECHAT
    reply = await say(
        event="subscribe",
        event_key="qrscene_inv42",
        sender="o-1",
        chat_id=None,
        platform=platform,
    )
    assert "欢迎" in reply.content
    await say(event="SCAN", event_key="inv43", sender="o-1", chat_id=None, platform=platform)
    assert await say(event="unsubscribe", sender="o-1", chat_id=None, platform=platform) is None
    rows = await Follow.filter(external_id="o-1").order_by("created_at")
    assert [(r.event, r.scene) for r in rows] == [
        ("subscribe", "inv42"),
        ("scan", "inv43"),
        ("unsubscribe", None),
    ]


async def test_enter_chat_welcome(say: Say) -> None:
    reply = await say(event="enter_chat", sender="u-9", chat_id=None)
    assert "欢迎" in reply.content


async def test_help_shows_leader_commands_to_leaders(say: Say) -> None:
    leader = await make_user(Role.LEADER)
    await _as(leader, "boss")
    assert "团长命令" in (await say("help", sender="boss")).content


async def test_another_communitys_leader_gets_no_stats_and_posts_no_notice(say: Say) -> None:
    """A leader of another community in this group: 统计 would show this community's sales,
    公告 would post as its notice; both are refused as 开团 and 提货单 are."""
    await _bound_group()
    other = await make_community(name="翠湖社区团")
    await _as(await other.leader, "chen")
    for text in ("统计", "公告 明早9点到货"):
        reply = await say(text, sender="chen")
        assert isinstance(reply, Text) and reply.content == "只有本社区的团长可以这样做。", text
    assert "订单" in (await say("统计", sender="wang")).content  # the leader still can


async def test_a_bare_start_with_several_deals_asks_which(say: Say) -> None:
    community, _ = await _bound_group()
    await make_campaign(community, team_size=3)
    await make_campaign(community, team_size=2)
    reply = await say("开团", sender="wang")
    assert "请说明开哪一个" in reply.content and "「开团 2」" in reply.content
    assert await Team.filter(campaign__community_id=community.id).count() == 0
    assert isinstance(await say("开团 1", sender="wang"), Card)
    assert await Team.filter(campaign__community_id=community.id).count() == 1


async def test_joining_again_points_to_my_orders_whatever_was_paid(say: Say) -> None:
    community, _ = await _bound_group()
    await make_campaign(community, team_size=3)
    card = await say("开团 1", sender="wang")
    code = (await Team.get(chat_id="group-1")).code
    assert card.button_text == f"参团{code}"  # what the card's button shows, typed as seen
    await _as(await make_user(nickname="李四"), "lisi")
    assert "已为你占座" in (await say(card.button_text, sender="lisi")).content
    again = await say(f"参团 {code}", sender="lisi")
    assert "已经在这个活动的一个团里" in again.content and "「我的订单」" in again.content
    assert "付款后" not in again.content


async def test_a_team_that_ended_short_is_told_from_one_that_filled(say: Say) -> None:
    """参团 on a team the clock failed at its deadline: 没拼成 (the join's refusal carries the
    team's state), never 满员成团."""
    community, _ = await _bound_group()
    await make_campaign(community, team_size=3)
    await say("start 1", sender="wang")
    team = await Team.get()
    assert await groupbuy.close_team(team.id, now=team.deadline_at) is TeamStatus.FAILED
    seats = await Seat.filter(team_id=team.id).count()
    failed = (await say(f"参团 {team.code.lower()}", sender="li")).content
    assert f"团 {team.code} 没拼成，已经结束了" in failed and "满员" not in failed, failed
    assert await Seat.filter(team_id=team.id).count() == seats
