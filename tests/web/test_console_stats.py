"""The data pages: the leader's funnel, days, cohorts and products (/console/stats) and the
operators' ranking (/admin/stats), with CSV, all showing the rollups of a scripted week."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from models.chat import ChatIdentity
from models.user import Role, User
from qunshop.chat import Platform
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from qunshop.keys import CHAT_TEMPLATES, REDIS
from scheduler.jobs import Jobs
from services import tables
from tests.services.test_rollups import recount, scripted_week
from tests.support.factories import make_community, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.web.test_console import _login, _say


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(tz=UTC))


async def _session(client: TestClient, user: User, sender: str, home: str) -> str:
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id=sender, user=user)
    link = re.search(r"http\S+/console/login\?token=\S+", await _say(client, "后台", sender))
    return await _login(client, link.group(0), home=home)


async def test_the_leader_sees_the_funnel_and_downloads_its_tables(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    world = await scripted_week(settings, wechat)
    community = world["community"]
    mine = [v for k, v in (await recount()).items() if k[0] == str(community.id)]
    leader = await User.get(id=community.leader_id)
    cookies = await _session(web_client, leader, "zhao", "/console")

    page = await web_client.get("/console/stats?days=366", headers={"Cookie": cookies})
    assert page.status == 200
    html = await page.text()
    for step in ("shared", "opened", "joined", "joined_paid", "joined_picked_up"):
        shown = re.search(rf'data-step="{step}" data-value="(\d+)"', html).group(1)
        assert int(shown) == sum(v.get(step, 0) for v in mine), step
    rates = [float(r) for r in re.findall(r"· ([\d.]+)%</text>", html)]
    assert len(rates) == 2 and all(0 < r <= 100 for r in rates), rates
    assert html.count('class="cohort"') == 1 and "复购率" in html
    assert 'href="/console/stats"' in html  # in the console's navigation
    # Counted every few minutes, not live: the page says so, or an order just paid looks lost.
    assert "data-lag" in html and "稍后才计入" in html

    sheet = await web_client.get(
        f"/console/stats.csv?community={community.id}&table=cohorts&days=366",
        headers={"Cookie": cookies},
    )
    assert sheet.status == 200 and sheet.content_type == "text/csv"
    (row,) = csv.DictReader(io.StringIO((await sheet.text()).lstrip("\ufeff")))
    assert int(row["新成员"]) == 6
    days = await web_client.get(
        f"/console/stats.csv?community={community.id}&table=days&days=366",
        headers={"Cookie": cookies},
    )
    rows = list(csv.DictReader(io.StringIO((await days.text()).lstrip("\ufeff"))))
    gmv = sum(v.get("gmv", 0) for v in mine)
    refunded = sum(v.get("refunded", 0) for v in mine)
    assert refunded > 0  # the scripted week has a refund: sales are shown net of it
    assert sum(round(float(r["付款额（元）"]) * 100) for r in rows) == gmv
    net = [round(float(r["成交额（元，已扣退款）"]) * 100) for r in rows]
    assert sum(net) == gmv - refunded
    assert all(re.fullmatch(r"-?\d+\.\d\d", r["成交额（元，已扣退款）"]) for r in rows)
    assert f'data-net="{gmv - refunded}"' in html

    other = await make_user(Role.LEADER)
    other_cookies = await _session(web_client, other, "qian", "/console")
    refused = await web_client.get(
        f"/console/stats.csv?community={community.id}&table=days",
        headers={"Cookie": other_cookies},
    )
    assert refused.status == 403


async def test_the_operator_ranks_communities(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    world = await scripted_week(settings, wechat)
    community = world["community"]
    mine = [v for k, v in (await recount()).items() if k[0] == str(community.id)]
    admin = await make_user(Role.ADMIN)
    cookies = await _session(web_client, admin, "sun", "/admin")
    page = await web_client.get("/admin/stats?days=366", headers={"Cookie": cookies})
    assert page.status == 200
    ranked = await page.text()
    assert community.name in ranked and "稍后才计入" in ranked
    sheet = await web_client.get("/admin/stats.csv?days=366", headers={"Cookie": cookies})
    rows = list(csv.DictReader(io.StringIO((await sheet.text()).lstrip("\ufeff"))))
    (row,) = [r for r in rows if r["社区编号"] == str(community.id)]
    assert row["社区"] == community.name
    gmv = sum(v.get("gmv", 0) for v in mine)
    refunded = sum(v.get("refunded", 0) for v in mine)
    assert row["付款额（元）"] == tables.yuan(gmv)
    assert row["成交额（元，已扣退款）"] == tables.yuan(gmv - refunded) and refunded > 0
    assert f'data-net="{gmv - refunded}"' in await page.text()


async def test_a_days_value_that_is_not_a_number_shows_the_default(
    web_client: TestClient,
) -> None:
    """``?days=²`` (a digit to str.isdigit, not to int) is read as no value, not a 500."""
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    cookies = await _session(web_client, leader, "qian", "/console")
    for days in ("²", "abc", "30"):
        page = await web_client.get(f"/console/stats?days={days}", headers={"Cookie": cookies})
        assert page.status == 200, days


async def test_the_stats_pages_say_when_their_figures_were_counted(
    web_client: TestClient, web_app: web.Application, settings: Settings, clock: FrozenClock
) -> None:
    """The rollups count every few minutes while the home chart counts live: both stats
    pages say up to when their figures go, as the rollup recorded it, not the reader's clock."""
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    cookies = await _session(web_client, leader, "zhou", "/console")
    ops = await _session(web_client, await make_user(Role.ADMIN), "wu", "/admin")

    async def said(path: str, who: str) -> str:
        html = await (await web_client.get(path, headers={"Cookie": who})).text()
        return re.search(r'<p class="muted" data-lag>(.*?)</p>', html, re.S).group(1)

    assert (await said("/console/stats", cookies)).startswith("数据还没有汇总过，")
    counted = datetime(2026, 12, 7, 3, 5, tzinfo=UTC)  # 11:05 in Shanghai
    clock.set(counted + timedelta(minutes=4))  # the reader comes later: 11:09
    jobs = Jobs(settings=settings, templates=web_app[CHAT_TEMPLATES], redis=web_app[REDIS])
    await jobs.roll_up(counted)  # the scheduler's step
    for path, who in (("/console/stats", cookies), ("/admin/stats", ops)):
        shown = await said(path, who)
        assert 'datetime="2026-12-07T03:05:00+00:00">11:05</time>' in shown, shown
        assert shown.startswith("数据更新于 <time") and "稍后才计入" in shown
    clock.set(counted + timedelta(days=1))  # no refresh since: its day is said too
    assert ">12-07 11:05</time>" in await said("/console/stats", cookies)
