"""The leader's home draws each group chat's week: people come in from two groups through
the mini-program's doors (group entries, teams started and joined in the group, paid), and
each group's chart counts only its own visits, teams, orders and GMV, on today's bar."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient

from models.chat import ChatIdentity
from models.community import Community
from models.order import Order
from models.user import User
from qunshop.chat import Platform
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from tests.support.factories import auth, make_campaign, make_community
from tests.support.fake_wechat import FakeWeChat
from tests.support.growth import encrypt_open_data, new_session_key, pay
from tests.web.test_console import _login, _say

OTHER_GROUP = "tGother-group-chat"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(tz=UTC))


async def _shopper(client: TestClient, wechat: FakeWeChat, name: str) -> tuple[User, str]:
    """A person logged in from the mini-program (wx.login): the user and a session key."""
    key = new_session_key()
    wechat.sessions[f"code-{name}"] = {"openid": f"o-{name}", "session_key": key}
    resp = await client.post("/api/v1/session", json={"code": f"code-{name}"})
    assert resp.status == 200, await resp.text()
    return await User.get(id=(await resp.json())["user"]["id"]), key


async def _enter(
    client: TestClient, settings: Settings, user: User, key: str, opengid: str, **body: str
) -> None:
    """The mini-program opened from a group chat (wx.getGroupEnterInfo)."""
    stamp = int(datetime.now(tz=UTC).timestamp())
    info = {"opengid": opengid, "watermark": {"appid": settings.wechat_appid, "timestamp": stamp}}
    data, iv = encrypt_open_data(key, info)
    resp = await client.post(
        "/api/v1/attribution/group-entries",
        json={"encrypted_data": data, "iv": iv, **body},
        headers=auth(user, settings),
    )
    assert resp.status == 200, await resp.text()


async def _paid(
    client: TestClient, settings: Settings, wechat: FakeWeChat, user: User, path: str, chat: str
) -> tuple[str, Order]:
    """Start or join a team in a group chat, then pay: the team's code and the paid order."""
    resp = await client.post(path, json={"chat_id": chat}, headers=auth(user, settings))
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    return body["team"]["code"], await pay(
        settings, wechat, await Order.get(id=body["order"]["id"])
    )


def _bars(html: str, *, group: str) -> dict[str, list[int]]:
    figure = re.search(rf'<figure class="chart" data-group="{group}">(.*?)</figure>', html, re.S)
    assert figure, f"no chart for {group}"
    bars: dict[str, list[int]] = {}
    for series, value in re.findall(r'data-series="(\w+)" data-value="(\d+)"', figure.group(1)):
        bars.setdefault(series, []).append(int(value))
    return bars


def _today(count: int) -> list[int]:
    return [0] * 6 + [count]


async def test_each_group_gets_its_own_chart(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    community = await make_community(name="幸福里社区")
    bound = community.chat_id  # the group the community's bot lives in
    campaign = await make_campaign(community, team_size=2, group_price=1990)
    leader = await User.get(id=community.leader_id)
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id="liu", user=leader)
    link = re.search(r"http\S+/console/login\?token=\S+", await _say(web_client, "后台", "liu"))
    cookies = await _login(web_client, link.group(0))

    # The bound group: one visitor comes in, starts a team there and pays.
    ann, ann_key = await _shopper(web_client, wechat, "ann")
    await _enter(web_client, settings, ann, ann_key, bound)
    _, ann_order = await _paid(
        web_client, settings, wechat, ann, f"/api/v1/campaigns/{campaign.id}/teams", bound
    )
    # Another group, reached by the campaign's share card: two visitors, one team, two orders.
    share = await web_client.get(
        f"/api/v1/campaigns/{campaign.id}/share", headers=auth(leader, settings)
    )
    code = (await share.json())["code"]
    bo, bo_key = await _shopper(web_client, wechat, "bo")
    cy, cy_key = await _shopper(web_client, wechat, "cy")
    await _enter(web_client, settings, bo, bo_key, OTHER_GROUP, code=code)
    team, bo_order = await _paid(
        web_client, settings, wechat, bo, f"/api/v1/campaigns/{campaign.id}/teams", OTHER_GROUP
    )
    await _enter(web_client, settings, cy, cy_key, OTHER_GROUP, code=code)
    _, cy_order = await _paid(
        web_client, settings, wechat, cy, f"/api/v1/teams/{team}/join", OTHER_GROUP
    )
    other_community = await make_community()  # its group's week is not this leader's
    assert await Community.filter(chat_id=OTHER_GROUP).count() == 0

    home = await web_client.get("/console", headers={"Cookie": cookies})
    assert home.status == 200
    html = await home.text()
    assert _bars(html, group=bound) == {
        "visits": _today(1),
        "teams": _today(1),
        "orders": _today(1),
        "gmv": _today(ann_order.amount),
    }
    assert _bars(html, group=OTHER_GROUP) == {
        "visits": _today(2),
        "teams": _today(1),
        "orders": _today(2),
        "gmv": _today(bo_order.amount + cy_order.amount),
    }
    assert other_community.chat_id not in html
    assert html.count('<figure class="chart"') == 3  # the community's, and one per group
    # Each group by what the leader calls it: the bound one is the community's, another
    # (known only by its opengid) is numbered; a raw id is never shown, cut or whole.
    table = re.search(r"<caption.*?各群数据.*?</table>", html, re.S).group(0)
    assert '<td data-label="群">幸福里社区</td>' in table
    assert '<td data-label="群">其他群 1</td>' in table
    assert "幸福里社区：近7天" in html and "其他群 1：近7天" in html
    shown = re.sub(r'data-group="[^"]*"', "", html)
    assert OTHER_GROUP[:10] not in shown and bound[:10] not in shown


async def test_a_one_to_one_chat_is_not_a_group(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    community = await make_community(name="幸福里社区")
    campaign = await make_campaign(community, team_size=3, group_price=1990)
    leader = await User.get(id=community.leader_id)
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id="liu", user=leader)
    link = re.search(r"http\S+/console/login\?token=\S+", await _say(web_client, "后台", "liu"))
    cookies = await _login(web_client, link.group(0))
    ann, _ = await _shopper(web_client, wechat, "ann")
    team, _ = await _paid(
        web_client,
        settings,
        wechat,
        ann,
        f"/api/v1/campaigns/{campaign.id}/teams",
        community.chat_id,
    )
    # wang-wu joins from her one-to-one chat with the bot: her order names no group.
    await _say(web_client, f"参团 {team}", "wang-wu")
    joined = await Order.get(user__chat_identities__external_id="wang-wu")
    assert joined.chat_id is None
    # An order recorded with a person's id as its chat (before this was fixed) is no group.
    await Order.filter(id=joined.id).update(chat_id="wang-wu")
    html = await (await web_client.get("/console", headers={"Cookie": cookies})).text()
    assert "wang-wu" not in html
    assert html.count('<figure class="chart"') == 2  # the community's and its bound group's
