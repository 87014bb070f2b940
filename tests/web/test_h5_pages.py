"""H5 pages over HTTP: each state, the share meta, the ways in, errors as pages."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient

from models.catalog import Sku
from models.chat import ChatIdentity
from models.growth import Visit
from models.order import Order
from models.user import Role, User
from qunshop.clock import FrozenClock
from qunshop.keys import FLASH_GATE, HTTP, REDIS
from services import accounts, campaigns, groupbuy, h5_pages, share
from services.auth import Principal
from tests.support.factories import auth, make_campaign, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.web.world import SALE_STATES, link_token, people, sale_in, team_in, who

BADGES = {"open": "拼团中", "full": "已满员", "closed": "已结束", "sold_out": "已售罄"}


async def _page(client: TestClient, path: str, status: int = 200) -> str:
    response = await client.get(path)
    assert response.status == status, await response.text()
    assert response.content_type == "text/html"
    assert "script-src 'sha256-" in response.headers["Content-Security-Policy"]
    return await response.text()


@pytest.mark.parametrize("state", ["open", "full", "closed", "sold_out"])
async def test_team_page_shows_each_state(
    web_client: TestClient, clock: FrozenClock, state: str
) -> None:
    code, campaign = await team_in(state, clock)
    html = await _page(web_client, f"/h5/teams/{code}")
    assert f'data-state="{state}"' in html and BADGES[state] in html
    assert campaign.title in html and "¥</small>19.90" in html
    held = {"open": 2, "full": 3, "closed": 0, "sold_out": 2}[state]
    if state == "closed":
        assert "这个团已结束" in html and 'class="free"' not in html
    else:  # the members' avatars: the first character of each name
        assert '<li class="head" title="开团人（待付款）">王</li>' in html
        assert f"已有{held}人" in html
        # A full team waits for payments: 人已齐, never 还差0人.
        assert (f"还差{3 - held}人" in html) is (state != "full")
        assert ("人已齐，等大家付款" in html) is (state == "full")
        assert html.count('class="free"') == 3 - held
    assert ('class="clock" data-deadline' in html) is (state in ("open", "full"))
    # Whoever holds a seat is sent here to pay: a full team still offers the way in.
    assert ('class="btn mobile-only"' in html) is (state in ("open", "full"))
    assert ("去小程序付款" in html) is (state == "full")
    assert ("已经占座？" in html) is (state == "open")  # the 参团 button pays a holder too
    # A team that cannot take a newcomer sends them on to the campaign's other teams.
    onward = f'<a href="/h5/campaigns/{campaign.id}">看看这个活动还在拼的团</a>'
    assert (onward in html) is (state != "open")
    await _page(web_client, f"/h5/campaigns/{campaign.id}")


async def test_team_page_is_small_with_share_meta_and_ways_in(
    web_client: TestClient, clock: FrozenClock, wechat: FakeWeChat
) -> None:
    code, campaign = await team_in("open", clock, guaranteed=True)
    html = await _page(web_client, f"/h5/teams/{code}")
    assert len(html.encode()) < 30 * 1024
    assert f'<meta property="og:title" content="【还差1人】{campaign.title} ¥19.90">' in html
    assert '<meta itemprop="name"' in html and 'property="og:url"' in html
    assert "保证成团" in html
    assert f"pages/team/index?code={code}" in html
    (call,) = wechat.calls_to("/wxa/generate_urllink")
    link = next(iter(wechat.url_links))
    assert wechat.url_links[link]["path"] == "pages/team/index"
    assert wechat.url_links[link]["query"] == f"code={code}"
    assert f'href="{link}"' in html and "<svg" in html
    await _page(web_client, f"/h5/teams/{code.lower()}")  # a code typed in lower case
    assert len(wechat.calls_to("/wxa/generate_urllink")) == 1  # the link is cached


async def test_a_page_without_wechat_still_offers_the_path_and_a_qr(
    web_client: TestClient, clock: FrozenClock, wechat: FakeWeChat
) -> None:
    wechat.messaging_failures["/wxa/generate_urllink"] = [45009]
    code, _ = await team_in("open", clock)
    html = await _page(web_client, f"/h5/teams/{code}")
    assert "wxaurl.cn" not in html and "<svg" in html
    assert f"pages/team/index?code={code}" in html
    await _page(web_client, f"/h5/teams/{code}")
    assert len(wechat.calls_to("/wxa/generate_urllink")) == 1  # not again for a minute


async def test_unknown_pages_and_teams_are_html_error_pages(web_client: TestClient) -> None:
    html = await _page(web_client, "/h5/teams/NOSUCH99", status=404)
    assert "没有找到这个团" in html and "team_not_found" in html
    html = await _page(web_client, "/h5/nowhere", status=404)
    assert "页面不存在" in html
    html = await _page(web_client, "/h5/campaigns/not-a-uuid", status=404)
    assert "没有找到这个拼团活动" in html
    # No dead end: the shopper is told where the deals are.
    for path in ("/h5/teams/NOSUCH99", "/h5/campaigns/not-a-uuid", "/h5/nowhere"):
        assert "回到群里发「团购」" in await _page(web_client, path, status=404), path
    api = await web_client.get("/api/v1/nowhere")
    assert api.status == 404 and api.content_type == "application/problem+json"


async def test_campaign_page_lists_open_teams(web_client: TestClient, clock: FrozenClock) -> None:
    code, campaign = await team_in("open", clock, guaranteed=True)
    html = await _page(web_client, f"/h5/campaigns/{campaign.id}")
    assert f'href="/h5/teams/{code}"' in html and "还差1人" in html
    assert 'data-state="open"' in html and "保证成团" in html
    assert f"pages/campaign/index?id={campaign.id}" in html


@pytest.mark.parametrize("state", SALE_STATES)
async def test_flash_sale_page_shows_each_state(
    web_client: TestClient, web_app, clock: FrozenClock, state: str
) -> None:
    sale = await sale_in(state, clock, web_app[FLASH_GATE])
    html = await _page(web_client, f"/h5/flash-sales/{sale.id}")
    assert f'data-state="{state}"' in html
    assert "¥</small>9.90" in html and "每人限1件" in html
    assert f"pages/flash/index?id={sale.id}" in html
    # Only an open sale offers 立即抢购; before it opens the countdown says when, after it
    # the way in says why not (the mini-program would refuse the buy).
    assert ('class="btn mobile-only"' in html) is (state == "open")
    assert ("立即抢购" in html) is (state == "open")
    said = {"upcoming": "即将开抢", "closed": "已结束", "sold_out": "已抢光", "cancelled": "已取消"}
    if state != "open":
        assert f'<span class="btn off" role="status">{said[state]}</span>' in html
    assert ('data-done="已开抢"' in html) is (state == "upcoming")


async def test_invite_page_by_code_and_by_id(
    web_client: TestClient, clock: FrozenClock, settings
) -> None:
    (inviter,) = await people(1)
    invite = await share.invite_share(
        user=inviter, community_id=None, settings=settings, now=clock.now()
    )
    html = await _page(web_client, f"/h5/invite?from={invite.code}")
    assert "王芳邀请你一起拼" in html and f"pages/index/index?s={invite.code}" in html
    assert f'data-code="{invite.code}"' in html
    html = await _page(web_client, f"/h5/invite?from={inviter.id}")
    assert f"pages/index/index?from={inviter.id}" in html
    await _page(web_client, "/h5/invite?from=ABCDEFGHJKLMNPQRST", status=404)
    await _page(web_client, "/h5/invite", status=400)


async def test_link_page_shows_the_mini_program_path_until_the_link_is_used(
    web_client: TestClient, clock: FrozenClock, settings
) -> None:
    """The page offers 打开小程序完成关联 while the token can link; once redeemed (through
    the API, as the mini-program does) it says the link is used, and offers nothing."""
    token = await link_token(clock, settings)
    html = await _page(web_client, f"/h5/link?token={token}")
    assert f"pages/link/index?token={token}" in html and "打开小程序完成关联" in html
    account = await make_user(nickname="李四")
    done = await web_client.post(
        "/api/v1/me/links",
        json={"token": token},
        headers=auth(account, settings, clock.now()),
    )
    assert done.status == 200, await done.text()
    html = await _page(web_client, f"/h5/link?token={token}")
    assert "这个链接已经用过，账号已关联" in html
    assert "打开小程序完成关联" not in html and "pages/link/index" not in html
    # A second token of the same (now linked) identity: nothing left to link.
    again = accounts.issue_link_token(
        identity_id=(await ChatIdentity.get(external_id="li-si")).id,
        secret=settings.secret_key.get_secret_value(),
        now=clock.now(),
    )
    html = await _page(web_client, f"/h5/link?token={again}")
    assert "已经关联到小程序" in html and "打开小程序完成关联" not in html
    await _page(web_client, "/h5/link?token=<script>", status=400)
    forged = await _page(web_client, "/h5/link?token=" + "a" * 40, status=400)
    assert "这个关联链接无效" in forged
    clock.advance(timedelta(minutes=31))
    expired = await _page(web_client, f"/h5/link?token={token}", status=400)
    assert "已过期" in expired


async def test_a_visit_is_counted_once_per_browser_with_its_sharer(
    web_client: TestClient, clock: FrozenClock, settings
) -> None:
    code, campaign = await team_in("open", clock)
    sharer = await make_user(nickname="分享人")
    team_share = await share.team_share(
        principal=Principal(user_id=sharer.id, role=sharer.role),
        team_ref=code,
        settings=settings,
        http=web_client.app[HTTP],
        redis=web_client.app[REDIS],
        now=clock.now(),
    )
    html = await _page(web_client, f"/h5/teams/{code}?s={team_share.code}")
    ticket = re.search(r'data-visit="([^"]+)"', html).group(1)
    first = await web_client.post("/h5/visits", data={"t": ticket, "s": team_share.code})
    assert first.status == 204
    cookie = first.cookies["qs_vid"]
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"] == "Lax"
    again = await web_client.post(
        "/h5/visits",
        data={"t": ticket, "s": team_share.code},
        headers={"Cookie": f"qs_vid={cookie.value}"},
    )
    assert again.status == 204
    (visit,) = await Visit.all()
    assert visit.source == "h5" and visit.user_id is None
    assert visit.sharer_id == sharer.id and visit.campaign_id == campaign.id
    assert visit.community_id == campaign.community_id
    forged = ticket.replace("team:", "team:X")
    refused = await web_client.post("/h5/visits", data={"t": forged})
    assert refused.status == 400 and refused.content_type == "text/html"
    assert await Visit.all().count() == 1


async def test_a_member_without_a_nickname_is_not_drawn_as_an_empty_seat(
    web_client: TestClient, clock: FrozenClock
) -> None:
    code, _ = await team_in("open", clock)
    # As a mini-program login or a chat sender makes them, before any profile is set.
    nameless = await User.create(openid="o-nameless", role=Role.SHOPPER, nickname="")
    await groupbuy.join_team(principal=who(nameless), team_ref=code, now=clock.now())
    html = await _page(web_client, f"/h5/teams/{code}")
    assert '<li class="" title="团员（待付款）">友</li>' in html
    assert html.count(">?</li>") == 0  # the team is full: no seat is empty


async def test_members_names_are_escaped(web_client: TestClient, clock: FrozenClock) -> None:
    code, _ = await team_in("open", clock)
    user = await make_user(nickname="<b>x")
    await groupbuy.join_team(principal=who(user), team_ref=code, now=clock.now())
    html = await _page(web_client, f"/h5/teams/{code}")
    assert "&lt;" in html and "<b>x" not in html


async def test_a_joined_seat_shows_within_a_second(
    web_client: TestClient, clock: FrozenClock
) -> None:
    """The team page's HTML is kept for a second (web/page_cache.py): a seat taken now
    shows on the next load after that second, and never later."""
    code, _ = await team_in("open", clock)
    assert "还差1人" in await _page(web_client, f"/h5/teams/{code}")
    (joiner,) = await people(1)
    await groupbuy.join_team(principal=who(joiner), team_ref=code, now=clock.now())
    assert "还差1人" in await _page(web_client, f"/h5/teams/{code}")  # the kept copy
    clock.advance(timedelta(seconds=1))
    html = await _page(web_client, f"/h5/teams/{code}")
    assert 'data-state="full"' in html and "已有3人" in html


async def test_a_burst_renders_the_team_page_once(
    web_client: TestClient, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _ = await team_in("open", clock)
    renders = 0
    real = h5_pages.team_page

    async def counted(ref: str, *, now):  # noqa: ANN202
        nonlocal renders
        renders += 1
        await asyncio.sleep(0.05)  # long enough for the burst to arrive mid-render
        return await real(ref, now=now)

    monkeypatch.setattr(h5_pages, "team_page", counted)
    pages = await asyncio.gather(*(_page(web_client, f"/h5/teams/{code}") for _ in range(20)))
    assert renders == 1 and len(set(pages)) == 1 and "还差1人" in pages[0]
    missing = await asyncio.gather(
        *(_page(web_client, "/h5/teams/NOSUCH99", status=404) for _ in range(3))
    )
    assert renders == 4 and all("没有找到这个团" in html for html in missing)  # errors not kept


async def test_the_head_price_is_the_openers_not_the_leaders(
    web_client: TestClient, clock: FrozenClock
) -> None:
    """团长 is the community's leader everywhere else: whoever opens a team pays 开团价."""
    campaign = await make_campaign(group_price=2990, head_price=2790, now=clock.now())
    opener = await make_user(nickname="王")
    started = await groupbuy.start_team(
        principal=Principal(user_id=opener.id, role=opener.role),
        campaign_id=str(campaign.id),
        now=clock.now(),
    )
    html = await _page(web_client, f"/h5/teams/{started.team.code}")
    assert "开团价 ¥27.90" in html and "团长价" not in html
    assert 'title="开团人（待付款）"' in html


