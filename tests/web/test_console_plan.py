"""The leader plans from the console: campaigns (create, edit, pause, resume, close) and the
calendar of scheduled activities (create, move, cancel)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient

from models.activity import Activity, ActivityKind
from models.chat import ChatIdentity
from models.groupbuy import Campaign
from models.user import Role, User
from qunshop.chat import Platform
from qunshop.clock import FrozenClock
from services import activities
from services.auth import Principal
from services.flashsale import FlashSpec
from tests.support.factories import make_community, make_sku
from tests.web.test_console import _login, _say
from web.labels import ACTIVITY_KINDS

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))  # a Monday, 10:00 in Shanghai


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def _leader(client: TestClient) -> tuple[str, object]:
    community = await make_community(name="幸福里社区")
    leader = await User.get(id=community.leader_id)
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id="liu", user=leader)
    link = re.search(r"http\S+/console/login\?token=\S+", await _say(client, "后台", "liu"))
    return await _login(client, link.group(0)), community


async def _post(client: TestClient, cookies: str, page: str, path: str, **data: str) -> str:
    html = await (await client.get(page, headers={"Cookie": cookies})).text()
    done = await client.post(
        path, data={"csrf_token": _csrf(html), **data}, headers={"Cookie": cookies}
    )
    assert done.status == 200, await done.text()
    return await done.text()


async def test_a_leader_runs_a_campaign_from_the_console(
    web_client: TestClient, clock: FrozenClock
) -> None:
    cookies, community = await _leader(web_client)
    sku = await make_sku(community, stock=20)
    page = "/console/campaigns"
    html = await _post(
        web_client,
        cookies,
        page,
        page,
        community_id=str(community.id),
        sku_id=str(sku.id),
        title="周末橙子团",
        group_price="19.90",
        team_size="3",
        stock_cap="10",
        starts_at="2026-03-02T10:00",
        ends_at="2026-03-05T20:00",
    )
    assert "已创建：周末橙子团" in html and "进行中" in html
    campaign = await Campaign.get(title="周末橙子团")
    assert (campaign.group_price, campaign.stock_cap) == (1990, 10)
    assert campaign.ends_at == datetime(2026, 3, 5, 20, 0, tzinfo=SHANGHAI)
    # Each entry links to the campaign's own page, the one shoppers are sent to.
    link = f'href="/h5/campaigns/{campaign.id}"'
    assert link in html
    shown = await web_client.get(f"/h5/campaigns/{campaign.id}")
    assert shown.status == 200 and "周末橙子团" in await shown.text()
    base = f"/console/campaigns/{campaign.id}"
    html = await _post(
        web_client, cookies, page, f"{base}/edit", title="周末脐橙团", per_user_limit="2"
    )
    assert "已保存：周末脐橙团" in html
    html = await _post(web_client, cookies, page, f"{base}/pause")
    assert "已暂停" in html and "恢复" in html
    assert (await Campaign.get(id=campaign.id)).paused_at == clock.now()
    html = await _post(web_client, cookies, page, f"{base}/resume")
    assert "已恢复" in html and (await Campaign.get(id=campaign.id)).paused_at is None
    html = await _post(web_client, cookies, page, f"{base}/close")  # asked first: not ended
    assert "立即结束「周末脐橙团」？" in html and 'name="confirm" value="yes"' in html
    assert f'action="{base}/close"' in html and 'href="/console/campaigns"' in html
    assert (await Campaign.get(id=campaign.id)).ends_at > clock.now()
    html = await _post(web_client, cookies, page, f"{base}/close", confirm="yes")
    assert "已结束：周末脐橙团" in html
    assert (await Campaign.get(id=campaign.id)).ends_at == clock.now()
    refused = await web_client.post(
        f"{base}/pause", data={"csrf_token": _csrf(html)}, headers={"Cookie": cookies}
    )
    assert refused.status == 409 and "text/html" in refused.headers["Content-Type"]


async def test_a_group_price_above_the_list_price_is_refused_on_the_console(
    web_client: TestClient,
) -> None:
    cookies, community = await _leader(web_client)
    sku = await make_sku(community, price=3580, stock=20)  # 散养土鸡蛋 ¥35.80
    page = "/console/campaigns"
    html = await (await web_client.get(page, headers={"Cookie": cookies})).text()
    form = {
        "csrf_token": _csrf(html),
        "community_id": str(community.id),
        "sku_id": str(sku.id),
        "title": "土鸡蛋团",
        "group_price": "99",
        "team_size": "3",
        "stock_cap": "10",
        "starts_at": "2026-03-02T10:00",
        "ends_at": "2026-03-05T20:00",
    }
    refused = await web_client.post(page, data=form, headers={"Cookie": cookies})
    text = await refused.text()
    assert refused.status == 422 and "text/html" in refused.headers["Content-Type"]
    assert "活动价不能高于商品原价" in text and "拼团价：不能高于商品原价" in text
    assert await Campaign.filter(sku_id=sku.id).count() == 0


async def test_a_leader_plans_the_week_on_the_calendar(
    web_client: TestClient, clock: FrozenClock
) -> None:
    cookies, community = await _leader(web_client)
    page = "/console/calendar"
    html = await _post(
        web_client,
        cookies,
        page,
        page,
        community_id=str(community.id),
        kind="announcement",
        title="周三到货提醒",
        text="周三下午到货，请及时提货",
        at="2026-03-04T15:00",
        repeat="once",
    )
    assert "已安排" in html and "周三到货提醒" in html and "15:00" in html
    await _post(
        web_client,
        cookies,
        page,
        page,
        community_id=str(community.id),
        kind="checkin",
        title="每日签到",
        at="2026-03-02T20:00",
        repeat="daily",
    )
    html = await (await web_client.get(page, headers={"Cookie": cookies})).text()
    daily = await Activity.get(title="每日签到")
    assert html.count(f'data-activity="{daily.id}"') == 7  # 20:00 on each day of the week
    once = await Activity.get(title="周三到货提醒")
    html = await _post(
        web_client,
        cookies,
        page,
        "/console/calendar/move",
        community_id=str(community.id),
        activity_id=str(once.id),
        at="2026-03-06T09:30",
    )
    assert "已改期" in html
    moved = await Activity.get(id=once.id)
    assert moved.next_run_at == datetime(2026, 3, 6, 9, 30, tzinfo=SHANGHAI)
    html = await _post(
        web_client,
        cookies,
        page,
        "/console/calendar/cancel",
        community_id=str(community.id),
        activity_id=str(once.id),
    )
    assert "已取消" in html and "周三到货提醒" not in html
    assert not (await Activity.get(id=once.id)).active
    nxt = (clock.now() + timedelta(days=7)).date().isoformat()
    later = await web_client.get(f"{page}?week={nxt}", headers={"Cookie": cookies})
    assert later.status == 200 and "03-09" in await later.text()


def test_every_kind_a_leader_can_schedule_has_its_words() -> None:
    """The calendar names whatever the chat and the API scheduled: a kind added to the
    model without words here would show its code (flash_sale) to the leader."""
    assert set(ACTIVITY_KINDS) == {kind.value for kind in ActivityKind}
    assert all(words and words.isprintable() for words in ACTIVITY_KINDS.values())


async def test_the_calendar_words_what_the_chat_and_the_api_scheduled(
    web_client: TestClient, clock: FrozenClock
) -> None:
    """A flash sale and the weekly statement, which the console's form does not offer,
    show in Chinese on the calendar, never as their codes."""
    cookies, community = await _leader(web_client)
    leader = Principal(user_id=community.leader_id, role=Role.LEADER)
    sku = await make_sku(community)
    at = datetime(2026, 3, 4, 19, 55, tzinfo=SHANGHAI)
    drafts = [
        activities.Draft(
            kind=ActivityKind.FLASH_SALE,
            run_at=at,
            flash=FlashSpec(sku_id=str(sku.id), price=990, stock=5),
        ),
        activities.Draft(kind=ActivityKind.EARNINGS_STATEMENT, cron="0 9 * * 3"),
    ]
    for draft in drafts:
        await activities.create_activity(
            principal=leader, community_id=community.id, draft=draft, now=clock.now()
        )
    html = await (await web_client.get("/console/calendar", headers={"Cookie": cookies})).text()
    assert "<strong>19:55</strong> 秒杀" in html and "<strong>09:00</strong> 收益周报" in html
    assert "flash_sale" not in html and "earnings_statement" not in html
    # The form offers only what it can schedule, in the same words.
    assert '<option value="announcement">群公告</option>' in html
    assert '<option value="flash_sale">' not in html
