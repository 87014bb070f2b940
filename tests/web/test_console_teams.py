"""A leader reads a campaign's teams from the console: who is in which team, who has paid,
how many more each team needs; another community's leader is refused."""

from __future__ import annotations

import re
from datetime import timedelta

from aiohttp.test_utils import TestClient

from models.chat import ChatIdentity
from models.groupbuy import Campaign
from models.user import Role, User
from qunshop.chat import Platform
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from services import groupbuy
from tests.support.aftersale_world import pay
from tests.support.factories import make_campaign, make_community, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.web.test_console import _login, _say
from tests.web.world import who


async def _leader_of(client: TestClient, name: str, chat_name: str) -> tuple[str, object]:
    community = await make_community(name=name)
    leader = await User.get(id=community.leader_id)
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id=chat_name, user=leader)
    link = re.search(r"http\S+/console/login\?token=\S+", await _say(client, "后台", chat_name))
    return await _login(client, link.group(0)), community


async def _two_teams(
    campaign: Campaign, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> tuple[str, str, str]:
    """A team of three, filled and paid; a second with its head paid and one seat unpaid.
    Returns both codes and the order number of the buyer with no nickname."""
    now = clock.now()
    wang = await make_user(Role.SHOPPER, nickname="王芳")
    nameless = await make_user(Role.SHOPPER)
    await User.filter(id=nameless.id).update(nickname="")  # known only by chat
    han = await make_user(Role.SHOPPER, nickname="韩梅梅")
    full = await groupbuy.start_team(principal=who(wang), campaign_id=str(campaign.id), now=now)
    joined = [
        await groupbuy.join_team(principal=who(u), team_ref=full.team.code, now=now)
        for u in (nameless, han)
    ]
    for seat in (full, *joined):
        await pay(settings, wechat, seat.order, now)
    li = await make_user(Role.SHOPPER, nickname="李雷")
    zhang = await make_user(Role.SHOPPER, nickname="张伟")
    waiting = await groupbuy.start_team(principal=who(li), campaign_id=str(campaign.id), now=now)
    await pay(settings, wechat, waiting.order, now)
    await groupbuy.join_team(principal=who(zhang), team_ref=waiting.team.code, now=now)
    return full.team.code, waiting.team.code, joined[0].order.out_trade_no


def _card(html: str, code: str) -> str:
    found = re.search(rf'<article class="card" data-team="{code}".*?</article>', html, re.S)
    assert found, f"no card for team {code}"
    return found.group(0)


def _members(card: str) -> list[tuple[str, str]]:
    rows = re.findall(r"<tr data-member><td[^>]*>(.*?)</td><td>(.*?)</td></tr>", card)
    return [(re.sub(r"<[^>]+>", "", name).strip(), state) for name, state in rows]


async def test_a_leader_sees_who_is_in_which_team_and_who_has_paid(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    cookies, community = await _leader_of(web_client, "幸福里社区", "liu")
    campaign = await make_campaign(community, team_size=3, group_price=1990, now=clock.now())
    full, waiting, nameless_order = await _two_teams(campaign, settings, wechat, clock)
    page = f"/console/campaigns/{campaign.id}/teams"

    listed = await web_client.get("/console/campaigns", headers={"Cookie": cookies})
    assert f'href="{page}"' in await listed.text()

    shown = await web_client.get(page, headers={"Cookie": cookies})
    assert shown.status == 200
    html = await shown.text()
    assert "拼团中 1 · 已成团 1 · 未成团 0" in html
    assert "已付款 4 · 待支付 1" in html

    done = _card(html, full)
    assert "已成团" in done and "已付款 3 · 已占座 3 / 3 人" in done and "还差" not in done
    assert _members(done) == [
        ("王芳 （开团）", "已成团，待到货"),
        (f"顾客（单号尾号 {nameless_order[-4:]}）", "已成团，待到货"),
        ("韩梅梅", "已成团，待到货"),
    ]
    open_card = _card(html, waiting)
    assert "拼团中" in open_card and "已付款 1 · 已占座 2 / 3 人" in open_card
    assert "还差 1 人" in open_card
    assert _members(open_card) == [("李雷 （开团）", "已付款，等成团"), ("张伟", "待支付")]
    # The leader shares the open team from here: its page's link, and the chat command.
    link = f"{settings.public_base_url}/h5/teams/{waiting}"
    assert f'data-copy="{link}"' in open_card and f"参团 {waiting}" in open_card
    assert (await web_client.get(f"/h5/teams/{waiting}")).status == 200
    assert "data-share" not in done  # a team that succeeded needs nobody more
    # The deadline in Shanghai's time: the clock's 10:00 plus the team's 24 hours.
    assert "截止 2026-03-03 10:00（北京时间）" in open_card
    # The newest team first.
    assert html.index(f'data-team="{waiting}"') < html.index(f'data-team="{full}"')


async def test_another_communitys_leader_is_refused(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    _, community = await _leader_of(web_client, "幸福里社区", "liu")
    campaign = await make_campaign(community, team_size=3, now=clock.now())
    await _two_teams(campaign, settings, wechat, clock)
    other, _ = await _leader_of(web_client, "阳光社区", "zhao")

    refused = await web_client.get(
        f"/console/campaigns/{campaign.id}/teams", headers={"Cookie": other}
    )
    assert refused.status == 403 and refused.content_type == "text/html"
    html = await refused.text()
    assert "只有本社区的团长可以这样做" in html and "王芳" not in html
    listed = await web_client.get("/console/campaigns", headers={"Cookie": other})
    assert f"/console/campaigns/{campaign.id}/teams" not in await listed.text()

    for missing in ("00000000-0000-0000-0000-000000000000", "nonsense"):
        gone = await web_client.get(
            f"/console/campaigns/{missing}/teams", headers={"Cookie": other}
        )
        assert gone.status == 404 and "没有找到这个拼团活动" in await gone.text()
    anonymous = await web_client.get(f"/console/campaigns/{campaign.id}/teams")
    assert anonymous.status == 401 and "王芳" not in await anonymous.text()


async def test_a_team_past_its_deadline_shows_as_failed(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    cookies, community = await _leader_of(web_client, "幸福里社区", "liu")
    campaign = await make_campaign(community, team_size=3, now=clock.now())
    _, waiting, _ = await _two_teams(campaign, settings, wechat, clock)
    clock.advance(timedelta(hours=campaign.team_hours, minutes=1))
    await groupbuy.release_expired(now=clock.now())
    await groupbuy.settle_due_teams(now=clock.now())

    html = await (
        await web_client.get(f"/console/campaigns/{campaign.id}/teams", headers={"Cookie": cookies})
    ).text()
    assert "拼团中 0 · 已成团 1 · 未成团 1" in html
    assert "已付款 3 · 待支付 0" in html  # a refunded or cancelled order is neither
    card = _card(html, waiting)
    assert "未成团" in card and "还差" not in card
    states = dict(_members(card))
    assert states["张伟"] == "已取消"  # the unpaid seat lapsed
    assert states["李雷 （开团）"] in ("退款中", "已退款")  # the paid head gets the money back