async def test_the_prices_on_the_buttons_are_what_the_api_charges(
    web_client: TestClient, clock: FrozenClock, settings
) -> None:
    """开团 on the campaign page costs the opener's price, 参团 on the team page the
    group price: each button's price is the order's amount the API then makes."""
    campaign = await make_campaign(group_price=2990, head_price=2790, now=clock.now())
    shown = await _page(web_client, f"/h5/campaigns/{campaign.id}")
    assert ">开团 ¥27.90</a>" in shown and "开团价 ¥27.90" in shown
    opener, joiner = await make_user(nickname="王"), await make_user(nickname="李")
    started = await web_client.post(
        f"/api/v1/campaigns/{campaign.id}/teams",
        json={},
        headers=auth(opener, settings, clock.now()),
    )
    assert started.status == 201, await started.text()
    assert (await Order.get(user_id=opener.id)).amount == 2790
    code = (await started.json())["team"]["code"]
    team = await _page(web_client, f"/h5/teams/{code}")
    assert ">参团 ¥29.90</a>" in team
    joined = await web_client.post(
        f"/api/v1/teams/{code}/join", json={}, headers=auth(joiner, settings, clock.now())
    )
    assert joined.status == 201, await joined.text()
    assert (await Order.get(user_id=joiner.id)).amount == 2990


