"""Every page of both consoles at 375 px, reached from its navigation as a person would,
with rows as wide as real ones get (a community's Latin name, 30-character order and refund
numbers in the audit log, the stats of a rolled-up day): nothing pushes the page sideways,
wide tables read as one block per row (table.stack), and the browser reports no error."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser

from models.chat import ChatIdentity
from models.user import User
from qunshop.chat import Platform
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from qunshop.keys import CHAT_TEMPLATES, REDIS
from scheduler.jobs import Jobs
from services import audit
from tests.support.factories import make_community
from tests.support.fake_wechat import FakeWeChat
from tests.support.growth import paid_order, principal_of
from tests.web import browser
from tests.web.admin_world import operator
from tests.web.test_consoles_browser import _check, _login

pytestmark = browser.NEEDED

LONG_NAME = "SunshineGardenCommunityGroupBuyChaoyang"
TRADE_NO = "QS202612071137381234567890123"
REFUND_NO = "RF202612071137381234567890123"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(tz=UTC))  # the order below is paid now: its day rolls up


async def _every_page(watched: browser.Watched, client: TestClient, nav: str) -> list[str]:
    """Each page the console's navigation links to, checked at 375 px; the paths seen."""
    links = await watched.page.eval_on_selector_all(
        f'nav[aria-label="{nav}"] a', "links => links.map(a => a.getAttribute('href'))"
    )
    assert len(links) >= 8, links
    for link in links:
        await watched.page.goto(str(client.make_url(link)))
        assert await watched.fits_phone(), (
            link,
            await watched.page.evaluate("document.documentElement.scrollWidth"),
        )
        await _check(watched)
    return links


async def test_every_console_page_fits_a_phone(
    chromium: Browser,
    web_client: TestClient,
    web_app: web.Application,
    settings: Settings,
    wechat: FakeWeChat,
    clock: FrozenClock,
) -> None:
    community = await make_community(name=LONG_NAME)
    leader = await User.get(id=community.leader_id)
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id="liu", user=leader)
    order = await paid_order(settings, wechat, await User.create(openid="o-wide"), community)
    admin = await operator("ops")
    await audit.record(  # a refund's entry as the log keeps one: two long numbers
        actor=principal_of(admin),
        action="refund.retry",
        target=f"order:{TRADE_NO}",
        before={"status": "pending", "out_trade_no": TRADE_NO},
        after={"status": "refunded", "out_refund_no": REFUND_NO, "amount": 2690},
        now=clock.now(),
    )
    jobs = Jobs(settings=settings, templates=web_app[CHAT_TEMPLATES], redis=web_app[REDIS])
    await jobs.roll_up(clock.now())  # the stats pages have their rows

    ops = await _login(chromium, web_client, "ops")
    seen = await _every_page(ops, web_client, "运营后台导航")
    assert {"/admin/audit", "/admin/stats", "/admin/orders"} <= set(seen)
    for path, shows in (
        ("/admin/audit", REFUND_NO),
        ("/admin/stats", LONG_NAME),
        (f"/admin/orders?q={order.out_trade_no}", order.out_trade_no),
    ):
        await ops.page.goto(str(web_client.make_url(path)))
        assert shows in await ops.page.inner_text("main"), path
        assert await ops.fits_phone(), path
        # On a phone the header row gives way to each cell's own name.
        assert await ops.page.locator("table.stack thead").first.is_hidden()
        await ops.screenshot(f"consoles-fit-{re.sub(r'[^a-z]+', '-', path.split('?')[0])}375")
        await _check(ops)

    await ops.page.goto(str(web_client.make_url("/admin/audit")))
    labels = await ops.page.eval_on_selector_all(  # each cell led by its column's name
        "tr.audit td", "cells => cells.map(c => getComputedStyle(c, '::before').content)"
    )
    assert [label.strip('"').strip() for label in labels[:4]] == ["时间", "操作人", "操作", "变更"]

    liu = await _login(chromium, web_client, "liu")
    seen = await _every_page(liu, web_client, "后台导航")
    assert {"/console/stats", "/console/earnings", "/console/batches"} <= set(seen)
    await liu.page.goto(str(web_client.make_url("/console/stats")))
    assert LONG_NAME in await liu.page.inner_text("main")
    await liu.screenshot("consoles-fit-console-stats-375")
