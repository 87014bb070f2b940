"""services.aftersale_board: each request with who asked, how the leader reaches them, the
order and what went back already; only the requests the caller decides."""

from __future__ import annotations

import uuid

from aiohttp.test_utils import TestClient

from models.chat import ChatIdentity
from models.delivery import HomeDelivery
from models.user import Role, User
from qunshop.chat import Platform
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from services import aftersale_board, personal
from tests.support.aftersale_world import decided, paid_order, principal_of, refund_asked
from tests.support.factories import make_community, make_user
from tests.support.fake_wechat import FakeWeChat


async def test_each_line_names_the_buyer_their_contact_and_the_order_standing(
    api: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    community = await make_community()
    leader = principal_of(await User.get(id=community.leader_id))
    in_wecom = await make_user(nickname="小王")
    await ChatIdentity.create(platform=Platform.WECHAT.value, external_id="oa-1", user=in_wecom)
    await ChatIdentity.create(platform=Platform.WECOM.value, external_id="wang-xiao", user=in_wecom)
    in_oa = await make_user()
    await User.filter(id=in_oa.id).update(nickname="")  # known only by chat: no nickname
    await ChatIdentity.create(platform=Platform.WECHAT.value, external_id="oa-2", user=in_oa)
    only_app = await make_user(nickname="老李")
    orders = {}
    for buyer in (in_wecom, in_oa, only_app):
        orders[buyer.id] = await paid_order(
            settings, wechat, now=clock.now(), community=community, buyer=buyer, price=2000
        )
    # 老李's goods came home: the delivery's phone is the one a leader is given, masked here.
    row = uuid.uuid4()
    key = personal.data_key(settings)
    await HomeDelivery.create(
        id=row,
        order_id=orders[only_app.id].id,
        phone_sealed=personal.seal("13912345678", key=key, owner=row),
        address="幸福里 3 栋",
        fee=0,
        created_at=clock.now(),
    )
    first = await refund_asked(orders[in_wecom.id], clock.now())
    await decided(first, await User.get(id=community.leader_id), clock.now())
    for order in orders.values():
        await refund_asked(order, clock.now())

    lines = {
        line.sale.user_id: line
        for line in (await aftersale_board.waiting(leader, settings=settings)).lines
    }
    assert {u: (x.buyer, x.contact, x.phone) for u, x in lines.items()} == {
        in_wecom.id: ("小王", "企业微信 wang-xiao", ""),
        in_oa.id: (f"顾客（单号尾号 {orders[in_oa.id].out_trade_no[-4:]}）", "公众号消息", ""),
        only_app.id: ("老李", "", "139****5678"),
    }
    assert (lines[in_wecom.id].paid, lines[in_wecom.id].refunded) == (2000, 500)
    # The product alone: its only SKU's placeholder name (默认) is not shown.
    assert (lines[in_oa.id].kept, lines[in_oa.id].item) == (2000, "测试商品")

    done, after = await aftersale_board.decided(leader, settings=settings, cursor=None)
    assert [x.sale.id for x in done] == [first.id] and after is None
    assert done[0].sale.refund is not None


async def test_a_leader_sees_only_their_communities_and_an_operator_all(
    api: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    ours, theirs = await make_community(), await make_community()
    for community in (ours, theirs):
        await refund_asked(
            await paid_order(settings, wechat, now=clock.now(), community=community), clock.now()
        )
    leader = principal_of(await User.get(id=ours.leader_id))
    mine = await aftersale_board.waiting(leader, settings=settings)
    assert [x.sale.community_id for x in mine.lines] == [ours.id] and mine.total == 1
    admin = principal_of(await make_user(Role.ADMIN))
    everyone = await aftersale_board.waiting(admin, settings=settings)
    assert (len(everyone.lines), everyone.total, everyone.unlisted) == (2, 2, 0)