async def test_a_paused_campaign_says_so_and_offers_no_start(
    web_client: TestClient, clock: FrozenClock
) -> None:
    """Its leader paused it (joins are refused): the shared pages must not say 进行中 and
    offer 开团 / 参团 that the mini-program would then refuse (campaign_paused)."""
    code, campaign = await team_in("open", clock)
    await campaign.fetch_related("community")
    leader = Principal(user_id=campaign.community.leader_id, role=Role.LEADER)
    await campaigns.pause(principal=leader, campaign_id=campaign.id, now=clock.now())
    clock.advance(timedelta(seconds=2))  # past the team page's one-second cache
    shown = await _page(web_client, f"/h5/campaigns/{campaign.id}")
    assert 'data-state="paused"' in shown and "团长暂停了这个活动" in shown
    assert "进行中" not in shown and 'class="btn mobile-only"' not in shown
    team = await _page(web_client, f"/h5/teams/{code}")
    assert 'data-state="paused"' in team and "活动已暂停" in team
    assert 'class="btn mobile-only"' not in team


async def test_a_product_page_leads_to_where_it_is_sold(
    web_client: TestClient, clock: FrozenClock
) -> None:
    """A shared product link was a dead end (price and reviews, no link anywhere): it lists
    the product's campaigns open now and offers the mini-program; a paused one is not
    listed (it takes no joins), and without any it says where deals are."""
    _, campaign = await team_in("open", clock)
    sku = await campaign.sku
    shown = await _page(web_client, f"/h5/products/{sku.product_id}")
    assert f'href="/h5/campaigns/{campaign.id}"' in shown and campaign.title in shown
    assert "pages/index/index" in shown and 'class="qr"' in shown
    await campaign.fetch_related("community")
    leader = Principal(user_id=campaign.community.leader_id, role=Role.LEADER)
    await campaigns.pause(principal=leader, campaign_id=campaign.id, now=clock.now())
    shown = await _page(web_client, f"/h5/products/{sku.product_id}")
    assert f'href="/h5/campaigns/{campaign.id}"' not in shown
    assert "这个商品现在没有拼团" in shown and "pages/index/index" in shown


async def test_every_page_into_the_mini_program_carries_the_sharers_code_on(
    web_client: TestClient, clock: FrozenClock, settings
) -> None:
    """A shared link's ?s= goes on into the mini-program (its entry binds to the sharer):
    the campaign's and the product's pages as the team's (tests/journeys)."""
    code, campaign = await team_in("open", clock)
    (sharer,) = await people(1)
    shared = await share.campaign_share(
        principal=who(sharer), campaign_id=str(campaign.id), settings=settings, now=clock.now()
    )
    html = await _page(web_client, f"/h5/campaigns/{campaign.id}?s={shared.code}")
    assert f"pages/campaign/index?id={campaign.id}&amp;s={shared.code}" in html
    product_id = (await Sku.get(id=campaign.sku_id)).product_id
    html = await _page(web_client, f"/h5/products/{product_id}?s={shared.code}")
    assert f"pages/index/index?s={shared.code}" in html
    html = await _page(web_client, f"/h5/products/{product_id}?s=NOT-A-CODE")
    assert "pages/index/index<" in html and "NOT-A-CODE" not in html.split("<main")[1]
