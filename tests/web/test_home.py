"""The front page a person meets after `make run`: where each door is, and in development
one click into either console as a demo operator or leader."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from models.groupbuy import Team, TeamStatus
from models.user import User
from qunshop.assembly.app import create_app
from qunshop.clock import FrozenClock
from qunshop.config import Mode, Settings
from services import cursors, demo
from tests.support.factories import auth, make_campaign, make_community, make_user


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(tz=UTC))  # the demo's campaign starts on the wall clock


async def _front(
    make_settings: Callable[..., Settings],
    start_client: Callable[..., Any],
    clock: FrozenClock,
    mode: Mode,
) -> tuple[TestClient, ClientResponse, str]:
    """A server in ``mode`` with the demo shop, and its front page as a browser first sees it:
    the client, the response (its cookies) and the HTML."""
    settings = make_settings(mode=mode)
    client = await start_client(create_app(settings, clock=clock, background=False))
    await demo.seed(settings=settings)
    front = await client.get("/")
    return client, front, await front.text()


def _form(html: str, user: User) -> dict[str, str]:
    """The button's form for ``user``: its CSRF token and the user it enters as."""
    found = re.search(
        r'name="csrf_token" value="([^"]+)">\s*<input type="hidden" name="user" value="'
        + str(user.id),
        html,
    )
    assert found, f"no button for {user.openid}"
    return {"csrf_token": found.group(1), "user": str(user.id)}


async def test_a_new_developer_enters_both_consoles_from_the_front_page(
    make_settings: Callable[..., Settings], start_client: Callable[..., Any], clock: FrozenClock
) -> None:
    client, front, html = await _front(make_settings, start_client, clock, Mode.DEVELOPMENT)
    assert front.status == 200 and front.content_type == "text/html"
    assert 'href="/console"' in html and 'href="/openapi.json"' in html
    team = await Team.get().prefetch_related("campaign")
    assert f'href="/h5/teams/{team.code}"' in html and team.campaign.title in html
    assert (await client.get(f"/h5/teams/{team.code}")).status == 200
    assert "以团长「王团长」进入团长后台" in html and "进入运营后台" in html
    # The chat simulator's lines reach this server, wherever it listens (not only on 8080),
    # as a group member who can join (not "demo-shopper": the demo team's head has her seat
    # already) and as the leader.
    base = re.search(r"(http://\S+)/bot/wecom-bot", html).group(1)
    for who in ("li-si", "demo-leader"):
        assert f"qunshop chat --url {base} --user {who}" in html
    assert "--user demo-shopper" not in html
    # A console opened before entering says how to sign in, and here that is the front page.
    for home in ("/console", "/admin/campaigns"):
        anonymous = await client.get(home)
        assert anonymous.status == 401 and 'href="/">开发模式' in await anonymous.text()
    for openid, home, shown in (
        ("demo-leader", "/console", "阳光花园社区团"),
        ("demo-admin", "/admin", "运营后台"),
    ):
        entered = await client.post(
            "/console/dev-login",
            data=_form(html, await User.get(openid=openid)),
            cookies={"qs_csrf": front.cookies["qs_csrf"].value},
            allow_redirects=False,
        )
        assert entered.status == 303 and entered.headers["Location"] == home
        console = await client.get(
            home, cookies={"qs_session": entered.cookies["qs_session"].value}
        )
        assert console.status == 200 and shown in await console.text(), openid


async def test_only_staff_may_be_entered_as_and_only_with_the_pages_token(
    make_settings: Callable[..., Settings], start_client: Callable[..., Any], clock: FrozenClock
) -> None:
    client, front, html = await _front(make_settings, start_client, clock, Mode.DEVELOPMENT)
    csrf = {"qs_csrf": front.cookies["qs_csrf"].value}
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    shopper = await User.get(openid="demo-shopper")
    assert str(shopper.id) not in html  # shoppers have no console
    for user in (str(shopper.id), "not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        refused = await client.post(
            "/console/dev-login", data={"csrf_token": token, "user": user}, cookies=csrf
        )
        assert refused.status == 403 and refused.content_type == "text/html"
        assert "qs_session" not in refused.cookies
    leader = await User.get(openid="demo-leader")
    forged = await client.post(
        "/console/dev-login", data={"csrf_token": "0" * 64, "user": str(leader.id)}, cookies=csrf
    )
    assert forged.status == 403 and "qs_session" not in forged.cookies


