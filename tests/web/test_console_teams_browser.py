"""A campaign's teams page in headless Chromium at a phone's width: reached from the
campaign list, nothing scrolls sideways, nothing reported wrong."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser

from models.chat import ChatIdentity
from models.user import User
from qunshop.chat import Platform
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from tests.support.factories import make_campaign, make_community
from tests.support.fake_wechat import FakeWeChat
from tests.web import browser
from tests.web.test_console_teams import _two_teams
from tests.web.test_consoles_browser import _check, _login

pytestmark = browser.NEEDED


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(tz=UTC))  # the session cookie's expiry is the browser's


async def test_the_teams_page_fits_a_phone(
    chromium: Browser,
    web_client: TestClient,
    settings: Settings,
    wechat: FakeWeChat,
    clock: FrozenClock,
) -> None:
    community = await make_community(name="幸福里社区")
    leader = await User.get(id=community.leader_id)
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id="liu", user=leader)
    campaign = await make_campaign(community, team_size=3, now=clock.now())
    full, waiting, _ = await _two_teams(campaign, settings, wechat, clock)

    watched = await _login(chromium, web_client, "liu")
    await watched.page.goto(str(web_client.make_url("/console/campaigns")))
    await watched.page.click("text=查看团和订单")
    await watched.page.wait_for_load_state("load")
    assert watched.page.url.endswith(f"/console/campaigns/{campaign.id}/teams")
    assert await watched.page.locator("article[data-team]").count() == 2
    assert "还差 1 人" in await watched.page.inner_text(f'article[data-team="{waiting}"]')
    await watched.screenshot("console-teams")
    await _check(watched)
