"""Every link a person is handed lands somewhere real.

A realistic day in a group (a leader binds and opens a team, shoppers browse, join, link,
pay, invite; the team succeeds and the goods arrive) while every chat reply, every share
payload and every piece of news WeChat was asked to deliver is kept. Each http(s) link to
our public base URL, and the H5 page of each mini-program path, must answer 200.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from models.community import Community
from models.user import User
from qunshop.clock import FrozenClock
from tests.journeys.doors import Doors
from tests.support.factories import make_campaign, make_community

# A backslash ends a link too: JSON writes a newline as \\n.
URL = re.compile(r"https?://[^\s\\\"'<>()\[\]「」，。；]+")
# A path with its query is a link; a bare page name is a mini-program code's page.
MINI_PATH = re.compile(r"/?pages/[a-z]+/index\?[^\s\\\"'<>()\[\]「」，。；]+")
PRIVATE_PAGES = {"/pages/order/index"}  # a buyer's own order: the mini-program only, no H5


def h5_of(path: str) -> str:
    """The H5 page a desktop or browser opens for a mini-program path."""
    split = urlsplit("/" + path.lstrip("/"))
    query = {k: v[0] for k, v in parse_qs(split.query).items()}
    page = split.path
    if page == "/pages/team/index":
        return f"/h5/teams/{query['code']}"
    if page == "/pages/campaign/index":
        return f"/h5/campaigns/{query['id']}"
    if page == "/pages/flash/index":
        return f"/h5/flash-sales/{query['id']}"
    if page == "/pages/link/index":
        return f"/h5/link?token={query['token']}"
    if page == "/pages/index/index":
        return f"/h5/invite?from={query.get('from') or query['s']}"
    raise AssertionError(f"a mini-program page with no H5 page: {path}")


def links_in(base: str, *sources: Any) -> set[str]:
    """Our links (as paths on this server) in whatever the sources hold."""
    found: set[str] = set()
    for source in sources:
        text = (
            source
            if isinstance(source, str)
            else json.dumps(source, ensure_ascii=False, default=str)
        )
        for url in URL.findall(text):
            if url.startswith(base):
                found.add(url.removeprefix(base) or "/")
        for path in MINI_PATH.findall(text):
            if urlsplit("/" + path.lstrip("/")).path not in PRIVATE_PAGES:
                found.add(h5_of(path))
    return found


async def test_every_link_handed_out_answers(doors: Doors, clock: FrozenClock) -> None:
    seen: list[Any] = []

    async def group(text: str, sender: str) -> dict[str, Any]:
        frame = await doors.frame_in_group(text, sender)
        seen.append(frame)
        return frame

    async def alone(text: str, sender: str) -> None:
        frame = await doors.bot.reply(doors.bot.text(text, sender=sender, chat_id=None))
        seen.append(frame)

    community = await make_community(name="阳光花园")
    await Community.filter(id=community.id).update(chat_id=None)  # not yet bound to a group
    leader = await User.get(id=community.leader_id)
    await doors.leader_binds_chat(leader, sender="wang")
    await doors.leader_binds_group(community, sender="wang")
    campaign = await make_campaign(community, team_size=2, group_price=2990, now=clock.now())

    # The chat: every command a shopper and the leader would use on day one.
    for text in ("帮助", "团购", "商品"):
        await group(text, "li-si")
    code = await doors.leader_opens_team(sender="wang")
    seen.append(await doors.frame_in_group("开团 1", "wang"))  # a second card, its own code
    await group(f"参团 {code}", "li-si")
    await group("邀请", "li-si")
    await alone("我的订单", "zhao-liu")
    await alone("邀请", "zhao-liu")
    await alone("团购", "li-si")
    await alone("后台", "wang")
    await doors.send()

    # The mini-program: she links with the token she was sent, pays; a neighbour fills the team.
    (token,) = set(re.findall(r"token=([A-Za-z0-9_-]+)", doors.wecom_member_receives("li-si")[0]))
    li_si = await doors.log_in("code-lisi", "o-lisi-mini")
    await doors.accept_news(li_si)
    status, _ = await doors.api("POST", "/api/v1/me/links", li_si, json={"token": token})
    assert status == 200
    status, mine = await doors.api("GET", "/api/v1/orders", li_si)
    await doors.prepay_and_pay(mine["items"][0]["id"], li_si)
    zhang = await doors.log_in("code-zhang", "o-zhang-mini")
    status, seat = await doors.api("POST", f"/api/v1/teams/{code}/join", zhang)
    assert status == 201
    await doors.prepay_and_pay(seat["order"]["id"], zhang)

    # Share payloads, as the mini-program asks for them.
    for path in (
        f"/api/v1/campaigns/{campaign.id}/share",
        f"/api/v1/teams/{code}/share",
        "/api/v1/me/invite",
    ):
        status, payload = await doors.api("GET", path, li_si)
        assert status == 200, (path, payload)
        seen.append(payload)

    # The news: 成团, then 到货 with the codes.
    await doors.send()
    await group("到货", "wang")
    await doors.send()
    seen.extend(
        [
            doors.wechat.robot_messages,
            doors.wechat.subscribe_messages,
            doors.wechat.custom_messages,
            doors.wechat.wecom_app_messages,
        ]
    )

    links = links_in(doors.settings.public_base_url, *seen)
    kinds = {re.sub(r"[/?].*", "", link.removeprefix("/h5/").removeprefix("/")) for link in links}
    # The links are there to be checked: cards, invites, linking, codes, the console.
    assert {"teams", "invite", "link", "campaigns", "api", "console"} <= kinds, sorted(links)
    answers = {}
    for link in sorted(links):
        resp = await doors.client.get(link)
        answers[link] = resp.status
    assert {link: s for link, s in answers.items() if s != 200} == {}
