"""A form filled wrongly answers a page that says, in Chinese, which field to fix and how, and
links back to the form (the browser keeps what was typed), never a 500 or English rules."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient

from models.activity import Activity
from models.aftersale import AfterSale, AfterSaleStatus
from models.groupbuy import Campaign
from models.user import User
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from tests.support.aftersale_world import paid_order, refund_asked
from tests.support.factories import make_campaign, make_community, make_sku
from tests.support.fake_wechat import FakeWeChat
from tests.web.test_admin import _admin
from tests.web.test_aftercare_pages import _leader_session
from tests.web.test_console_plan import _csrf, _leader

PAGE = "/console/campaigns"
ENGLISH = re.compile(r"[a-z]{3,} [a-z]{2,}")  # a phrase of English words


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai


async def _create(client: TestClient, **changes: str) -> tuple[int, str]:
    cookies, community = await _leader(client)
    sku = await make_sku(community, stock=20)
    html = await (await client.get(PAGE, headers={"Cookie": cookies})).text()
    form = {
        "csrf_token": _csrf(html),
        "community_id": str(community.id),
        "sku_id": str(sku.id),
        "title": "周末橙子团",
        "group_price": "19.90",
        "team_size": "3",
        "stock_cap": "10",
        "starts_at": "2026-03-02T10:00",
        "ends_at": "2026-03-05T20:00",
        **changes,
    }
    headers = {"Cookie": cookies, "Referer": f"http://{client.host}:{client.port}{PAGE}"}
    answer = await client.post(PAGE, data=form, headers=headers)
    return answer.status, await answer.text()


def _detail(html: str) -> str:
    return re.search(r'role="alert">\s*<h1>[^<]*</h1>\s*<p>([^<]*)</p>', html).group(1)


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"group_price": "-5"}, "拼团价：请填写金额（元），例如 19.90"),
        ({"group_price": ""}, "拼团价：请填写金额（元），例如 19.90"),
        ({"stock_cap": "-1"}, "活动库存：请填写 1 到 1000000 之间的整数"),
        ({"team_size": "0"}, "成团人数：请填写 2 到 50 之间的整数"),
        ({"ends_at": ""}, "结束时间：请选择日期和时间"),
        ({"title": "  "}, "标题：请填写 1 到 128 个字"),
        ({"title": "橙" * 129}, "标题：请填写 1 到 128 个字"),
        ({"ends_at": "2026-03-02T09:00"}, "结束时间：要晚于开始时间"),
        (
            {"starts_at": "2026-02-01T10:00", "ends_at": "2026-02-02T10:00"},
            "结束时间：已经过去了，请选一个将来的时间",
        ),
    ],
)
async def test_a_wrong_campaign_form_says_what_to_fix_and_links_back(
    web_client: TestClient, clock: FrozenClock, changes: dict[str, str], says: str
) -> None:
    status, html = await _create(web_client, **changes)
    assert status in (400, 422), html
    assert _detail(html) == says
    assert not ENGLISH.search(_detail(html))
    assert f'<a href="{PAGE}" data-back>返回上一页</a>' in html
    assert not await Campaign.exists()


async def test_a_shopper_with_a_broken_link_is_told_in_chinese(web_client: TestClient) -> None:
    answer = await web_client.get("/h5/link?token=garbage")
    html = await answer.text()
    assert answer.status == 400
    assert _detail(html) == "关联链接不完整或已损坏，请在聊天中重新获取。"
    assert "返回上一页" not in html  # a shopper came from the chat, not from a form here


@pytest.mark.parametrize(
    ("reason", "says"),
    [
        ("  ", "拒绝原因：请写明为什么拒绝（1 到 500 个字）"),
        ("长" * 501, "拒绝原因：请写明为什么拒绝（1 到 500 个字）"),  # was cut to 500 unseen
    ],
)
async def test_a_rejection_without_a_fit_reason_is_refused_in_chinese(
    web_client: TestClient,
    settings: Settings,
    wechat: FakeWeChat,
    clock: FrozenClock,
    reason: str,
    says: str,
) -> None:
    community = await make_community(name="幸福里社区")
    cookies = await _leader_session(web_client, await User.get(id=community.leader_id))
    order = await paid_order(settings, wechat, now=clock.now(), community=community)
    ask = await refund_asked(order, clock.now(), detail="三个烂了")
    html = await (await web_client.get("/console/after-sales", headers={"Cookie": cookies})).text()
    answer = await web_client.post(
        "/console/after-sales/reject",
        data={"csrf_token": _csrf(html), "after_sale_id": str(ask.id), "reason": reason},
        headers={"Cookie": cookies},
    )
    assert answer.status in (400, 422)
    assert _detail(await answer.text()) == says
    assert (await AfterSale.get(id=ask.id)).status is AfterSaleStatus.PENDING


async def test_a_services_english_detail_is_not_shown_to_a_person(
    web_client: TestClient,
) -> None:
    _, cookies = await _admin(web_client)
    answer = await web_client.get("/admin/users?role=bad", headers={"Cookie": cookies})
    html = await answer.text()
    assert answer.status == 422 and "填写的内容有误。" in html
    assert "no role" not in html  # the service's words for the API


async def test_an_operator_reaches_every_communitys_after_sales_and_comes_back(
    web_client: TestClient,
) -> None:
    """Operators decide what no leader may (a leader's own request): the page is theirs too."""
    _, cookies = await _admin(web_client)
    home = await (await web_client.get("/admin", headers={"Cookie": cookies})).text()
    assert '<a href="/console/after-sales">售后</a>' in home
    page = await web_client.get("/console/after-sales", headers={"Cookie": cookies})
    html = await page.text()
    assert page.status == 200 and '<a href="/admin">运营后台</a>' in html
    nav = re.search(r'<nav class="card" aria-label="后台导航">(.*?)</nav>', html, re.S).group(1)
    for link in re.findall(r'href="([^"]+)"', nav):  # none leads to a leader-only 404
        assert (await web_client.get(link, headers={"Cookie": cookies})).status == 200, link
    leader_cookies, _ = await _leader(web_client)
    mine = await web_client.get("/console/after-sales", headers={"Cookie": leader_cookies})
    assert mine.status == 200 and 'href="/admin"' not in await mine.text()


async def test_what_is_not_found_is_named(web_client: TestClient) -> None:
    """Not a bare 页面不存在: the page names what was looked for."""
    shown = await web_client.get("/h5/products/00000000-0000-0000-0000-000000000000")
    assert shown.status == 404 and "没有找到这个商品，可能已经下架。" in await shown.text()
    cookies, _ = await _leader(web_client)
    html = await (await web_client.get("/console/after-sales", headers={"Cookie": cookies})).text()
    gone = await web_client.post(
        "/console/after-sales/approve",
        data={"csrf_token": _csrf(html), "after_sale_id": "00000000-0000-0000-0000-000000000000"},
        headers={"Cookie": cookies},
    )
    assert gone.status == 404 and "没有找到这个售后申请。" in await gone.text()


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"ends_at": "2026-03-01T10:00"}, "结束时间：已经过去了，请选一个将来的时间"),
        ({"title": "橙" * 129}, "标题：请填写 1 到 128 个字"),
        ({"per_user_limit": "0"}, "每人限购：请填写 1 到 100 之间的整数"),
    ],
)
async def test_a_wrong_campaign_edit_says_what_to_fix(
    web_client: TestClient, clock: FrozenClock, changes: dict[str, str], says: str
) -> None:
    cookies, community = await _leader(web_client)
    campaign = await make_campaign(community, now=clock.now())
    html = await (await web_client.get(PAGE, headers={"Cookie": cookies})).text()
    answer = await web_client.post(
        f"{PAGE}/{campaign.id}/edit",
        data={"csrf_token": _csrf(html), **changes},
        headers={"Cookie": cookies},
    )
    assert answer.status == 400 and _detail(await answer.text()) == says
    kept = await Campaign.get(id=campaign.id)
    assert (kept.title, kept.ends_at) == (campaign.title, campaign.ends_at)


