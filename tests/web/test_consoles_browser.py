"""Both consoles in headless Chromium, as their people use them: the leader from the chat's
login link to a verified pickup and the chart that counts it; the operator from the link to
a role granted, a leader's application approved, a parked refund retried and the audit
entries that say so."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser

from models.activity import ActivityKind
from models.chat import ChatIdentity
from models.community import Community
from models.order import Order, OrderStatus
from models.outbox import OutboxMessage, OutboxStatus
from models.supply import Supplier
from models.user import ApplicationStatus, LeaderApplication, Role, User
from qunshop.chat import Platform
from qunshop.clock import FrozenClock
from services import activities, pickup
from services.flashsale import FlashSpec
from tests.support.factories import auth, make_community, make_sku, make_user
from tests.support.growth import paid_order, principal_of
from tests.web import browser
from tests.web.admin_world import operator, parked_refund
from tests.web.test_console import _say

pytestmark = browser.NEEDED


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(tz=UTC))


async def _login(chromium: Browser, client: TestClient, chat_id: str) -> browser.Watched:
    reply = await _say(client, "后台", chat_id)
    link = re.search(r"http\S+/console/login\?token=\S+", reply).group(0)
    watched = await browser.open_page(chromium)
    await watched.page.goto(str(client.make_url(link.split("8080", 1)[1])))
    await watched.page.click("text=进入后台")
    await watched.page.wait_for_load_state("load")
    return watched


async def _check(watched: browser.Watched) -> None:
    assert watched.problems == []
    assert await watched.fits_phone()
    assert await watched.unlabelled_fields() == []


async def _bar_total(watched: browser.Watched, series: str) -> int:
    values = await watched.page.eval_on_selector_all(
        f'figure[data-community] rect[data-series="{series}"]',
        "bars => bars.map(b => Number(b.dataset.value))",
    )
    assert len(values) == 7
    return sum(values)


async def _keep(watched: browser.Watched, name: str) -> None:
    """The full page (a CI artefact), and the first phone screen at 1x: docs/console-*.png
    in the README are these, copied by hand when the consoles change."""
    await watched.screenshot(name)
    await watched.page.set_viewport_size({"width": 375, "height": 800})
    small = browser.SCREENSHOTS / f"{name}-375.png"
    await watched.page.screenshot(path=str(small), scale="css")
    assert small.stat().st_size < 300_000


async def test_the_leaders_console_journey(
    chromium: Browser, web_client: TestClient, settings, wechat
) -> None:
    community = await make_community(name="幸福里社区")
    leader = await User.get(id=community.leader_id)
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id="liu", user=leader)
    watched = await _login(chromium, web_client, "liu")
    assert watched.page.url.endswith("/console")
    assert "幸福里社区" in await watched.page.inner_text("main")
    assert await _bar_total(watched, "orders") == 0
    await _check(watched)

    buyer = await make_user(nickname="小李")
    order = await paid_order(settings, wechat, buyer, community)
    await watched.page.click("text=今日提货")
    assert "小李" in await watched.page.inner_text("main")
    await watched.page.click("button:has-text('确认到货')")  # the goods arrive...
    await watched.page.wait_for_load_state("load")
    assert "不能撤回" in await watched.page.inner_text("[data-confirm]")  # ...asked once more
    await _check(watched)
    await watched.page.click("[data-confirm] button:has-text('确认到货，通知买家')")
    await watched.page.wait_for_load_state("load")
    assert "1 份订单可以提货了" in await watched.page.inner_text("[role=status]")
    assert (await Order.get(id=order.id)).status is OrderStatus.READY_FOR_PICKUP
    ticket = await pickup.ticket(principal=principal_of(buyer), order_id=str(order.id))
    await watched.page.fill("#code", ticket.code)
    await watched.page.click("button:has-text('核销')")
    await watched.page.wait_for_load_state("load")
    assert "已核销：小李" in await watched.page.inner_text("[role=status]")
    assert (await Order.get(id=order.id)).status is OrderStatus.PICKED_UP
    await _check(watched)
    async with watched.page.expect_download() as download:
        await watched.page.click("text=导出提货单（CSV）")
    csv_path = await (await download.value).path()
    assert "小李" in Path(csv_path).read_text(encoding="utf-8-sig")

    await watched.page.click("nav >> text=我的社区")
    assert await _bar_total(watched, "orders") == 1  # the chart counts the paid order
    assert await _bar_total(watched, "gmv") == order.amount
    await _check(watched)
    await _keep(watched, "console-leader")
    await watched.page.click("nav >> text=收益")
    assert "可提现" in await watched.page.inner_text("main")
    await _check(watched)


async def test_the_operators_console_journey(
    chromium: Browser, web_client: TestClient, web_app, settings, wechat, clock: FrozenClock
) -> None:
    await operator("ops")
    message = await parked_refund(web_app, settings, wechat, clock.now())
    hopeful = await make_user(nickname="刘阿姨")
    applicant = await make_user(nickname="王大姐")
    watched = await _login(chromium, web_client, "ops")
    assert watched.page.url.endswith("/admin")
    assert "1 条消息或退款重试失败，待处理" in await watched.page.inner_text("main")
    await _check(watched)

    await watched.page.click("nav >> text=用户与角色")
    await watched.page.fill("#q", "刘阿姨")
    await watched.page.click("button:has-text('查找')")
    row = watched.page.locator(f'tr[data-user="{hopeful.id}"]')
    await row.locator("select").select_option("leader")
    await row.locator("button:has-text('保存')").click()
    await watched.page.wait_for_load_state("load")
    assert "刘阿姨 现在是团长" in await watched.page.inner_text("[role=status]")
    assert (await User.get(id=hopeful.id)).role is Role.LEADER
    await _check(watched)

    applied = await web_client.post(  # a person applies to lead, from the mini-program
        "/api/v1/me/leader/application",
        json={
            "community_name": "阳光花园社区团",
            "pickup_name": "南门便利店",
            "pickup_address": "阳光花园 3 号楼南门",
            "pickup_hours": "09:00-21:00",
            "note": "小区 600 户，已有业主群",
        },
        headers=auth(applicant, settings),
    )
    assert applied.status == 201, await applied.text()
    await watched.page.click("nav >> text=团长申请")
    application = watched.page.locator(
        f'article[data-application="{(await applied.json())["id"]}"]'
    )
    assert "王大姐" in await application.inner_text()
    assert "南门便利店" in await application.inner_text()
    await _check(watched)
    await application.get_by_role("button", name="批准 阳光花园社区团").click()
    await watched.page.wait_for_load_state("load")
    assert "已批准：阳光花园社区团" in await watched.page.inner_text("[role=status]")
    assert await application.count() == 0  # no longer pending
    decided = await LeaderApplication.get(user_id=applicant.id)
    assert decided.status is ApplicationStatus.APPROVED
    assert (await User.get(id=applicant.id)).role is Role.LEADER
    assert (await Community.get(id=decided.community_id)).leader_id == applicant.id
    await watched.page.select_option("#status", "approved")
    await watched.page.click("button:has-text('查看')")
    await watched.page.wait_for_load_state("load")
    assert "阳光花园社区团" in await watched.page.inner_text("main")
    await _check(watched)

    await watched.page.click("nav >> text=待处理")
    assert "MCHID_NOT_EXIST" in await watched.page.inner_text("main")
    await watched.page.click("button:has-text('重试')")
    await watched.page.wait_for_load_state("load")
    assert "已重新发送" in await watched.page.inner_text("[role=status]")
    assert (await OutboxMessage.get(id=message.id)).status is OutboxStatus.PENDING
    await _check(watched)

    await watched.page.click("nav >> text=概览")
    recent = await watched.page.inner_text("main")
    assert "改角色" in recent and "重发消息" in recent and "运营小张" in recent
    assert "批准团长" in recent
    await _check(watched)
    target = f"leader_application:{decided.id}"
    await watched.page.click(f'a[href="/admin/audit?target={target.replace(":", "%3A")}"]')
    await watched.page.wait_for_load_state("load")
    assert "审计日志 · 团长申请 阳光花园社区团" in await watched.page.inner_text("h1")
    entry = await watched.page.inner_text("tr.audit")  # the one change to that application
    assert "批准团长" in entry and "运营小张" in entry
    assert "状态：待处理" in entry and "状态：已同意" in entry and "社区：" in entry
    await _check(watched)
    await watched.page.click("nav >> text=概览")
    await _keep(watched, "console-admin")


async def test_what_a_leader_and_an_operator_read_is_words_not_codes(
    chromium: Browser, web_client: TestClient, clock: FrozenClock
) -> None:
    """At a phone's width: the home's group table names the bound group by the community's
    name, the calendar says 秒杀 (scheduled in the chat), a link's ?note= puts nothing in the
    banner, and the operator's overview links a waiting supplier application."""
    community = await make_community(name="幸福里社区")
    leader = await User.get(id=community.leader_id)
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id="liu", user=leader)
    sku = await make_sku(community)
    await activities.create_activity(
        principal=principal_of(leader),
        community_id=community.id,
        draft=activities.Draft(
            kind=ActivityKind.FLASH_SALE,
            run_at=clock.now() + timedelta(hours=1),
            flash=FlashSpec(sku_id=str(sku.id), price=990, stock=5),
        ),
        now=clock.now(),
    )
    watched = await _login(chromium, web_client, "liu")
    page = watched.page
    await watched.page.set_viewport_size({"width": 375, "height": 800})
    assert await page.locator('td[data-label="群"]', has_text="幸福里社区").is_visible()
    assert community.chat_id[:10] not in await page.inner_text("main")
    await page.click("nav >> text=日程")
    await page.wait_for_load_state("load")
    assert "秒杀" in await page.inner_text("main") and "flash_sale" not in await page.content()
    await _check(watched)
    await page.goto(
        str(web_client.make_url("/console/pickups?note=系统升级，请把提货码发到xxx微信"))
    )
    assert await page.locator("[role=status]").count() == 0
    assert "系统升级" not in await page.inner_text("main")

    await operator("ops")
    await Supplier.create(
        name="果园", contact_name="王", contact_phone="13800000000",
        business_licence="91110000000000000X",
    )  # fmt: skip
    ops = await _login(chromium, web_client, "ops")
    await ops.page.set_viewport_size({"width": 375, "height": 800})
    await ops.page.click("text=1 个供应商申请待审核")
    await ops.page.wait_for_load_state("load")
    assert ops.page.url.endswith("/admin/suppliers") and "果园" in await ops.page.inner_text("main")
    await _check(ops)
