"""The H5 pages in headless Chromium: each state, at a phone's width, with nothing broken."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser

from models.groupbuy import Campaign
from models.growth import Visit
from qunshop.clock import FrozenClock
from qunshop.keys import FLASH_GATE
from services import share
from tests.web import browser
from tests.web.world import SALE_STATES, TEAM_STATES, link_token, people, sale_in, team_in

pytestmark = browser.NEEDED


@pytest.fixture
def clock() -> FrozenClock:
    """Now: the browser counts down against its own clock."""
    return FrozenClock(datetime.now(tz=UTC))


async def _visit(
    chromium: Browser, client: TestClient, path: str, name: str, *, status: int = 200
) -> browser.Watched:
    watched = await browser.open_page(chromium)
    response = await watched.page.goto(str(client.make_url(path)), wait_until="load")
    assert response is not None and response.status == status
    await watched.page.wait_for_load_state("networkidle")
    await watched.screenshot(name)
    if status == 200:  # an error page is itself a 4xx, which the console reports
        assert watched.problems == []
    assert await watched.fits_phone()
    assert await watched.unlabelled_fields() == []
    return watched


@pytest.mark.parametrize("state", TEAM_STATES)
async def test_team_page_in_chromium(
    chromium: Browser, web_client: TestClient, clock: FrozenClock, state: str
) -> None:
    code, _ = await team_in(state, clock, guaranteed=state == "open")
    watched = await _visit(chromium, web_client, f"/h5/teams/{code}", f"team-{state}")
    page = watched.page
    assert await page.locator(f'.badge[data-state="{state}"]').is_visible()
    assert await page.locator("svg.qr").is_visible()
    if state in ("open", "full"):
        clock_text = page.locator(".clock")
        before = await clock_text.text_content()
        await page.wait_for_timeout(1200)
        after = await clock_text.text_content()
        assert before != after and ":" in (after or "")  # the countdown ticks
    # The page reported its visit (the beacon, under the page's CSP).
    await page.wait_for_timeout(200)
    assert await Visit.filter(source="h5").count() == 1


async def test_campaign_page_in_chromium(
    chromium: Browser, web_client: TestClient, clock: FrozenClock
) -> None:
    code, campaign = await team_in("open", clock)
    await Campaign.filter(id=campaign.id).update(head_price=1790)
    watched = await _visit(chromium, web_client, f"/h5/campaigns/{campaign.id}", "campaign-open")
    # The button a phone sees costs what starting a team charges: the opener's price.
    assert await watched.page.locator("a.btn:has-text('开团 ¥17.90')").is_visible()
    await watched.page.click(f'a[href="/h5/teams/{code}"]')
    await watched.page.wait_for_load_state("load")
    assert watched.page.url.endswith(f"/h5/teams/{code}")
    assert watched.problems == []


@pytest.mark.parametrize("state", SALE_STATES)
async def test_flash_sale_page_in_chromium(
    chromium: Browser, web_client: TestClient, web_app, clock: FrozenClock, state: str
) -> None:
    sale = await sale_in(state, clock, web_app[FLASH_GATE])
    watched = await _visit(chromium, web_client, f"/h5/flash-sales/{sale.id}", f"flash-{state}")
    page = watched.page
    assert await page.locator(f'.badge[data-state="{state}"]').is_visible()
    # A phone sees 立即抢购 only while the sale is open; otherwise why not, greyed out.
    assert await page.locator("a.btn:has-text('立即抢购')").is_visible() is (state == "open")
    if state != "open":
        assert await page.locator(".btn.off").is_visible()


async def test_invite_and_link_pages_in_chromium(
    chromium: Browser, web_client: TestClient, clock: FrozenClock, settings
) -> None:
    (inviter,) = await people(1)
    invite = await share.invite_share(
        user=inviter, community_id=None, settings=settings, now=clock.now()
    )
    watched = await _visit(chromium, web_client, f"/h5/invite?from={invite.code}", "invite")
    assert "王芳邀请你一起拼" in await watched.page.locator("h1").text_content()
    await watched.page.wait_for_timeout(200)
    (visit,) = await Visit.all()
    assert visit.sharer_id == inviter.id  # the invite code rode along with the beacon
    token = await link_token(clock, settings)
    watched = await _visit(chromium, web_client, f"/h5/link?token={token}", "link")
    assert "pages/link/index?token=" in await watched.page.locator(".path").text_content()


async def test_error_page_in_chromium(chromium: Browser, web_client: TestClient) -> None:
    watched = await _visit(chromium, web_client, "/h5/teams/NOPE2345", "error-404", status=404)
    assert "没有找到这个团" in await watched.page.locator("h1").text_content()
    assert all("404" in p for p in watched.problems)  # only the page's own status