@pytest.mark.parametrize(
    ("changes", "status", "says"),
    [
        ({"at": "2026-03-01T09:00"}, 422, "时间：已经过去了，请选一个将来的时间"),
        ({"text": "  "}, 422, "内容：请填写内容"),
        ({"repeat": "hourly"}, 400, "重复：请选择一次、每天或每周"),  # never read as 一次
    ],
)
async def test_a_wrong_calendar_entry_says_what_to_fix(
    web_client: TestClient, clock: FrozenClock, changes: dict[str, str], status: int, says: str
) -> None:
    """The service's field errors (in English, for the API) are told in Chinese by kind, as
    the form's own checks are; nothing is scheduled."""
    cookies, community = await _leader(web_client)
    html = await (await web_client.get("/console/calendar", headers={"Cookie": cookies})).text()
    form = {
        "csrf_token": _csrf(html),
        "community_id": str(community.id),
        "kind": "announcement",
        "repeat": "once",
        "at": "2026-03-03T09:00",
        "title": "早安",
        "text": "今天橙子到货",
        **changes,
    }
    answer = await web_client.post("/console/calendar", data=form, headers={"Cookie": cookies})
    assert answer.status == status and _detail(await answer.text()) == says
    assert await Activity.filter(community_id=community.id).count() == 0
