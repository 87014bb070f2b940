"""A buyer without a nickname (known only by chat) is named one way everywhere: 顾客 and, on
a line about an order, its number's last four (qunshop.templates.person_name). The chat's
pick list and pickup list, the leader's and the operators' pages, the H5 reviews."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient

from models.catalog import Sku
from models.chat import ChatIdentity
from models.delivery import DeliveryPlan
from models.moderation import Shown
from models.review import Review
from models.user import User
from qunshop.chat import Platform
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from qunshop.templates import person_name
from services import batches
from tests.support.factories import make_community, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.support.growth import now, paid_order, principal_of
from tests.web.test_admin import _admin
from tests.web.test_console import _login, _say

OLD_WORDS = ("未设置昵称", "（无昵称）", "邻居", ">顾客×")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(tz=UTC))


def test_the_one_rule() -> None:
    assert person_name("小李", "QS20261207000123") == "小李"
    assert person_name("  ", "QS20261207000123") == "顾客（单号尾号 0123）"
    assert person_name(None) == person_name("") == "顾客（未设昵称）"


async def test_a_nameless_buyer_is_named_alike_in_chat_consoles_and_h5(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    community = await make_community(name="幸福里社区")
    leader = await User.get(id=community.leader_id)
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id="liu", user=leader)
    nameless = await User.create(openid="o-chat-only", nickname="")
    order = await paid_order(settings, wechat, nameless, community)
    await paid_order(settings, wechat, await make_user(nickname="小李"), community)
    named = f"顾客（单号尾号 {order.out_trade_no[-4:]}）"
    sku = await Sku.get(id=order.sku_id)
    await Review.create(
        order=order,
        author=nameless,
        product_id=sku.product_id,
        community=community,
        rating=5,
        text="很新鲜",
        shown=Shown.VISIBLE,
        created_at=now(),
    )
    await batches.set_plan(
        principal=principal_of(leader),
        community_id=str(community.id),
        cutoff="20:00",
        home_delivery=False,
        delivery_fee=0,
        now=now(),
    )
    plan = await DeliveryPlan.get(community_id=community.id)
    await batches.cut_due(now=plan.next_cutoff_at)

    # The leader's chat: the pick list (批次) and the pickup list (提货单).
    sheet = await _say(web_client, "批次", "liu")
    assert f"{named}×1" in sheet and "小李×1" in sheet and "（顾客×1" not in sheet
    assert named in await _say(web_client, "提货单", "liu")

    # The leader's pages: the batch's pick list, the pickup list, the reviews.
    link = re.search(r"http\S+/console/login\?token=\S+", await _say(web_client, "后台", "liu"))
    cookies = await _login(web_client, link.group(0))
    for path, shown in (
        ("/console/batches", f"{named}×1"),
        ("/console/pickups", f"<td>{named}</td>"),
        ("/console/reviews", "顾客（未设昵称）：很新鲜"),
    ):
        html = await (await web_client.get(path, headers={"Cookie": cookies})).text()
        assert shown in html, path
        assert not any(word in html for word in OLD_WORDS), path

    # The operators' pages: the order search and the users list.
    _, ops = await _admin(web_client)
    orders = await web_client.get(f"/admin/orders?q={order.out_trade_no}", headers={"Cookie": ops})
    html = await orders.text()
    assert f"{named} · " in html and not any(word in html for word in OLD_WORDS)
    users = await (await web_client.get("/admin/users", headers={"Cookie": ops})).text()
    assert "<td>顾客（未设昵称）<br>" in users and not any(word in users for word in OLD_WORDS)

    # The product's H5 page, its reviews: no order number on a public page.
    html = await (await web_client.get(f"/h5/products/{sku.product_id}")).text()
    assert "<strong>顾客（未设昵称）</strong>" in html and order.out_trade_no[-4:] not in html
