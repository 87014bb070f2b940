"""The operators' campaigns page (/admin/campaigns): every community's campaigns, newest
first, filtered by state, community and title, a page at a time, each linking to its teams."""

from __future__ import annotations

import html as markup
import re
from datetime import timedelta

from aiohttp.test_utils import TestClient

from models.community import Community
from models.groupbuy import Campaign
from models.user import User
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from services import campaigns, groupbuy
from services.campaigns import CampaignDraft
from tests.support.aftersale_world import pay
from tests.support.factories import make_community, make_sku, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.web.test_admin import _admin
from tests.web.world import who


async def new_campaign(
    community: Community, title: str, clock: FrozenClock, *, starts_in: timedelta
) -> Campaign:
    """Through the campaign verb the leader's form calls, its stock carved from a SKU."""
    leader = await User.get(id=community.leader_id)
    sku = await make_sku(community, stock=10)
    now = clock.now()
    return await campaigns.create_campaign(
        principal=who(leader),
        draft=CampaignDraft(
            community_id=str(community.id),
            sku_id=str(sku.id),
            title=title,
            group_price=1290,
            team_size=2,
            starts_at=now + starts_in,
            ends_at=now + starts_in + timedelta(days=2),
            stock_cap=10,
        ),
        now=now,
    )


async def five_campaigns(
    settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> dict[str, Campaign]:
    """春晖: 苹果 running with one paid head, 梨 paused, 桃 upcoming, 橙 closed; 秋实: 香蕉."""
    spring, autumn = await make_community(name="春晖社区"), await make_community(name="秋实社区")
    now = clock.now()
    made = {
        "苹果": await new_campaign(spring, "苹果拼团", clock, starts_in=-timedelta(hours=1)),
        "梨": await new_campaign(spring, "梨拼团", clock, starts_in=-timedelta(hours=1)),
        "桃": await new_campaign(spring, "桃拼团", clock, starts_in=timedelta(days=1)),
        "橙": await new_campaign(spring, "橙拼团", clock, starts_in=-timedelta(hours=1)),
        "香蕉": await new_campaign(autumn, "香蕉拼团", clock, starts_in=-timedelta(hours=1)),
    }
    leader = who(await User.get(id=spring.leader_id))
    await campaigns.pause(principal=leader, campaign_id=made["梨"].id, now=now)
    await campaigns.close(principal=leader, campaign_id=made["橙"].id, now=now)
    buyer = await make_user(nickname="王芳")
    head = await groupbuy.start_team(
        principal=who(buyer), campaign_id=str(made["苹果"].id), now=now
    )
    await pay(settings, wechat, head.order, now)
    return made


def _rows(page: str) -> list[str]:
    return re.findall(r'<tr class="campaign".*?</tr>', page, flags=re.S)


def _titles(page: str) -> list[str]:
    return [re.search(r"<a [^>]*>([^<]+)</a>", row).group(1) for row in _rows(page)]


def _next(page: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">', page)
    return markup.unescape(found.group(1)) if found else None


async def test_an_operator_reads_every_communitys_campaigns_and_reaches_their_teams(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    made = await five_campaigns(settings, wechat, clock)
    _, cookies = await _admin(web_client)

    async def get(path: str, status: int = 200) -> str:
        response = await web_client.get(path, headers={"Cookie": cookies})
        assert response.status == status, await response.text()
        return await response.text()

    home = await get("/admin")
    assert '<a href="/admin/campaigns">拼团活动</a>' in home  # in the console's navigation
    page = await get("/admin/campaigns")
    assert _titles(page) == ["香蕉拼团", "橙拼团", "桃拼团", "梨拼团", "苹果拼团"]  # newest first
    apple = next(r for r in _rows(page) if "苹果拼团" in r)
    assert "春晖社区" in apple and 'data-state="running">进行中' in apple and "¥12.90" in apple
    assert "已售 1 / 库存 10（剩 9）" in apple  # the paid head took one unit
    assert "拼团中 1 · 已成团 0 · 未成团 0" in apple
    # The window in Beijing time: START is 10:00 there, the campaign began an hour before.
    assert "2026-03-02 09:00 — 2026-03-04 09:00" in apple
    states = {
        t: re.search(r'data-state="(\w+)"', r).group(1)
        for t, r in zip(_titles(page), _rows(page), strict=True)
    }
    assert states == {
        "香蕉拼团": "running",
        "橙拼团": "ended",
        "桃拼团": "upcoming",
        "梨拼团": "paused",
        "苹果拼团": "running",
    }

    # Each row links to its teams page, which an operator may read and leave back to here.
    teams_path = f"/console/campaigns/{made['苹果'].id}/teams"
    assert f'href="{teams_path}"' in apple
    teams = await get(teams_path)
    assert "王芳" in teams and 'href="/admin/campaigns">← 返回拼团活动' in teams

    # Filters: by state, by community, by title.
    assert _titles(await get("/admin/campaigns?state=paused")) == ["梨拼团"]
    autumn = made["香蕉"].community_id
    assert _titles(await get(f"/admin/campaigns?community={autumn}")) == ["香蕉拼团"]
    assert _titles(await get("/admin/campaigns?q=苹果")) == ["苹果拼团"]
    assert _titles(await get("/admin/campaigns?state=ended&q=苹果")) == []

    # A page at a time, the filters kept on the next page's link.
    seen: list[str] = []
    path: str | None = "/admin/campaigns?state=running&size=1"
    while path is not None:
        one = await get(path)
        assert len(_rows(one)) == 1
        seen += _titles(one)
        path = _next(one)
        assert path is None or "state=running" in path
    assert seen == ["香蕉拼团", "苹果拼团"]

    # Bad filters are a clear error page, not a 500.
    assert "状态只能是" in await get("/admin/campaigns?state=gone", status=400)
    assert "社区：请从列表中选择" in await get("/admin/campaigns?community=nope", status=400)
    assert "翻页链接无效" in await get("/admin/campaigns?after=nope", status=422)


async def test_a_leader_may_not_read_the_operators_campaigns(web_client: TestClient) -> None:
    from tests.web.test_console_teams import _leader_of

    cookies, _ = await _leader_of(web_client, "春晖社区", "li")
    response = await web_client.get("/admin/campaigns", headers={"Cookie": cookies})
    assert response.status == 403
