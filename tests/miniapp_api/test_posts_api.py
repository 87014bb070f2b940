"""Posts through the API: moderated before the feed, likes one per person (1,000 at once on
PostgreSQL, counted in rows), comments with one level of replies, follows and their feed."""

from __future__ import annotations

import asyncio
import uuid

from aiohttp.test_utils import TestClient

from models.community import Community
from models.moderation import ModerationItem
from models.post import Post, PostLike
from models.user import Role, User
from qunshop.config import Settings
from tests.support.factories import auth, join, make_campaign, make_community, make_user
from tests.support.fake_wechat import FakeWeChat


async def _member(community: Community, nickname: str = "邻居") -> User:
    user = await make_user(nickname=nickname)
    await join(user, community)
    return user


async def _post(client: TestClient, community: Community, user: User, settings: Settings, **body):
    resp = await client.post(
        f"/api/v1/communities/{community.id}/posts", json=body, headers=auth(user, settings)
    )
    return resp.status, await resp.json()


async def _feed(client: TestClient, community: Community, headers=None) -> list[dict]:
    resp = await client.get(f"/api/v1/communities/{community.id}/posts", headers=headers)
    assert resp.status == 200
    return (await resp.json())["items"]


async def test_a_post_with_a_banned_word_never_reaches_the_feed(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    community = await make_community()
    admin = auth(await make_user(Role.ADMIN), settings)
    await client.post(
        "/api/v1/admin/moderation/words",
        json={"words": ["代购"], "category": "广告"},
        headers=admin,
    )
    li = await _member(community, "小李")
    status, body = await _post(client, community, li, settings, text="专业代 购，私聊")
    assert status == 422 and body["code"] == "content_refused"
    assert await Post.all().count() == 0

    # WeChat wants one reviewed: out of sight until an operator approves it.
    wechat.review_words["秒杀群"] = 10001
    status, held = await _post(client, community, li, settings, text="进秒杀群", kind="post")
    assert status == 201 and held["held"] is True
    campaign = await make_campaign(community)
    status, shown = await _post(
        client,
        community,
        li,
        settings,
        kind="show",
        text="晒单：橙子到了",
        campaign_id=str(campaign.id),
    )
    assert status == 201 and shown["held"] is False
    feed = await _feed(client, community)
    assert [p["text"] for p in feed] == ["晒单：橙子到了"]
    assert feed[0]["kind"] == "show" and feed[0]["campaign_id"] == str(campaign.id)
    item = await ModerationItem.get(ref=held["post"]["id"])
    resp = await client.post(f"/api/v1/admin/moderation/items/{item.id}/approve", headers=admin)
    assert resp.status == 200
    assert {p["text"] for p in await _feed(client, community)} == {"晒单：橙子到了", "进秒杀群"}

    # Only members post; a campaign of another community cannot be tagged.
    stranger = await make_user()
    status, body = await _post(client, community, stranger, settings, text="hi")
    assert status == 403 and body["code"] == "not_community_member"
    other = await make_campaign(await make_community())
    status, body = await _post(client, community, li, settings, text="x", campaign_id=str(other.id))
    assert status == 404 and body["code"] == "campaign_not_found"


async def test_a_thousand_people_like_one_post_at_once(
    client: TestClient, settings: Settings
) -> None:
    community = await make_community()
    author = await _member(community)
    _, made = await _post(client, community, author, settings, text="今天的菜很新鲜")
    post_id = made["post"]["id"]
    users = [User(id=uuid.uuid4(), openid=f"o-like-{i:04d}", nickname=f"u{i}") for i in range(1000)]
    await User.bulk_create(users)
    url = f"/api/v1/posts/{post_id}/likes"
    # Each person likes once, and the first hundred twice, all released together.
    callers = users + users[:100]
    responses = await asyncio.gather(
        *(client.post(url, headers=auth(u, settings)) for u in callers)
    )
    assert [r.status for r in responses] == [200] * 1100
    assert await PostLike.filter(post_id=post_id).count() == 1000
    assert await PostLike.filter(post_id=post_id).distinct().values_list("user_id", flat=True)
    feed = await _feed(client, community, headers=auth(users[0], settings))
    assert feed[0]["likes"] == 1000 and feed[0]["liked"] is True

    resp = await client.delete(url, headers=auth(users[0], settings))
    assert await resp.json() == {"likes": 999, "liked": False}
    assert (await _feed(client, community, headers=auth(users[0], settings)))[0]["liked"] is False


async def test_comments_have_one_level_of_replies(client: TestClient, settings: Settings) -> None:
    community = await make_community()
    author = await _member(community, "作者")
    _, made = await _post(client, community, author, settings, text="求推荐")
    url = f"/api/v1/posts/{made['post']['id']}/comments"
    li, wang = await _member(community, "小李"), await _member(community, "老王")
    first = await (
        await client.post(url, json={"text": "橙子好"}, headers=auth(li, settings))
    ).json()
    reply = await (
        await client.post(
            url, json={"text": "同意", "parent_id": first["id"]}, headers=auth(wang, settings)
        )
    ).json()
    deeper = await client.post(
        url, json={"text": "+1", "parent_id": reply["id"]}, headers=auth(author, settings)
    )
    assert deeper.status == 201 and (await deeper.json())["parent_id"] == first["id"]
    threads = (await (await client.get(url)).json())["items"]
    assert len(threads) == 1 and threads[0]["comment"]["author"] == "小李"
    assert [r["text"] for r in threads[0]["replies"]] == ["同意", "+1"]
    assert (await _feed(client, community))[0]["comments"] == 3
    missing = await client.post(
        url, json={"text": "x", "parent_id": str(uuid.uuid4())}, headers=auth(li, settings)
    )
    assert missing.status == 404 and (await missing.json())["code"] == "comment_not_found"


async def test_the_following_feed(client: TestClient, settings: Settings) -> None:
    home, other, third = await make_community(), await make_community(), await make_community()
    reader = await make_user()
    headers = auth(reader, settings)
    writer = await _member(home)
    await _post(client, home, writer, settings, text="home news")
    leader = await User.get(id=other.leader_id)
    await _post(client, other, leader, settings, text="leader news")
    await _post(client, third, await _member(third), settings, text="unfollowed")

    assert (await (await client.get("/api/v1/me/feed", headers=headers)).json())["items"] == []
    resp = await client.post(
        "/api/v1/me/follows", json={"community_id": str(home.id)}, headers=headers
    )
    assert resp.status == 201
    again = await client.post(
        "/api/v1/me/follows", json={"community_id": str(home.id)}, headers=headers
    )
    assert (await again.json())["id"] == (await resp.json())["id"]
    await client.post("/api/v1/me/follows", json={"leader_id": str(leader.id)}, headers=headers)
    feed = (await (await client.get("/api/v1/me/feed", headers=headers)).json())["items"]
    assert sorted(p["text"] for p in feed) == ["home news", "leader news"]
    bad = await client.post(
        "/api/v1/me/follows",
        json={"leader_id": str(leader.id), "community_id": str(home.id)},
        headers=headers,
    )
    assert bad.status == 422 and (await bad.json())["code"] == "follow_invalid"
    listed = (await (await client.get("/api/v1/me/follows", headers=headers)).json())["items"]
    assert len(listed) == 2
    gone = await client.delete(f"/api/v1/me/follows/{listed[0]['id']}", headers=headers)
    assert gone.status == 204
    assert len((await (await client.get("/api/v1/me/feed", headers=headers)).json())["items"]) == 1
