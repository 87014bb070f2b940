"""Shares, mini-program codes, entries, group attribution, group figures, leaderboards, rules."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from models.community import Community
from models.groupbuy import Team
from models.growth import InviteBinding, Visit
from models.order import Order
from models.user import Role, User
from qunshop.config import Settings
from qunshop.keys import REDIS
from services import groupbuy, ratelimit
from tests.support.factories import auth, make_campaign, make_community, make_user
from tests.support.fake_wechat import WXA_PNG, FakeWeChat
from tests.support.growth import (
    direct_order,
    encrypt_open_data,
    new_session_key,
    now,
    pay,
    principal_of,
)
from wechat import tokens

WXACODE = "/wxa/getwxacodeunlimit"


async def _problem(resp: Any, status: int) -> str:
    assert resp.status == status, await resp.text()
    body = await resp.json()
    return body["code"]


async def _share(client: TestClient, settings: Settings, user: User, path: str) -> dict:
    resp = await client.get(path, headers=auth(user, settings))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_share_payloads(client: TestClient, settings: Settings) -> None:
    community = await make_community()
    campaign = await make_campaign(community, team_size=3, group_price=1990)
    sharer = await make_user(nickname="阿花")
    shared = await _share(client, settings, sharer, f"/api/v1/campaigns/{campaign.id}/share")
    code = shared["code"]
    assert shared["kind"] == "campaign" and len(code) <= 32
    assert shared["path"] == f"/pages/campaign/index?id={campaign.id}&s={code}"
    assert "阿花" in shared["title"] and campaign.title in shared["title"]
    assert "19.90" in shared["title"]
    assert shared["wxacode_page"] == "pages/campaign/index"
    assert shared["wxacode_url"].endswith(f"/api/v1/share-codes/{code}/wxacode")
    again = await _share(client, settings, sharer, f"/api/v1/campaigns/{campaign.id}/share")
    assert again["code"] == code

    team = (
        await groupbuy.start_team(
            principal=principal_of(sharer), campaign_id=str(campaign.id), now=now()
        )
    ).team
    shared = await _share(client, settings, sharer, f"/api/v1/teams/{team.code}/share")
    assert shared["kind"] == "team" and shared["code"] != code
    assert shared["path"] == f"/pages/team/index?code={team.code}&s={shared['code']}"
    assert "3人团" in shared["title"]

    invite = await _share(
        client, settings, sharer, f"/api/v1/me/invite?community_id={community.id}"
    )
    assert invite["kind"] == "invite"
    assert invite["path"] == f"/pages/index/index?s={invite['code']}"
    assert "阿花" in invite["title"]

    missing = await client.get("/api/v1/campaigns/nope/share", headers=auth(sharer, settings))
    assert await _problem(missing, 404) == "campaign_not_found"
    assert (await client.get(f"/api/v1/campaigns/{campaign.id}/share")).status == 401


async def _invite_code(client: TestClient, settings: Settings, user: User) -> str:
    return (await _share(client, settings, user, "/api/v1/me/invite"))["code"]


async def test_the_mini_program_code_is_made_once_and_cached(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    sharer = await make_user()
    code = await _invite_code(client, settings, sharer)
    for _ in range(3):
        resp = await client.get(f"/api/v1/share-codes/{code}/wxacode")
        assert resp.status == 200, await resp.text()
        assert resp.content_type == "image/png"
        image = await resp.read()
        assert image.startswith(WXA_PNG)
    (call,) = wechat.calls_to(WXACODE)
    sent = json.loads(call.body)
    assert sent["scene"] == code and sent["page"] == "pages/index/index"
    assert wechat.token_fetches == 1  # the token was fetched once, into Redis


async def test_a_refused_token_is_refreshed_once(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    redis = client.server.app[REDIS]
    key = tokens.wechat_key(settings.wechat_appid)  # the key deployments already hold
    await redis.set(key, "STALE-TOKEN")
    code = await _invite_code(client, settings, await make_user())
    resp = await client.get(f"/api/v1/share-codes/{code}/wxacode")
    assert resp.status == 200, await resp.text()
    assert [c.query["access_token"] for c in wechat.calls_to(WXACODE)][0] == "STALE-TOKEN"
    assert len(wechat.calls_to(WXACODE)) == 2
    assert (await redis.get(key)).decode() == wechat.wechat_token


async def test_a_revoked_token_is_forced_at_most_every_30_seconds(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    codes = [await _invite_code(client, settings, await make_user()) for _ in range(3)]
    assert (await client.get(f"/api/v1/share-codes/{codes[0]}/wxacode")).status == 200
    first = wechat.wechat_token
    assert first is not None
    wechat.revoked_tokens.add(first)  # refused, yet still what stable_token hands out

    resp = await client.get(f"/api/v1/share-codes/{codes[1]}/wxacode")
    assert resp.status == 200, await resp.text()
    assert wechat.wechat_token != first
    wechat.revoked_tokens.add(wechat.wechat_token)
    resp = await client.get(f"/api/v1/share-codes/{codes[2]}/wxacode")
    assert await _problem(resp, 502) == "wechat_unavailable"  # forced too recently
    forces = [json.loads(c.body)["force_refresh"] for c in wechat.calls_to("/cgi-bin/stable_token")]
    assert forces == [False, False, True, False]


async def test_bad_codes_and_spent_quota_never_reach_wechat(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    code = await _invite_code(client, settings, await make_user())
    tampered = code[:-1] + ("A" if code[-1] != "A" else "B")
    resp = await client.get(f"/api/v1/share-codes/{tampered}/wxacode")
    assert await _problem(resp, 422) == "share_code_invalid"
    redis = client.server.app[REDIS]
    for minute in (now(), now() + timedelta(minutes=1)):  # this minute's quota, and the next
        await redis.set(ratelimit.key(ratelimit.period_key("wxacode", minute, 60)), 5000)
    resp = await client.get(f"/api/v1/share-codes/{code}/wxacode")
    assert await _problem(resp, 429) == "wxacode_rate_limited"
    assert wechat.calls_to(WXACODE) == []


async def test_wechat_quota_errors_are_429(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    code = await _invite_code(client, settings, await make_user())
    wechat.messaging_failures[WXACODE] = [45009]
    resp = await client.get(f"/api/v1/share-codes/{code}/wxacode")
    assert await _problem(resp, 429) == "wxacode_rate_limited"
    wechat.messaging_failures[WXACODE] = [-1]
    resp = await client.get(f"/api/v1/share-codes/{code}/wxacode")
    assert await _problem(resp, 502) == "wechat_unavailable"
    assert (await client.get(f"/api/v1/share-codes/{code}/wxacode")).status == 200


async def test_entries_attribute_the_invite(client: TestClient, settings: Settings) -> None:
    sharer, visitor = await make_user(), await make_user()
    code = await _invite_code(client, settings, sharer)
    resp = await client.post(
        "/api/v1/attribution/entries", json={"code": code}, headers=auth(visitor, settings)
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["outcome"] == "bound"
    again = await client.post(
        "/api/v1/attribution/entries", json={"code": code}, headers=auth(visitor, settings)
    )
    assert (await again.json())["outcome"] == "already_bound"
    bad = await client.post(
        "/api/v1/attribution/entries",
        json={"code": "ABCDEFGHJKLMNPQRST"},
        headers=auth(await make_user(), settings),
    )
    assert await _problem(bad, 422) == "share_code_invalid"
    assert await InviteBinding.all().count() == 1
    assert await Visit.all().count() == 2


# Group attribution -----------------------------------------------------------------------------


async def _login(client: TestClient, wechat: FakeWeChat, session_key: str) -> tuple[User, dict]:
    wechat.sessions["code-1"] = {"openid": "o-group-visitor", "session_key": session_key}
    resp = await client.post("/api/v1/session", json={"code": "code-1"})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    user = await User.get(id=body["user"]["id"])
    return user, {"Authorization": f"Bearer {body['token']}"}


def _enter_info(settings: Settings, *, appid: str | None = None, age: int = 5, **data: Any) -> dict:
    stamp = int((now() - timedelta(seconds=age)).timestamp())
    return {
        "opengid": "tGgroup-opengid-1",
        "chat_type": 3,
        "watermark": {"appid": appid or settings.wechat_appid, "timestamp": stamp},
        **data,
    }


async def test_group_entry_binds_the_visit_team_and_order(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    key = new_session_key()
    visitor, headers = await _login(client, wechat, key)
    community = await make_community()
    campaign = await make_campaign(community)
    head = await make_user()
    team = (
        await groupbuy.start_team(
            principal=principal_of(head), campaign_id=str(campaign.id), now=now()
        )
    ).team
    # only a member's visit may place a team in a group
    await groupbuy.join_team(principal=principal_of(visitor), team_ref=team.code, now=now())
    order = await direct_order(visitor, community)
    sharer_code = await _invite_code(client, settings, head)
    data, iv = encrypt_open_data(key, _enter_info(settings))

    resp = await client.post(
        "/api/v1/attribution/group-entries",
        json={
            "encrypted_data": data,
            "iv": iv,
            "code": sharer_code,
            "team_ref": team.code,
            "order_id": str(order.id),
        },
        headers=headers,
    )
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["opengid"] == "tGgroup-opengid-1" and body["chat_type"] == 3
    assert body["team_bound"] and body["order_bound"] and body["outcome"] == "bound"
    visit = await Visit.get(user_id=visitor.id)
    assert visit.opengid == "tGgroup-opengid-1" and visit.sharer_id == head.id
    assert (await Team.get(id=team.id)).chat_id == "tGgroup-opengid-1"
    assert (await Order.get(id=order.id)).chat_id == "tGgroup-opengid-1"


async def test_the_older_share_info_payload_works_too(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    key = new_session_key()
    visitor, headers = await _login(client, wechat, key)
    info = _enter_info(settings)
    info.pop("opengid")
    info.pop("chat_type")
    data, iv = encrypt_open_data(key, {"openGId": "tGshare-info", **info})
    resp = await client.post(
        "/api/v1/attribution/group-entries",
        json={"encrypted_data": data, "iv": iv},
        headers=headers,
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["outcome"] == "no_code"
    assert (await Visit.get(user_id=visitor.id)).opengid == "tGshare-info"


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("other_appid", 422, "open_data_invalid"),
        ("stale_watermark", 422, "open_data_invalid"),
        ("huge_watermark", 422, "open_data_invalid"),  # 10**400: an OverflowError, a 500
        ("no_group", 422, "open_data_invalid"),
        ("stale_session_key", 401, "wechat_session_expired"),
        ("not_base64", 422, "open_data_invalid"),
        ("tampered_code", 422, "share_code_invalid"),
    ],
)
async def test_group_entries_that_do_not_check_are_refused(
    client: TestClient, settings: Settings, wechat: FakeWeChat, case: str, status: int, code: str
) -> None:
    key = new_session_key()
    _, headers = await _login(client, wechat, key)
    info = _enter_info(settings)
    body: dict[str, Any] = {}
    if case == "other_appid":
        info = _enter_info(settings, appid="wxSOMEONEELSE")
    elif case == "stale_watermark":
        info = _enter_info(settings, age=3600)
    elif case == "huge_watermark":
        info["watermark"]["timestamp"] = 10**400
    elif case == "no_group":
        info.pop("opengid")
    data, iv = encrypt_open_data(new_session_key() if case == "stale_session_key" else key, info)
    body = {"encrypted_data": data, "iv": iv}
    if case == "not_base64":
        body["encrypted_data"] = "%%%"
    if case == "tampered_code":
        body["code"] = "ABCDEFGHJKLMNPQRST"
    resp = await client.post("/api/v1/attribution/group-entries", json=body, headers=headers)
    assert await _problem(resp, status) == code
    assert await Visit.all().count() == 0


async def test_no_session_key_asks_to_log_in_again(client: TestClient, settings: Settings) -> None:
    user = await make_user()  # a token, but no wx.login session on this server
    data, iv = encrypt_open_data(new_session_key(), _enter_info(settings))
    resp = await client.post(
        "/api/v1/attribution/group-entries",
        json={"encrypted_data": data, "iv": iv},
        headers=auth(user, settings),
    )
    assert await _problem(resp, 401) == "wechat_session_expired"


async def test_group_figures_for_the_leader(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    key = new_session_key()
    visitor, headers = await _login(client, wechat, key)
    community = await make_community()
    await Community.filter(id=community.id).update(chat_id="tGgroup-opengid-1")
    leader = await User.get(id=community.leader_id)
    data, iv = encrypt_open_data(key, _enter_info(settings))
    resp = await client.post(
        "/api/v1/attribution/group-entries",
        json={"encrypted_data": data, "iv": iv},
        headers=headers,
    )
    assert resp.status == 200, await resp.text()
    # paid after the group visit, with no group of its own: the group's order
    order = await pay(settings, wechat, await direct_order(visitor, community, price=2500))
    assert order.chat_id == "tGgroup-opengid-1"
    await direct_order(await make_user(), community)  # unpaid: not counted

    resp = await client.get(
        f"/api/v1/communities/{community.id}/groups", headers=auth(leader, settings)
    )
    assert resp.status == 200, await resp.text()
    (group,) = (await resp.json())["items"]
    assert group == {
        "chat_id": "tGgroup-opengid-1",
        "visits": 1,
        "visitors": 1,
        "teams": 0,
        "orders": 1,
        "buyers": 1,
        "gmv": 2500,
        "refunded": 0,
        "conversion_bps": 10_000,
    }
    other = await make_user(Role.LEADER)
    resp = await client.get(
        f"/api/v1/communities/{community.id}/groups", headers=auth(other, settings)
    )
    assert await _problem(resp, 403) == "not_community_leader"


async def test_leaderboard_endpoint(client: TestClient, settings: Settings) -> None:
    community = await make_community()
    sharer = await make_user(nickname="first")
    code = (
        await _share(client, settings, sharer, f"/api/v1/me/invite?community_id={community.id}")
    )["code"]
    visitor = await make_user()
    await client.post(
        "/api/v1/attribution/entries", json={"code": code}, headers=auth(visitor, settings)
    )
    resp = await client.get(
        f"/api/v1/leaderboards?scope=community&id={community.id}&board=inviters",
        headers=auth(visitor, settings),
    )
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["items"] == [
        {"rank": 1, "user_id": str(sharer.id), "nickname": "first", "score": 1}
    ]
    bad = await client.get(
        f"/api/v1/leaderboards?scope=planet&id={community.id}&board=inviters",
        headers=auth(visitor, settings),
    )
    assert await _problem(bad, 422) == "validation_failed"


async def test_rules_endpoint(client: TestClient, settings: Settings) -> None:
    admin, leader = await make_user(Role.ADMIN), await make_user(Role.LEADER)
    rules = {
        "leader_share_bps": 800,
        "invite_commission_bps": [300, 100],
        "binding_scope": "new_users",
        "binding_days": 15,
    }
    resp = await client.put("/api/v1/growth/rules", json=rules, headers=auth(admin, settings))
    assert resp.status == 200, await resp.text()
    assert await resp.json() == rules
    pyramid = {**rules, "invite_commission_bps": [300, 100, 50]}
    resp = await client.put("/api/v1/growth/rules", json=pyramid, headers=auth(admin, settings))
    assert await _problem(resp, 422) == "pyramid_refused"
    resp = await client.put("/api/v1/growth/rules", json=rules, headers=auth(leader, settings))
    assert await _problem(resp, 403) == "forbidden"
    resp = await client.get("/api/v1/growth/rules", headers=auth(leader, settings))
    assert await resp.json() == rules


async def test_a_stranger_cannot_place_a_team_in_a_group(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    key = new_session_key()
    _, headers = await _login(client, wechat, key)
    campaign = await make_campaign(await make_community())
    head = await make_user()
    team = (
        await groupbuy.start_team(
            principal=principal_of(head), campaign_id=str(campaign.id), now=now()
        )
    ).team
    data, iv = encrypt_open_data(key, _enter_info(settings))
    resp = await client.post(
        "/api/v1/attribution/group-entries",
        json={"encrypted_data": data, "iv": iv, "team_ref": team.code},
        headers=headers,
    )
    assert resp.status == 200
    assert (await Team.get(id=team.id)).chat_id is None
