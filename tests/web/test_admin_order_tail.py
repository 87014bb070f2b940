"""An operator finds an order by the handle the consoles show (顾客（单号尾号 D400）): the
number's last four or more characters find it, its row links to its pending after-sale."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient

from models.user import User
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from tests.support.aftersale_world import paid_order, refund_asked
from tests.support.factories import make_community
from tests.support.fake_wechat import FakeWeChat
from tests.web.test_admin import _admin


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(tz=UTC))


async def test_the_tail_the_consoles_show_finds_the_order_and_its_after_sale(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    _, cookies = await _admin(web_client)
    community = await make_community(name="幸福里社区")
    buyer = await User.create(openid="o-no-name", nickname="")
    order = await paid_order(settings, wechat, now=clock.now(), community=community, buyer=buyer)
    other = await paid_order(settings, wechat, now=clock.now(), community=community)
    sale = await refund_asked(order, clock.now())

    async def get(path: str) -> str:
        response = await web_client.get(path, headers={"Cookie": cookies})
        assert response.status == 200, path
        return await response.text()

    board = await get("/console/after-sales")  # where the operator met the buyer
    tail = re.search(r"顾客（单号尾号 (\w{4})）", board).group(1)
    assert tail == order.out_trade_no[-4:]

    for q in (tail, tail.lower(), order.out_trade_no[-9:]):
        page = await get(f"/admin/orders?q={q}")
        assert "找到 1 个订单" in page, q
        assert order.out_trade_no in page and other.out_trade_no not in page
    row = re.search(r"<tbody>(.*?)</tbody>", page, flags=re.S).group(1)
    link = re.search(r'<a class="notice" href="([^"]+)" data-after-sale>([^<]+)</a>', row)
    assert link.groups() == (f"/console/after-sales/{sale.id}", "售后待处理 ¥5.00")
    assert "¥5.00" in await get(link.group(1))

    # Fewer than four characters is no handle: nothing found, no scan of every order.
    assert "找到 0 个订单" in await get(f"/admin/orders?q={tail[-3:]}")
    # An order without an after-sale shows none.
    assert "data-after-sale" not in await get(f"/admin/orders?q={other.out_trade_no}")
