"""Replies that read like a person wrote them, through the dispatcher."""

from __future__ import annotations

from datetime import UTC, datetime

from models.activity import FlashSale, PointsEntry
from models.catalog import Product, Sku
from models.chat import ChatIdentity
from models.community import Community
from models.groupbuy import Team
from models.outbox import OutboxMessage
from models.user import Role, User
from qunshop.chat import Platform, Text
from services import bargains, storefront
from services.auth import Principal
from tests.handlers.conftest import Say
from tests.support.factories import join, make_campaign, make_community, make_sku, make_user


async def _as(user: User, sender: str) -> None:
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id=sender, user=user)


async def _bound_group() -> tuple[Community, User]:
    community = await make_community(name="阳光花园社区团")
    await Community.filter(id=community.id).update(chat_id="group-1")
    leader = await community.leader
    await _as(leader, "wang")
    return await Community.get(id=community.id), leader


async def _text(say: Say, text: str, **kw: object) -> str:
    reply = await say(text, **kw)
    assert isinstance(reply, Text), reply
    return reply.content


async def test_products_are_numbered_and_a_flash_sale_takes_the_number(say: Say) -> None:
    community, leader = await _bound_group()
    eggs = await make_sku(community, price=1590, stock=80)
    await Product.filter(id=eggs.product_id).update(title="土鸡蛋")
    rice = await make_sku(community, price=4990, stock=20)
    await Product.filter(id=rice.product_id).update(title="五常大米")

    listing = await _text(say, "商品", sender="li")
    assert "1. 土鸡蛋 ¥15.90，库存 80" in listing and "2. 五常大米 ¥49.90，库存 20" in listing
    assert [line.product.sku_id for line in await storefront.community_skus(community.id)] == [
        eggs.id,
        rice.id,
    ]

    made = await _text(say, "活动 秒杀 明天 20:00 2 9.9 10 限购1", sender="wang")
    assert "已安排秒杀" in made and "¥9.90" in made
    sale = await FlashSale.get()
    assert sale.sku_id == rice.id and sale.stock == 10
    assert (await Sku.get(id=rice.id)).stock == 10

    wrong = await _text(say, "活动 秒杀 明天 21:00 7 9.9 10", sender="wang")
    assert wrong == "没有编号 7 的商品（本群共 2 个），发送「商品」查看编号。"
    too_many = await _text(say, "活动 秒杀 后天 20:00 1 9.9 500", sender="wang")
    assert "库存不够" in too_many
    assert await FlashSale.all().count() == 1


async def test_one_to_one_deals_are_those_of_the_persons_communities(say: Say) -> None:
    community, _ = await _bound_group()
    other = await make_community(name="滨江社区")
    await make_campaign(community, team_size=3, group_price=2990)
    await make_campaign(other)
    shopper = await ChatIdentity.create(
        platform=Platform.WECOM_BOT.value,
        external_id="li",
        user=await User.create(openid="li-openid", nickname="小李"),
    )
    await join(await shopper.user, community)

    reply = await _text(say, "团购", sender="li", chat_id=None)
    assert "「阳光花园社区团」正在拼：" in reply
    assert "· 测试拼团 3人团 ¥29.90，暂无可加入的团" in reply
    assert "滨江社区" not in reply
    newcomer = await _text(say, "deals", sender="someone-new", chat_id=None)
    assert "还没有加入社区" in newcomer


async def test_leaders_hints_are_for_leaders_and_lists_keep_their_lines(say: Say) -> None:
    """A shopper is not shown 活动 秒杀 or 开团; each list item is a line of its own; a
    wrong number or a group chat gets its own words."""
    community, _ = await _bound_group()
    await make_sku(community, price=1590, stock=80)
    await make_campaign(community, team_size=3, group_price=2990)

    shoppers_products = await _text(say, "商品", sender="li")
    assert "活动 秒杀" not in shoppers_products and "「团购」" in shoppers_products
    assert "活动 秒杀" in await _text(say, "商品", sender="wang")
    shoppers_deals = await _text(say, "团购", sender="li")
    assert "暂无可加入的团" in shoppers_deals and "「开团" not in shoppers_deals
    assert "团长可发「开团 1」" in await _text(say, "团购", sender="wang")

    boss = Principal(user_id=(await make_user(Role.ADMIN)).id, role=Role.ADMIN)
    now = datetime.now(tz=UTC)
    for floor in (990, 1990):
        spec = bargains.OfferSpec(
            sku_id=str((await make_sku(community, price=9900)).id),
            floor_price=floor,
            helpers_needed=2,
            hours=24,
        )
        await bargains.open_offer(principal=boss, spec=spec, now=now)
    offers = (await _text(say, "砍价", sender="li")).splitlines()
    assert [line[:2] for line in offers[1:4]] == ["1.", "2.", "发送"], offers

    li = await ChatIdentity.get(platform=Platform.WECOM_BOT.value, external_id="li")
    await PointsEntry.create(user_id=li.user_id, delta=5, reason="review", ref="r-1")
    assert "评价 +5" in await _text(say, "积分", sender="li", chat_id=None)

    wrong = await _text(say, "领券 99", sender="li")
    assert "没有第 99 张券" in wrong
    in_group = await _text(say, "评价", sender="li")
    assert "私聊" in in_group and "个人信息" not in in_group


