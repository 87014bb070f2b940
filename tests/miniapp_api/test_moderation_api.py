"""Moderation through the API: word lists, nicknames, the queue, mutes, the spec."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from models.moderation import ItemStatus, ModerationItem, Mute
from models.user import Role, User
from qunshop.config import Settings
from tests.support.factories import auth, make_user
from tests.support.fake_wechat import FakeWeChat

WORDS = "/api/v1/admin/moderation/words"


async def test_only_admins_edit_the_word_list(client: TestClient, settings: Settings) -> None:
    shopper = await make_user()
    assert (await client.get(WORDS, headers=auth(shopper, settings))).status == 403
    assert (await client.get(WORDS)).status == 401
    admin = auth(await make_user(Role.ADMIN), settings)
    resp = await client.post(WORDS, json={"words": ["！！"], "category": "x"}, headers=admin)
    assert resp.status == 422 and (await resp.json())["code"] == "word_invalid"
    resp = await client.post(WORDS, json={"words": ["ＶＸ号", "vx号", "代购"]}, headers=admin)
    assert sorted(w["word"] for w in (await resp.json())["items"]) == ["vx号", "代购"]
    listed = (await (await client.get(WORDS, headers=admin)).json())["items"]
    assert sorted(w["word"] for w in listed) == ["vx号", "代购"]
    first = next(w for w in listed if w["word"] == "代购")
    assert (await client.delete(f"{WORDS}/{first['id']}", headers=admin)).status == 204
    assert (await client.delete(f"{WORDS}/{first['id']}", headers=admin)).status == 404


async def test_a_nickname_is_screened_before_it_is_shown(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    admin = auth(await make_user(Role.ADMIN), settings)
    await client.post(WORDS, json={"words": ["VX号"], "category": "广告"}, headers=admin)
    user = await make_user(nickname="小李")
    headers = auth(user, settings)
    resp = await client.patch("/api/v1/me/profile", json={"nickname": "加ｖｘ 号"}, headers=headers)
    body = await resp.json()
    assert resp.status == 422 and body["code"] == "content_refused" and body["word"] == "vx号"
    assert (await User.get(id=user.id)).nickname == "小李"

    wechat.review_words["团长"] = 21000
    resp = await client.patch("/api/v1/me/profile", json={"nickname": "真团长"}, headers=headers)
    assert resp.status == 200 and (await resp.json())["nickname"] == "小李"  # held
    assert wechat.sec_checks[-1]["scene"] == 1
    item = await ModerationItem.get(kind="nickname")
    assert item.status is ItemStatus.REVIEW and item.author_id == user.id
    resp = await client.post(f"/api/v1/admin/moderation/items/{item.id}/approve", headers=admin)
    assert resp.status == 200
    assert (await User.get(id=user.id)).nickname == "真团长"

    fine = await client.patch("/api/v1/me/profile", json={"nickname": "小李子"}, headers=headers)
    assert (await fine.json())["nickname"] == "小李子"


async def test_repeated_offences_mute_for_a_day(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    wechat.risky_words["骂人"] = 20003
    user = await make_user()
    headers = auth(user, settings)
    for _ in range(3):
        resp = await client.patch(
            "/api/v1/me/profile", json={"nickname": "骂人王"}, headers=headers
        )
        assert resp.status == 422 and "辱骂" in (await resp.json())["detail"]
    resp = await client.patch("/api/v1/me/profile", json={"nickname": "好人"}, headers=headers)
    body = await resp.json()
    assert resp.status == 403 and body["code"] == "user_muted"
    mute = await Mute.get(user_id=user.id)
    assert body["until"] == mute.until.isoformat()


async def test_rejecting_counts_against_the_author(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    wechat.review_words["?"] = 21000
    user = await make_user(nickname="a")
    await client.patch("/api/v1/me/profile", json={"nickname": "b?"}, headers=auth(user, settings))
    item = await ModerationItem.get(kind="nickname")
    admin = auth(await make_user(Role.ADMIN), settings)
    resp = await client.post(
        f"/api/v1/admin/moderation/items/{item.id}/reject", json={"reason": "冒充"}, headers=admin
    )
    assert resp.status == 200 and (await resp.json())["status"] == "rejected"
    assert (await User.get(id=user.id)).nickname == "a"
    rejected = await client.get("/api/v1/admin/moderation/queue?status=rejected", headers=admin)
    assert [i["reason"] for i in (await rejected.json())["items"]] == ["冒充"]
    missing = await client.post("/api/v1/admin/moderation/items/nope/approve", headers=admin)
    assert missing.status == 404


async def test_the_endpoints_are_in_the_spec(client: TestClient) -> None:
    spec = await (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in (
        WORDS,
        f"{WORDS}/{{word_id}}",
        "/api/v1/admin/moderation/queue",
        "/api/v1/admin/moderation/items/{item_id}/approve",
        "/api/v1/admin/moderation/items/{item_id}/reject",
        "/api/v1/reports",
    ):
        assert path in paths, path
    assert "409" in paths["/api/v1/admin/moderation/items/{item_id}/approve"]["post"]["responses"]
