"""The after-sales console in headless Chromium, walked as a leader and as an operator, at a
phone's width and a desk's: from the list to a request's page, a decision, and back."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Route

from models.aftersale import AfterSale, AfterSaleStatus
from models.chat import ChatIdentity
from models.user import User
from qunshop.chat import Platform
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from tests.support.factories import auth, make_community
from tests.support.fake_wechat import FakeWeChat
from tests.web import browser
from tests.web.admin_world import operator
from tests.web.test_after_sales_board import asked_through_the_api
from tests.web.test_consoles_browser import _check, _login

pytestmark = browser.NEEDED

DESK = {"width": 1280, "height": 900}
PIXEL = base64.b64decode(  # a 1x1 PNG: the buyer's photo, served without the network
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(tz=UTC))  # the session cookie's expiry is the browser's


async def _photo(route: Route) -> None:
    await route.fulfill(status=200, content_type="image/png", body=PIXEL)


async def test_a_leader_and_an_operator_decide_in_the_browser(
    chromium: Browser,
    web_client: TestClient,
    settings: Settings,
    wechat: FakeWeChat,
    clock: FrozenClock,
) -> None:
    community = await make_community(name="幸福里社区")
    order, first = await asked_through_the_api(web_client, settings, wechat, clock, community)
    await ChatIdentity.create(  # the leader, in the WeCom group as liu
        platform=Platform.WECOM_BOT.value, external_id="liu", user_id=community.leader_id
    )

    watched = await _login(chromium, web_client, "liu")
    page = watched.page
    await page.route("https://img.example.com/**", _photo)
    await page.goto(str(web_client.make_url("/console/after-sales")))
    card = await page.inner_text(f'article[data-after-sale="{first["id"]}"]')
    assert "小王 · 企业微信 wang-xiao" in card and "不处理将自动同意并退款" in card
    await watched.screenshot("after-sales-leader-list-375")
    await _check(watched)
    await page.click("text=查看详情")
    await page.wait_for_load_state("load")
    assert page.url.endswith(f"/console/after-sales/{first['id']}")
    await watched.screenshot("after-sales-leader-request-375")
    await _check(watched)
    await page.fill(f"#reason-{first['id']}", "照片里的草莓是好的")
    await page.click('form[action="/console/after-sales/reject"] button')
    await page.wait_for_load_state("load")
    assert "买家会马上看到拒绝" in await page.inner_text("[data-confirm]")  # asked once more
    await watched.screenshot("after-sales-leader-reject-confirm-375")
    await _check(watched)
    await page.click("[data-confirm] button:has-text('确认拒绝')")
    await page.wait_for_load_state("load")
    told = await page.inner_text("main")
    assert "已拒绝，买家会看到你写的原因" in told and "已拒绝 · " in told
    await watched.screenshot("after-sales-leader-rejected-375")
    await _check(watched)
    await page.set_viewport_size(DESK)
    await page.click("text=← 返回售后列表")
    await page.wait_for_load_state("load")
    assert "待处理的售后（0）" in await page.inner_text("main")
    await watched.screenshot("after-sales-leader-list-desk")
    assert watched.problems == []

    # The buyer asks again; the operator, from their console, approves it.
    again = await web_client.post(
        f"/api/v1/orders/{order.id}/after-sales",
        json={"kind": "refund_only", "reason": "missing", "detail": "少了一盒"},
        headers=auth(await User.get(id=order.user_id), settings, clock.now()),
    )
    assert again.status == 201, await again.text()
    second = await again.json()
    await operator()
    ops = await _login(chromium, web_client, "ops")
    await ops.page.route("https://img.example.com/**", _photo)
    await ops.page.click("nav >> text=售后")
    await ops.page.wait_for_load_state("load")
    waiting = await ops.page.inner_text(f'article[data-after-sale="{second["id"]}"]')
    assert "仅退款 ¥39.80 · 少件/缺货" in waiting and "小王 · 企业微信 wang-xiao" in waiting
    assert "原因：照片里的草莓是好的" in await ops.page.inner_text("main")
    await ops.screenshot("after-sales-operator-list-375")
    await _check(ops)
    await ops.page.set_viewport_size(DESK)
    await ops.page.click(f'a[href="/console/after-sales/{second["id"]}"]')
    await ops.page.wait_for_load_state("load")
    await ops.page.click('form[action="/console/after-sales/approve"] button')
    await ops.page.wait_for_load_state("load")
    asked = await ops.page.inner_text("[data-confirm]")
    assert "同意退款 ¥39.80 给小王？" in asked and "不能撤回" in asked
    assert (await AfterSale.get(id=second["id"])).status is AfterSaleStatus.PENDING
    await ops.page.click("[data-confirm] button:has-text('确认同意退款')")
    await ops.page.wait_for_load_state("load")
    told = await ops.page.inner_text("main")
    assert "已同意，¥39.80 将原路退回买家的微信" in told and "退款待发起" in told
    assert "退款中" in told  # all that was left: the order ends
    await ops.screenshot("after-sales-operator-approved-desk")
    assert ops.problems == []
