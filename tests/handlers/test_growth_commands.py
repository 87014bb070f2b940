"""邀请, 收益, 核销 and 提货单 through the dispatcher, checked against the database."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from models.chat import ChatIdentity
from models.community import Community
from models.growth import InviteBinding, PickupVerification, ShareCode, ShareKind
from models.order import Order, OrderStatus
from models.user import User
from qunshop.chat import Card, Platform, Text
from qunshop.config import Settings
from services import pickup
from tests.handlers.conftest import Say
from tests.support.factories import auth, make_community, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.support.growth import paid_order, principal_of


async def _as(user: User, sender: str) -> None:
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id=sender, user=user)


async def _bound_group() -> tuple[Community, User]:
    community = await make_community()
    await Community.filter(id=community.id).update(chat_id="group-1")
    leader = await User.get(id=community.leader_id)
    await _as(leader, "wang")
    return await Community.get(id=community.id), leader


async def test_invite_gives_a_personal_card_with_an_opaque_code(
    say: Say, client: TestClient, settings: Settings
) -> None:
    community, _ = await _bound_group()
    card = await say("邀请", sender="li")
    assert isinstance(card, Card)
    share = await ShareCode.get(kind=ShareKind.INVITE)
    assert share.community_id == community.id
    assert "/h5/invite?from=" in card.url and card.mini_program_path
    code = card.mini_program_path.rsplit("s=", 1)[1]
    assert card.url.endswith(f"from={code}") and code in card.picture_url
    sharer = await User.get(id=share.sharer_id)
    assert str(sharer.id) not in card.url  # no raw ids leave the server
    assert (await say("invite", sender="li")).mini_program_path == card.mini_program_path
    # a friend opening it in the mini-program is bound to the sharer
    friend = await make_user()
    resp = await client.post(
        "/api/v1/attribution/entries", json={"code": code}, headers=auth(friend, settings)
    )
    assert (await resp.json())["outcome"] == "bound"
    assert (await InviteBinding.get(invitee_id=friend.id)).inviter_id == sharer.id


async def test_earnings_for_leaders_in_private(
    say: Say, settings: Settings, wechat: FakeWeChat
) -> None:
    community, _ = await _bound_group()
    await paid_order(settings, wechat, await make_user(), community, price=20_000)
    private = await say("收益", sender="wang", chat_id=None)
    assert isinstance(private, Text)
    assert "冻结中 ¥10.00" in private.content and "可结算 ¥0.00" in private.content
    in_group = await say("earnings", sender="wang")
    assert "私聊" in in_group.content and "10.00" not in in_group.content
    shopper = await say("收益", sender="li", chat_id=None)
    assert "只有团长" in shopper.content


async def test_arrival_verify_and_pickups_by_chat(
    say: Say, settings: Settings, wechat: FakeWeChat
) -> None:
    community, _ = await _bound_group()
    buyer = await make_user(nickname="小赵")
    order = await paid_order(settings, wechat, buyer, community)
    code = (await pickup.ticket(principal=principal_of(buyer), order_id=str(order.id))).code

    listed = await say("提货单", sender="wang")
    # Paid, the goods not here: 待到货, and nobody is 待提货 yet.
    assert "待提货 0 单" in listed.content and "待到货 1 单" in listed.content
    assert "小赵" in listed.content
    assert code not in listed.content  # the shopper shows the code; the list does not

    early = await say(f"核销 {code}", sender="wang")
    assert "还不能提货" in early.content and "到货" in early.content
    assert "只有团长" in (await say("到货", sender="li")).content
    arrived = await say("到货", sender="wang")
    assert arrived.content == (
        "已确认到货：「测试社区」1 份订单可以提货了。\n"
        "本群没有配置群机器人，群里没有发到货通知，请自己在群里说一声。\n"
        "这位买家没有可用的私信渠道，收不到提货码，请提醒对方在小程序「我的订单」里看提货码。\n"
        "顾客来取货时发「核销 提货码」。"
    )
    assert (await Order.get(id=order.id)).status is OrderStatus.READY_FOR_PICKUP
    # The buyer asks for her orders: in the group everyone would read them, and her code.
    await _as(buyer, "zhao")
    in_group = await say("我的订单", sender="zhao")
    assert "已到货" not in in_group.content and code not in in_group.content
    assert "私聊" in in_group.content
    alone = await say("我的订单", sender="zhao", chat_id=None)
    assert f"提货码 {code}" in alone.content
    assert "付款" not in alone.content  # nothing waits for payment
    nothing = await say("arrived", sender="wang")
    assert "没有等待到货的订单" in nothing.content

    done = await say(f"核销 {code[:4].lower()} {code[4:].lower()}", sender="wang")
    assert done.content == (
        "核销成功：小赵 · 测试商品 ×1 已取货。\n7 天后订单自动完成，相关收益随之解冻到账。"
    )
    assert (await Order.get(id=order.id)).status is OrderStatus.PICKED_UP
    again = await say(f"verify {code}", sender="wang")
    assert "已经核销过" in again.content
    unknown = await say("核销 ZZZZZZZZ", sender="wang")
    assert "没有找到" in unknown.content
    usage = await say("核销", sender="wang")
    assert "用法" in usage.content
    assert "今日已提货 1 单" in (await say("pickups", sender="wang")).content

    # another community's leader, and a shopper
    other = await make_community()
    await _as(await User.get(id=other.leader_id), "zhou")
    refused = await say(f"核销 {code}", sender="zhou", chat_id=None)
    assert refused.content == unknown.content  # another community's code reads as unknown
    assert "只有团长" in (await say(f"核销 {code}", sender="li")).content
    outcomes = sorted(await PickupVerification.all().values_list("outcome", flat=True))
    assert outcomes == [
        "order_not_ready_for_pickup",
        "pickup_code_not_found",
        "pickup_code_not_yours",
        "pickup_code_used",
        "verified",
    ]
