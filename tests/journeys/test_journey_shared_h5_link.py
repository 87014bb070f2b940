"""A friend arrives by a sharer's H5 link (``/h5/teams/<code>?s=<sharer's code>``), goes on
into the mini-program, joins and pays: bound to the sharer as by the mini-program's own
share, so the sharer's invite earning accrues. Through the real doors only."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs

from aiohttp.test_utils import TestClient

from models.growth import EarningEntry, EarningEvent, EarningKind, InviteBinding, Visit
from models.user import User
from qunshop.config import Settings
from tests.journeys.doors import Doors
from tests.support.factories import make_campaign
from tests.support.fake_wechat import FakeWeChat

BUTTON = re.compile(r'<a class="btn mobile-only" href="([^"]+)">')


async def _page(client: TestClient, path: str) -> str:
    resp = await client.get(path)
    assert resp.status == 200, await resp.text()
    return unescape(await resp.text())


async def test_a_friend_by_a_shared_h5_link_is_bound_to_the_sharer_and_earns_them_the_invite(
    journey: TestClient, doors: Doors, wechat: FakeWeChat, settings: Settings
) -> None:
    campaign = await make_campaign(team_size=2, group_price=10_000, per_user_limit=5)
    aunt = await doors.log_in("code-aunt", "o-aunt")
    started = await doors.start_team(campaign.id, aunt)
    team = started["team"]["code"]
    await doors.prepay_and_pay(started["order"]["id"], aunt)
    status, shared = await doors.api("GET", f"/api/v1/teams/{team}/share", aunt)
    assert status == 200, shared
    code = shared["code"]

    # The plain page carries no sharer; the sharer's link carries theirs on, in the path to
    # copy, the URL link's button and the desktop's QR code, though the plain copy was
    # rendered a moment before (each sharer's copy is kept apart).
    plain = await _page(journey, f"/h5/teams/{team}")
    assert f"pages/team/index?code={team}<" in plain and code not in plain
    html = await _page(journey, f"/h5/teams/{team}?s={code.lower()}")  # typed in lower case
    assert f"pages/team/index?code={team}&s={code}" in html
    (link,) = BUTTON.findall(html)
    assert wechat.url_links[link] == {**wechat.url_links[link], "path": "pages/team/index"}
    opened = parse_qs(wechat.url_links[link]["query"])
    assert opened == {"code": [team], "s": [code]}
    # A made-up code is not carried on (nor sent to WeChat as a URL link to make).
    forged = code[:-1] + ("A" if code[-1] != "A" else "B")
    made = len(wechat.url_links)
    refused = await _page(journey, f"/h5/teams/{team}?s={forged}")
    assert f"pages/team/index?code={team}<" in refused and forged not in refused
    assert len(wechat.url_links) == made

    # The link opens the mini-program's team page with that query: it enters with the code,
    # as it does for a share made in the mini-program, and the friend is bound to the aunt.
    friend = await doors.log_in("code-friend", "o-friend")
    status, entered = await doors.api(
        "POST", "/api/v1/attribution/entries", friend, json={"code": opened["s"][0]}
    )
    assert (status, entered["outcome"]) == (200, "bound"), entered
    aunt_user, friend_user = await User.get(openid="o-aunt"), await User.get(openid="o-friend")
    binding = await InviteBinding.get(invitee_id=friend_user.id)
    assert binding.inviter_id == aunt_user.id
    assert await Visit.filter(user_id=friend_user.id, sharer_id=aunt_user.id).count() == 1

    # Joins and pays: the aunt's invite earning accrues on the friend's order.
    status, joined = await doors.api("POST", f"/api/v1/teams/{opened['code'][0]}/join", friend)
    assert status == 201, joined
    await doors.prepay_and_pay(joined["order"]["id"], friend)
    invite_rows = await EarningEntry.filter(
        order_id=joined["order"]["id"], kind=EarningKind.INVITE_L1, event=EarningEvent.ACCRUE
    )
    assert [(r.earner_id, r.amount) for r in invite_rows] == [(aunt_user.id, 300)]
    assert (
        await EarningEntry.filter(earner_id=aunt_user.id, kind=EarningKind.INVITE_L1).count() == 1
    )
