"""The leader's console: a login link from a one-to-one chat, a session, a code verified."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from itertools import count
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient

from models.chat import ChatIdentity
from models.order import Order, OrderStatus
from models.user import User
from qunshop.chat import ChatType, Platform, Text, Update
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from qunshop.keys import DISPATCH
from services import pickup
from tests.support.factories import make_community, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.support.growth import paid_order, principal_of
from tests.web.admin_world import operator

_ids = count(1)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(tz=UTC))


async def _say(client: TestClient, text: str, sender: str, *, group: bool = False) -> str:
    update = Update(
        platform=Platform.WECOM_BOT,
        chat_id="group-1" if group else sender,
        chat_type=ChatType.GROUP if group else ChatType.SINGLE,
        sender=sender,
        msg_id=f"console-{next(_ids)}",
        created_at=datetime.now(tz=UTC),
        text=text,
    )
    reply = await client.server.app[DISPATCH](update)
    assert isinstance(reply, Text)
    return reply.content


def _cookie(response, name: str) -> str:
    morsel = response.cookies[name]
    assert morsel["httponly"] and morsel["secure"]  # test mode is not development
    return f"{name}={morsel.value}"


async def _login(client: TestClient, link: str, *, home: str = "/console") -> str:
    """Open the link, press the button; returns the session cookie header."""
    path = link.split("8080", 1)[1]
    form = await client.get(path)
    assert form.status == 200
    csrf_cookie = _cookie(form, "qs_csrf")
    html = await form.text()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    forged = await client.post(
        "/console/login",
        data={"csrf_token": "0" * 64, "token": token},
        headers={"Cookie": csrf_cookie},
        allow_redirects=False,
    )
    assert forged.status == 403 and forged.content_type == "text/html"
    done = await client.post(
        "/console/login",
        data={"csrf_token": csrf, "token": token},
        headers={"Cookie": csrf_cookie},
        allow_redirects=False,
    )
    assert done.status == 303 and done.headers["Location"] == home
    assert done.cookies["qs_session"]["samesite"] == "Lax"
    again = await client.post(
        "/console/login",
        data={"csrf_token": csrf, "token": token},
        headers={"Cookie": csrf_cookie},
        allow_redirects=False,
    )
    assert again.status == 401  # the link logs in once, and the page says so
    assert "这个登录链接已经用过或已过期" in await again.text()
    return f"{_cookie(done, 'qs_session')}; {csrf_cookie}"


async def test_a_leader_logs_in_from_chat_and_verifies_a_pickup(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    community = await make_community(name="幸福里社区")
    leader = await User.get(id=community.leader_id)
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id="liu", user=leader)
    assert "私聊" in await _say(web_client, "后台", "liu", group=True)
    shopper = await make_user()
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id="li", user=shopper)
    assert "/console/login" not in await _say(web_client, "console", "li")
    reply = await _say(web_client, "后台", "liu")
    link = re.search(r"http\S+/console/login\?token=\S+", reply).group(0)

    anonymous = await web_client.get("/console")
    assert anonymous.status == 401 and "后台" in await anonymous.text()
    cookies = await _login(web_client, link)
    home = await web_client.get("/console", headers={"Cookie": cookies})
    assert home.status == 200 and "幸福里社区" in await home.text()
    # The used link tapped again while signed in leads to the console, not to 已经用过.
    path = link.split("8080", 1)[1]
    form = await (await web_client.get(path, headers={"Cookie": cookies})).text()
    again = await web_client.post(
        "/console/login",
        data={
            "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', form).group(1),
            "token": re.search(r'name="token" value="([^"]+)"', form).group(1),
        },
        headers={"Cookie": cookies},
        allow_redirects=False,
    )
    assert again.status == 303 and again.headers["Location"] == "/console"

    buyer = await make_user(nickname="小李")
    order = await paid_order(settings, wechat, buyer, community)
    assert "到货" in await _say(web_client, "到货", "liu")  # the goods arrive: ready for pickup
    ticket = await pickup.ticket(principal=principal_of(buyer), order_id=str(order.id))
    page = await web_client.get("/console/pickups", headers={"Cookie": cookies})
    html = await page.text()
    assert "小李" in html and '<label for="code">' in html
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    verified = await web_client.post(
        "/console/pickups/verify",
        data={"csrf_token": csrf, "code": ticket.code},
        headers={"Cookie": cookies},
    )
    assert verified.status == 200 and "已核销：小李" in await verified.text()
    assert (await Order.get(id=order.id)).status is OrderStatus.PICKED_UP
    used = await web_client.post(
        "/console/pickups/verify",
        data={"csrf_token": csrf, "code": ticket.code},
        headers={"Cookie": cookies},
    )
    assert "已经核销过了" in await used.text()
    mistyped = await web_client.post(
        "/console/pickups/verify",
        data={"csrf_token": csrf, "code": "AB<12"},
        headers={"Cookie": cookies},
    )
    html = await mistyped.text()  # refused, with the code left in the field to correct
    assert "没有这个提货码" in html and 'name="code" value="AB&lt;12"' in html
    no_csrf = await web_client.post(
        "/console/pickups/verify", data={"code": ticket.code}, headers={"Cookie": cookies}
    )
    assert no_csrf.status == 403


async def test_arrival_from_the_console_says_who_cannot_be_told_their_code(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    """货到了 in the console: a buyer with no chat and no subscribe consent gets no code, and
    the leader is told so (the page said 买家已收到提货通知 to every arrival)."""
    community = await make_community(name="幸福里社区")
    leader = await User.get(id=community.leader_id)
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id="liu", user=leader)
    link = re.search(r"http\S+/console/login\?token=\S+", await _say(web_client, "后台", "liu"))
    cookies = await _login(web_client, link.group(0))
    await paid_order(settings, wechat, await make_user(nickname="小李"), community)
    html = await (await web_client.get("/console/pickups", headers={"Cookie": cookies})).text()
    # Listed before the goods are here, and says so (not as if it could be handed over).
    assert "<td>小李</td>" in html and "<td>已付款，待到货</td>" in html  # a direct order
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    asked = await web_client.post(  # buyers are told at once: the button asks first
        "/console/pickups/arrived", data={"csrf_token": csrf}, headers={"Cookie": cookies}
    )
    html = await asked.text()
    assert asked.status == 200 and '<h1 id="confirm-h">货真的到自提点了吗？</h1>' in html
    assert "<td>已成团，待到货</td>" not in html and "不能撤回" in html
    assert (await Order.get()).status is OrderStatus.CONFIRMED
    arrived = await web_client.post(
        "/console/pickups/arrived",
        data={"csrf_token": csrf, "confirm": "yes"},
        headers={"Cookie": cookies},
    )
    said = await arrived.text()
    assert arrived.status == 200 and "已确认到货：1 份订单可以提货了" in said
    assert "1 位买家没有可用的私信渠道" in said and "买家已收到" not in said
    assert "<td>已到货，待自提</td>" in said


async def test_a_link_cannot_put_words_into_either_consoles_banner(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    """?note= was shown as the console's own status banner: anyone could send a leader a
    link saying 系统升级，请把提货码发到xxx微信. Only a note the server signed after a form
    shows; a forged, altered or old one shows nothing, on the leader's and the operator's
    consoles alike."""
    community = await make_community(name="幸福里社区")
    leader = await User.get(id=community.leader_id)
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id="liu", user=leader)
    link = re.search(r"http\S+/console/login\?token=\S+", await _say(web_client, "后台", "liu"))
    cookies = await _login(web_client, link.group(0))
    lure = quote("系统升级，请把提货码发到xxx微信")
    for path in (
        f"/console/pickups?note={lure}",
        f"/console/pickups?note={lure}&ns=9999999999.{'0' * 32}",
        f"/console/calendar?note={lure}",
        f"/console/reviews?note={lure}",
    ):
        html = await (await web_client.get(path, headers={"Cookie": cookies})).text()
        assert "系统升级" not in html and 'class="notice" role="status"' not in html, path

    # The real note, after a form: shown, and its signature does not carry another text.
    buyer = await make_user(nickname="小李")
    order = await paid_order(settings, wechat, buyer, community)
    await _say(web_client, "到货", "liu")
    ticket = await pickup.ticket(principal=principal_of(buyer), order_id=str(order.id))
    html = await (await web_client.get("/console/pickups", headers={"Cookie": cookies})).text()
    verified = await web_client.post(
        "/console/pickups/verify",
        data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html).group(1),
              "code": ticket.code},
        headers={"Cookie": cookies},
        allow_redirects=False,
    )  # fmt: skip
    where = verified.headers["Location"]
    shown = await (await web_client.get(where, headers={"Cookie": cookies})).text()
    assert '<p class="notice" role="status">已核销：小李' in shown
    swapped = re.sub(r"note=[^&]+", f"note={lure}", where)
    html = await (await web_client.get(swapped, headers={"Cookie": cookies})).text()
    assert "系统升级" not in html and "已核销" not in html

    await operator()
    link = re.search(r"http\S+/console/login\?token=\S+", await _say(web_client, "后台", "ops"))
    ops = await _login(web_client, link.group(0), home="/admin")
    for path in (f"/admin/users?note={lure}", f"/admin/reviews?note={lure}"):
        html = await (await web_client.get(path, headers={"Cookie": ops})).text()
        assert "系统升级" not in html and 'class="notice" role="status"' not in html, path