async def test_a_group_buyer_finds_the_groups_community_one_to_one(say: Say) -> None:
    """Someone who joined a team in the group never joined the community in the mini-program,
    yet one-to-one 团购 and 商品 are that community's: not 「你还没有加入社区。在社区群里@我发
    「团购」」 (they did) nor 「本群还没有绑定社区」 (there is no group in a one-to-one chat)."""
    community, _ = await _bound_group()
    await make_campaign(community, team_size=3, group_price=2990)
    await say("开团 1", sender="wang")
    team = await Team.get()
    assert "已为你占座" in await _text(say, f"参团 {team.code}", sender="li")

    deals = await _text(say, "团购", sender="li", chat_id=None)
    assert "「阳光花园社区团」正在拼：" in deals and team.code in deals
    products = await _text(say, "商品", sender="li", chat_id=None)
    assert "「阳光花园社区团」的商品" in products and "本群" not in products
    newcomer = await _text(say, "products", sender="someone-new", chat_id=None)
    assert "还没有加入社区" in newcomer and "本群" not in newcomer


async def test_a_group_shopper_is_sent_one_link_not_one_per_message(say: Say) -> None:
    """In a group every reply to an unlinked sender says the link was sent privately; one
    private link (valid 30 minutes) serves them all, rather than a new one per message."""
    community, _ = await _bound_group()
    await make_campaign(community, team_size=3, group_price=2990)
    await say("开团 1", sender="wang")
    team = await Team.get()
    for text in (f"参团 {team.code}", "我的订单", "orders"):
        assert "关联链接已私信发给你" in await _text(say, text, sender="li")
    assert await OutboxMessage.filter(dedupe_key__startswith="link:").count() == 1
    # Her seat waits for payment: her orders, alone, say where to pay, not only 「待支付」.
    mine = await _text(say, "我的订单", sender="li", chat_id=None)
    assert "待支付" in mine and "到小程序「我的订单」付款" in mine
    paying = await _text(say, "付款", sender="li", chat_id=None)  # not 「没听懂」
    assert "到小程序「我的订单」付款" in paying


async def test_a_leader_with_nothing_on_sale_is_told_where_to_start(say: Say) -> None:
    """A new leader's empty 团购 and 商品 name 后台 (where campaigns are made), not 「团长开团
    后会通知」, which is the shoppers' answer; the leader's help lists 后台."""
    await _bound_group()
    assert "后台 (console)" in await _text(say, "帮助", sender="wang")
    assert "「后台」" in await _text(say, "团购", sender="wang")
    assert "「后台」" in await _text(say, "商品", sender="wang")
    assert "「后台」" not in await _text(say, "团购", sender="li")
    assert "「后台」" not in await _text(say, "商品", sender="li")


async def test_a_leaders_stats_one_to_one_are_their_communitys(say: Say) -> None:
    """统计 said 「本群还没有绑定社区」 one-to-one, where 到货 and 收益 work: it gives the led
    community's figures."""
    await _bound_group()
    private = await _text(say, "统计", sender="wang", chat_id=None)
    assert "「阳光花园社区团」" in private and "订单 0 笔" in private and "本群" not in private


async def test_group_commands_one_to_one_say_to_use_the_group(say: Say) -> None:
    """开团, 公告 and 活动 act on a group: one-to-one they say so, not 「本群还没有绑定社区」
    (which sends a leader whose group is bound off to bind it again)."""
    community, _ = await _bound_group()
    await make_campaign(community, team_size=3)
    for text in ("开团 1", "公告 明早到货", "活动 列表"):
        reply = await _text(say, text, sender="wang", chat_id=None)
        assert reply == "这个命令请在社区群里@我发送。", (text, reply)
    assert await Team.all().count() == 0


async def test_what_a_group_is_told_to_ask_privately_says_why(say: Say) -> None:
    """后台 in a group is a login link, 注销账号 an act only the person does: neither is called
    the person's 个人信息, as their orders and earnings are."""
    await _bound_group()
    console = await _text(say, "后台", sender="wang")
    assert console == "后台登录链接谁拿到都能用，不能发在群里：请私聊我发送「后台」。", console
    erase = await _text(say, "注销账号", sender="li")
    assert erase == "注销账号只能你本人私聊办理：请私聊我发送「注销账号」。", erase
    assert await _text(say, "收益", sender="wang") == "「收益」是你的个人信息，请私聊我发送。"
    assert "/console/login?token=" in await _text(say, "后台", sender="wang", chat_id=None)
