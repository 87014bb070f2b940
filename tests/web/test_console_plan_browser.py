"""The leader's planning pages in headless Chromium, through their forms: a campaign made,
edited, paused, resumed and closed (asked once more first); a one-off activity put on the
calendar, moved, cancelled.
Each page, after each step: nothing broken, nothing scrolls sideways at 375 px, every field
labelled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser

from models.activity import Activity
from models.chat import ChatIdentity
from models.groupbuy import Campaign
from models.user import User
from qunshop.chat import Platform
from qunshop.clock import FrozenClock
from tests.support.factories import make_community, make_sku
from tests.web import browser
from tests.web.test_consoles_browser import _check, _login

pytestmark = browser.NEEDED

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIELD = "%Y-%m-%dT%H:%M"  # a datetime-local field's value


@pytest.fixture
def clock() -> FrozenClock:
    """Now, to the minute: the session cookie's expiry is read by the browser's own clock."""
    return FrozenClock(datetime.now(tz=UTC).replace(second=0, microsecond=0))


async def _leader(chromium: Browser, client: TestClient) -> tuple[browser.Watched, object]:
    community = await make_community(name="幸福里社区")
    leader = await User.get(id=community.leader_id)
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id="liu", user=leader)
    return await _login(chromium, client, "liu"), community


async def _submit(watched: browser.Watched, button) -> str:
    """Press a form's button, wait for the page it lands on, return its note."""
    async with watched.page.expect_navigation():
        await button.click()
    await watched.page.wait_for_load_state("load")
    return await watched.page.inner_text("[role=status]")


async def test_a_leader_runs_a_campaign_through_the_forms(
    chromium: Browser, web_client: TestClient, clock: FrozenClock
) -> None:
    watched, community = await _leader(chromium, web_client)
    await make_sku(community, stock=20)
    page = watched.page
    await page.click("nav >> text=拼团活动")
    assert "还没有拼团活动" in await page.inner_text("main")
    await _check(watched)

    ends = (clock.now() + timedelta(days=3)).astimezone(SHANGHAI)
    await page.fill("#new-title", "周末橙子团")
    await page.fill("#price", "19.90")
    await page.fill("#size", "3")
    await page.fill("#stock", "10")
    await page.fill("#ends", ends.strftime(FIELD))
    note = await _submit(watched, page.locator("button:has-text('创建')"))
    assert note == "已创建：周末橙子团"
    campaign = await Campaign.get(title="周末橙子团")
    assert (campaign.group_price, campaign.team_size, campaign.stock_cap) == (1990, 3, 10)
    assert campaign.ends_at == ends.replace(second=0, microsecond=0)
    card = page.locator(f'article[data-campaign="{campaign.id}"]')
    assert "进行中" in await card.inner_text()
    await _check(watched)

    await card.get_by_label("标题").fill("周末脐橙团")
    await card.get_by_label("每人限购").fill("2")
    assert await _submit(watched, card.locator("button:has-text('保存')")) == "已保存：周末脐橙团"
    edited = await Campaign.get(id=campaign.id)
    assert (edited.title, edited.per_user_limit) == ("周末脐橙团", 2)
    await _check(watched)

    assert await _submit(watched, card.locator("button:has-text('暂停')")) == "已暂停：周末脐橙团"
    assert "已暂停" in await card.locator(".badge").inner_text()
    assert (await Campaign.get(id=campaign.id)).paused_at == clock.now()
    await _check(watched)
    assert await _submit(watched, card.locator("button:has-text('恢复')")) == "已恢复：周末脐橙团"
    assert "进行中" in await card.locator(".badge").inner_text()
    assert (await Campaign.get(id=campaign.id)).paused_at is None

    # Ending cannot be undone: the button asks on a page of its own, which goes back...
    async with page.expect_navigation():
        await card.locator("button:has-text('立即结束')").click()
    asked = page.locator("[data-confirm]")
    assert "立即结束「周末脐橙团」？" in await asked.locator("h1").inner_text()
    assert "不能恢复" in await asked.inner_text()
    await _check(watched)
    async with page.expect_navigation():
        await asked.locator("text=不了，返回").click()
    assert page.url.endswith("/console/campaigns")
    assert "进行中" in await card.locator(".badge").inner_text()
    assert (await Campaign.get(id=campaign.id)).ends_at > clock.now()
    # ...or ends it.
    async with page.expect_navigation():
        await card.locator("button:has-text('立即结束')").click()
    note = await _submit(watched, page.locator("[data-confirm] button:has-text('确认结束')"))
    assert note == "已结束：周末脐橙团"
    assert "已结束" in await card.locator(".badge").inner_text()
    assert await card.locator("form").count() == 0  # nothing left to change on a closed one
    assert (await Campaign.get(id=campaign.id)).ends_at == clock.now()
    await _check(watched)


