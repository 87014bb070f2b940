"""The operators' campaign list at 375 px: each campaign reads as a block of named cells, not
as seven columns a character wide (the title and the community stood one character a line)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from playwright.async_api import Browser

from qunshop.clock import FrozenClock
from tests.web import browser
from tests.web.admin_world import operator
from tests.web.test_admin_campaigns import five_campaigns
from tests.web.test_consoles_browser import _check, _login

pytestmark = browser.NEEDED


async def test_the_campaign_list_reads_on_a_phone(
    chromium: Browser, web_client: TestClient, settings, wechat, clock: FrozenClock
) -> None:
    await operator("ops")
    made = await five_campaigns(settings, wechat, clock)
    watched = await _login(chromium, web_client, "ops")
    await watched.page.click("nav >> text=拼团活动")
    await watched.page.wait_for_load_state("load")
    row = watched.page.locator(f'tr[data-campaign="{made["苹果"].id}"]')
    title = row.locator("td").first
    named = await title.evaluate("td => getComputedStyle(td, '::before').content")
    assert named == '"活动"' and "苹果拼团" in await title.inner_text()
    box = await title.locator("a").bounding_box()
    assert box["height"] < 30 and box["width"] > 50  # 苹果拼团 on one line, not four
    await _check(watched)