async def test_outside_development_the_front_page_only_points_the_way(
    make_settings: Callable[..., Settings], start_client: Callable[..., Any], clock: FrozenClock
) -> None:
    client, front, html = await _front(make_settings, start_client, clock, Mode.TEST)
    assert front.status == 200 and 'href="/console"' in html
    assert "开发模式" not in html and "dev-login" not in html
    anonymous = await client.get("/console")
    assert anonymous.status == 401 and "开发模式" not in await anonymous.text()
    # With a valid form token (the login page's form gives one) it still enters no one.
    login = await client.get("/console/login?token=" + "x" * 32)
    token = re.search(r'name="csrf_token" value="([^"]+)"', await login.text()).group(1)
    leader = await User.get(openid="demo-leader")
    refused = await client.post(
        "/console/dev-login",
        data={"csrf_token": token, "user": str(leader.id)},
        cookies={"qs_csrf": login.cookies["qs_csrf"].value},
    )
    assert refused.status == 403 and "qs_session" not in refused.cookies
    assert "只有开发模式下可以这样登录" in await refused.text()


async def test_the_open_teams_page_past_the_first_ten_without_script(
    make_settings: Callable[..., Settings], start_client: Callable[..., Any], clock: FrozenClock
) -> None:
    """More than ten open teams: 更多的团 links lead through all of them, each once, soonest
    deadline first (teams started the same instant tie, and keep one order)."""
    client, _, _ = await _front(make_settings, start_client, clock, Mode.DEVELOPMENT)
    settings = make_settings(mode=Mode.DEVELOPMENT)
    campaign = await make_campaign(await make_community(), team_size=2, stock_cap=100)
    for _ in range(22):  # started on the frozen clock: the same deadline for all 22
        resp = await client.post(
            f"/api/v1/campaigns/{campaign.id}/teams",
            json={},
            headers=auth(await make_user(), settings),
        )
        assert resp.status == 201, await resp.text()
    open_teams = await Team.filter(status=TeamStatus.OPEN, deadline_at__gt=clock.now())
    assert len(open_teams) >= 23  # the demo's, and these

    pages, path = [], "/"
    while path:
        page = await client.get(path)
        assert page.status == 200, path
        html = await page.text()
        pages.append(re.findall(r'<li><a href="/h5/teams/([^"]+)">', html))
        assert ("回到第一页" in html) is (path != "/")
        more = re.search(r'<a href="(/\?after=[^"#]+)#teams">更多的团', html)
        path = more.group(1) if more else ""
    assert [len(p) for p in pages[:-1]] == [10] * (len(pages) - 1) and 1 <= len(pages[-1]) <= 10
    listed = [code for p in pages for code in p]
    assert len(listed) == len(set(listed)) and set(listed) == {t.code for t in open_teams}
    deadlines = {t.code: (t.deadline_at, t.id) for t in open_teams}
    assert listed == sorted(listed, key=deadlines.__getitem__)

    # A page link taken by hand is refused on an error page; past the end, none are left.
    for forged in ("nonsense", "2", "../x"):
        bad = await client.get("/", params={"after": forged})
        assert bad.status == 422 and "翻页链接无效" in await bad.text(), forged
    last = max(open_teams, key=lambda t: (t.deadline_at, t.id))
    beyond = await client.get("/", params={"after": cursors.encode(last.deadline_at, last.id)})
    html = await beyond.text()
    assert beyond.status == 200 and "后面没有更多正在拼的团了" in html and "回到第一页" in html
    assert "/h5/teams/" not in html and "更多的团" not in html