async def test_a_leader_plans_next_week_on_the_calendar(
    chromium: Browser, web_client: TestClient, clock: FrozenClock
) -> None:
    watched, community = await _leader(chromium, web_client)
    page = watched.page
    await page.click("nav >> text=日程")
    assert "幸福里社区" in await page.inner_text("main")
    await _check(watched)

    today = clock.now().astimezone(SHANGHAI).date()
    next_monday = today + timedelta(days=7 - today.weekday())
    wednesday = datetime.combine(next_monday + timedelta(days=2), datetime.min.time(), SHANGHAI)
    await page.select_option("#kind", "announcement")
    await page.fill("#plan-title", "周三到货提醒")
    await page.fill("#plan-text", "周三下午到货，请及时提货")
    await page.fill("#plan-at", (wednesday + timedelta(hours=15)).strftime(FIELD))
    await page.select_option("#repeat", "once")
    assert await _submit(watched, page.locator("button:has-text('安排')")) == "已安排"
    once = await Activity.get(title="周三到货提醒")
    assert once.next_run_at == wednesday + timedelta(hours=15) and once.cron is None
    # the page lands on the week the activity falls in, next week, not this one
    assert next_monday.strftime("%m-%d") in await page.inner_text("h1")
    slot = page.locator(f'[data-activity="{once.id}"]')
    assert "15:00 周三到货提醒" in await slot.inner_text()
    assert "周三" in await page.locator("section.day", has=slot).locator("h2").inner_text()
    await _check(watched)

    friday = wednesday + timedelta(days=2, hours=9, minutes=30)
    await slot.get_by_label("改到").fill(friday.strftime(FIELD))
    assert await _submit(watched, slot.locator("button:has-text('改期')")) == "已改期"
    assert (await Activity.get(id=once.id)).next_run_at == friday
    slot = page.locator(f'[data-activity="{once.id}"]')
    assert "09:30 周三到货提醒" in await slot.inner_text()
    assert "周五" in await page.locator("section.day", has=slot).locator("h2").inner_text()
    await _check(watched)

    assert await _submit(watched, slot.get_by_label("取消 周三到货提醒")) == "已取消"
    assert not (await Activity.get(id=once.id)).active
    assert next_monday.strftime("%m-%d") in await page.inner_text("h1")  # still that week
    assert "周三到货提醒" not in await page.inner_text("main")
    await _check(watched)

    await page.click("text=上一周")  # back to this week, by the page's own link
    await page.wait_for_load_state("load")
    assert (next_monday - timedelta(days=7)).strftime("%m-%d") in await page.inner_text("h1")
    await _check(watched)


async def test_a_wrong_form_goes_back_to_what_was_typed(
    chromium: Browser, web_client: TestClient, clock: FrozenClock
) -> None:
    """The error page's 返回上一页 returns to the form as it was filled (history), not to a
    blank copy of it: a leader fixes the one wrong field instead of typing all again."""
    watched, community = await _leader(chromium, web_client)
    await make_sku(community, stock=20)
    page = watched.page
    await page.click("nav >> text=拼团活动")
    ends = (clock.now() + timedelta(days=3)).astimezone(SHANGHAI)
    await page.fill("#new-title", "周末橙子团")
    await page.fill("#price", "十九块九")  # not an amount
    await page.fill("#stock", "10")
    await page.fill("#ends", ends.strftime(FIELD))
    async with page.expect_navigation():
        await page.click("button:has-text('创建')")
    assert "拼团价" in await page.inner_text("[role=alert]")
    async with page.expect_navigation():
        await page.click("text=返回上一页")
    await page.wait_for_load_state("load")
    assert page.url.endswith("/console/campaigns")
    assert await page.input_value("#new-title") == "周末橙子团"
    assert await page.input_value("#price") == "十九块九"
    assert await page.input_value("#stock") == "10"
    assert await Campaign.all().count() == 0
    watched.problems = [p for p in watched.problems if "status of 400" not in p]
    await _check(watched)


async def test_every_field_is_a_full_size_touch_target(
    chromium: Browser, web_client: TestClient, clock: FrozenClock
) -> None:
    """Each field of the leader's form pages is as tall as a finger and has 16 px text (a
    smaller one makes the phone zoom in): the cut-off's time field was a tiny unstyled one."""
    watched, community = await _leader(chromium, web_client)
    await make_sku(community, stock=20)
    page = watched.page
    for name in ("截单时间", "日程", "拼团活动"):
        await page.click(f"nav >> text={name}")
        await page.wait_for_load_state("load")
        small = await page.evaluate(
            """() => [...document.querySelectorAll('main input, main select, main textarea')]
                 .filter(e => !['hidden', 'checkbox', 'submit'].includes(e.type))
                 .filter(e => e.getBoundingClientRect().height < 40
                              || parseFloat(getComputedStyle(e).fontSize) < 16)
                 .map(e => e.name)"""
        )
        assert small == [], name
    await _check(watched)
