"""The operator's order search at 375 px: a found order's row (its 30-character order number)
stays inside its card, so the refund columns are read without scrolling sideways."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser

from models.user import User
from qunshop.clock import FrozenClock
from tests.support.factories import make_community
from tests.support.growth import paid_order
from tests.web import browser
from tests.web.admin_world import operator
from tests.web.test_consoles_browser import _check, _login

pytestmark = browser.NEEDED


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(tz=UTC))


async def test_a_found_order_fits_a_phone(
    chromium: Browser, web_client: TestClient, settings, wechat, clock: FrozenClock
) -> None:
    await operator("ops")
    buyer = await User.create(openid="o-buyer", nickname="")
    order = await paid_order(settings, wechat, buyer, await make_community(name="幸福里社区"))
    watched = await _login(chromium, web_client, "ops")
    await watched.page.set_viewport_size({"width": 375, "height": 800})
    await watched.page.goto(str(web_client.make_url(f"/admin/orders?q={order.out_trade_no}")))
    assert "找到 1 个订单" in await watched.page.inner_text("main")
    await _check(watched)
    overflow = await watched.page.evaluate(
        """() => [...document.querySelectorAll('table')].map(t =>
             t.getBoundingClientRect().right - t.closest('.card').getBoundingClientRect().right)"""
    )
    assert overflow and max(overflow) <= 0
