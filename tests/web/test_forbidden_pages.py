"""A page refused (403) offers the way back, as every other error page does: to the page the
person came from, else to the pages that are theirs; never back to the refused page itself."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from models.community import Community
from models.user import Role
from qunshop.config import Settings
from tests.support.factories import auth, make_user
from tests.web.test_console_teams import _leader_of


def _back(html: str) -> tuple[str, str] | None:
    """The error page's one link back, and what it says."""
    found = re.search(r'role="alert">.*?<p><a href="([^"]*)"[^>]*>([^<]*)</a></p>', html, re.S)
    return (found.group(1), found.group(2)) if found else None


async def test_a_leader_refused_the_operators_pages_is_led_back(web_client: TestClient) -> None:
    cookies, _ = await _leader_of(web_client, "春晖社区", "li")
    here = f"http://{web_client.host}:{web_client.port}"

    typed = await web_client.get("/admin/campaigns", headers={"Cookie": cookies})
    assert typed.status == 403
    html = await typed.text()
    assert "你没有权限查看这个页面。" in html
    assert _back(html) == ("/console", "返回上一页")  # the operators' home is refused too

    followed = await web_client.get(
        "/admin/campaigns", headers={"Cookie": cookies, "Referer": f"{here}/console/pickups"}
    )
    assert _back(await followed.text()) == ("/console/pickups", "返回上一页")

    reloaded = await web_client.get(
        "/admin", headers={"Cookie": cookies, "Referer": f"{here}/admin"}
    )
    assert reloaded.status == 403
    assert _back(await reloaded.text()) == ("/console", "返回上一页")  # not to itself


async def test_a_form_refused_for_its_token_links_back_to_the_form(
    web_client: TestClient,
) -> None:
    cookies, _ = await _leader_of(web_client, "春晖社区", "li")
    here = f"http://{web_client.host}:{web_client.port}"
    refused = await web_client.post(
        "/console/pickups/verify",
        data={"code": "123456"},  # no CSRF token
        headers={"Cookie": cookies, "Referer": f"{here}/console/pickups"},
    )
    assert refused.status == 403
    assert _back(await refused.text()) == ("/console/pickups", "返回上一页")


async def test_a_revoked_leader_is_sent_to_the_front_page(
    web_client: TestClient, settings: Settings
) -> None:
    cookies, community = await _leader_of(web_client, "春晖社区", "li")
    assert isinstance(community, Community)
    admin = auth(await make_user(Role.ADMIN), settings)
    revoked = await web_client.delete(
        f"/api/v1/admin/users/{community.leader_id}/roles/leader", headers=admin
    )
    assert revoked.status == 200, await revoked.text()

    refused = await web_client.get("/console", headers={"Cookie": cookies})
    assert refused.status == 403
    assert _back(await refused.text()) == ("/", "回到首页")
