"""Lists that stopped at a bound without saying so (or hid rows behind it) page through
services/cursors: walked to the end a page at a time, each item comes once, none is missing,
and items sharing a time keep one order across the pages."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from models.coupon import Coupon, CouponKind, CouponStatus, CouponTemplate
from models.groupbuy import Team
from models.moderation import Shown
from models.post import Following, Post, PostKind
from models.user import Role, User
from qunshop.config import Settings
from services import cursors
from tests.support.factories import auth, make_campaign, make_community, make_user
from tests.support.pages import every_page


def _flat(pages: list[list[Any]]) -> list[str]:
    ids = [item["id"] for page in pages for item in page]
    assert len(ids) == len(set(ids)), "an item came twice"
    return ids


def _template(by: User, created_at: datetime, **values: Any) -> CouponTemplate:
    fields: dict[str, Any] = {"valid_days": 7, "stock_total": 10, "stock_left": 10, **values}
    return CouponTemplate(
        id=uuid.uuid4(),
        name="满20减5",
        kind=CouponKind.AMOUNT,
        threshold=2000,
        amount_off=500,
        created_by=by,
        created_at=created_at,
        **fields,
    )


async def test_claimable_coupons_filter_in_the_query_and_page(client: TestClient) -> None:
    """The 50 oldest templates were read and then filtered: 55 older ones of another community
    hid every newer one this community may claim."""
    admin, now = await make_user(Role.ADMIN), datetime.now(tz=UTC)
    here, there = await make_community(), await make_community()
    old, tie = now - timedelta(days=2), now - timedelta(hours=1)
    hidden = [_template(admin, old, community_id=there.id) for _ in range(55)]
    hidden += [_template(admin, old, valid_days=None, valid_until=now - timedelta(hours=2))]
    hidden += [_template(admin, old, stock_left=0), _template(admin, old, active=False)]
    hidden += [_template(admin, old, claimable=False)]
    shop_wide = [_template(admin, tie) for _ in range(4)]  # made the same instant
    ours = [_template(admin, now - timedelta(minutes=5), community_id=here.id) for _ in range(2)]
    await CouponTemplate.bulk_create([*hidden, *shop_wide, *ours])
    oldest_first = [str(t.id) for t in sorted(shop_wide, key=lambda t: t.id)]
    oldest_first += [str(t.id) for t in sorted(ours, key=lambda t: t.id)]

    first = await (await client.get("/api/v1/coupon-templates")).json()  # the default page
    assert [t["id"] for t in first["items"]] == oldest_first[:4] and first["next_cursor"] is None
    pages = await every_page(
        client, "/api/v1/coupon-templates", community_id=str(here.id), limit="3"
    )
    assert [len(p) for p in pages] == [3, 3] and _flat(pages) == oldest_first
    for bad in ({"cursor": "nope"}, {"limit": "0"}, {"limit": "101"}):
        assert (await client.get("/api/v1/coupon-templates", params=bad)).status == 422, bad


async def test_my_coupons_page_usable_first_then_the_rest(
    client: TestClient, settings: Settings
) -> None:
    """Usable ones soonest to expire, then the rest newest first: two parts of one keyset list,
    a page crossing from one to the other; it stopped at 50."""
    admin, me, now = await make_user(Role.ADMIN), await make_user(), datetime.now(tz=UTC)
    template = _template(admin, now - timedelta(days=30))
    await template.save()
    soon, later, claimed = now + timedelta(days=1), now + timedelta(days=5), now - timedelta(days=3)

    def coupon(n: int, **values: Any) -> Coupon:
        fields: dict[str, Any] = {
            "status": CouponStatus.AVAILABLE,
            "valid_from": now - timedelta(days=3),
            "valid_until": soon,
            "claimed_at": claimed,
            **values,
        }
        return Coupon(id=uuid.uuid4(), template=template, user=me, nth=n, source="claim", **fields)

    usable_tied = [coupon(n) for n in range(1, 4)]
    usable_late = [coupon(4, valid_until=later)]
    expired_tied = [
        coupon(n, status=CouponStatus.EXPIRED, valid_until=now - timedelta(days=1))
        for n in range(5, 8)
    ]
    lapsed = [coupon(8, valid_until=now - timedelta(hours=1), claimed_at=now - timedelta(days=9))]
    not_yet = [coupon(9, valid_from=now + timedelta(days=1), valid_until=later, claimed_at=now)]
    await Coupon.bulk_create([*usable_tied, *usable_late, *expired_tied, *lapsed, *not_yet])
    expected = [str(c.id) for c in sorted(usable_tied, key=lambda c: c.id)]
    expected += [str(usable_late[0].id), str(not_yet[0].id)]
    expected += [str(c.id) for c in sorted(expired_tied, key=lambda c: c.id, reverse=True)]
    expected += [str(lapsed[0].id)]

    headers = auth(me, settings)
    for size, lengths in (("2", [2, 2, 2, 2, 1]), ("4", [4, 4, 1]), ("9", [9])):
        pages = await every_page(client, "/api/v1/me/coupons", headers=headers, limit=size)
        assert [len(p) for p in pages] == lengths, size
        assert _flat(pages) == expected, size
        usable = [c["usable"] for p in pages for c in p]
        assert usable == [True] * 4 + [False] * 5
    beyond = cursors.encode(now, uuid.uuid4(), part=2)  # a part this list does not have
    for bad in ({"cursor": beyond}, {"cursor": "nope"}, {"limit": "0"}, {"limit": "101"}):
        refused = await client.get("/api/v1/me/coupons", params=bad, headers=headers)
        assert refused.status == 422, bad


async def test_my_teams_page_each_team_once(client: TestClient, settings: Settings) -> None:
    """The teams one started or joined, each once, newest team first; it stopped at 100."""
    me, others = await make_user(), [await make_user() for _ in range(2)]
    headers = auth(me, settings)
    mine = []
    for _ in range(3):
        campaign = await make_campaign(team_size=3)
        resp = await client.post(f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=headers)
        assert resp.status == 201, await resp.text()
        mine.append((await resp.json())["team"]["id"])
    for other in others:  # teams I join
        campaign = await make_campaign(team_size=3)
        path = f"/api/v1/campaigns/{campaign.id}/teams"
        started = await client.post(path, json={}, headers=auth(other, settings))
        team_id = (await started.json())["team"]["id"]
        joined = await client.post(f"/api/v1/teams/{team_id}/join", json={}, headers=headers)
        assert joined.status == 201, await joined.text()
        mine.append(team_id)
    # Teams started the same instant (on a busy minute they are): ties the id breaks.
    tied = datetime.now(tz=UTC)
    await Team.filter(id__in=mine[1:4]).update(created_at=tied)
    teams = await Team.filter(id__in=mine)
    expected = [str(t.id) for t in sorted(teams, key=lambda t: (t.created_at, t.id), reverse=True)]

    pages = await every_page(client, "/api/v1/me/teams", headers=headers, limit="2")
    assert [len(p) for p in pages] == [2, 2, 1] and _flat(pages) == expected
    theirs = await every_page(client, "/api/v1/me/teams", headers=auth(others[0], settings))
    assert _flat(theirs) == [mine[3]]
    refused = await client.get("/api/v1/me/teams", params={"cursor": "x"}, headers=headers)
    assert refused.status == 422


async def test_post_feeds_page_by_cursor_and_keep_posts_sharing_a_time(
    client: TestClient, settings: Settings
) -> None:
    """``before`` (the last post's time) skipped posts sharing it; the cursor does not. The
    old parameter is still read."""
    community, elsewhere = await make_community(), await make_community()
    author, now = await make_user(nickname="小王"), datetime.now(tz=UTC)
    tied = now - timedelta(minutes=10)

    def post(at: datetime, place: Any = community, shown: Shown = Shown.VISIBLE) -> Post:
        return Post(
            id=uuid.uuid4(),
            community=place,
            author=author,
            kind=PostKind.POST,
            text="晒单",
            shown=shown,
            created_at=at,
        )

    same = [post(tied) for _ in range(5)]
    newer, older = post(now - timedelta(minutes=1)), post(now - timedelta(hours=1))
    await Post.bulk_create([*same, newer, older, post(now, shown=Shown.HELD), post(now, elsewhere)])
    expected = [str(newer.id), *(str(p.id) for p in sorted(same, key=lambda p: p.id, reverse=True))]
    expected.append(str(older.id))

    path = f"/api/v1/communities/{community.id}/posts"
    pages = await every_page(client, path, limit="3")
    assert [len(p) for p in pages] == [3, 3, 1] and _flat(pages) == expected
    reader = await make_user()
    await Following.create(follower=reader, community=community, created_at=now)
    pages = await every_page(client, "/api/v1/me/feed", headers=auth(reader, settings), limit="2")
    assert [len(p) for p in pages] == [2, 2, 2, 1] and _flat(pages) == expected

    # The old way: ?before= still answers, and says next_before while more follow.
    first = await (await client.get(path, params={"limit": "2"})).json()
    assert datetime.fromisoformat(first["next_before"]) == tied and first["next_cursor"]
    older_only = await (await client.get(path, params={"before": tied.isoformat()})).json()
    assert [p["id"] for p in older_only["items"]] == [str(older.id)]
    assert older_only["next_cursor"] is None and older_only["next_before"] is None
    for bad in ({"cursor": "nope"}, {"limit": "0"}, {"limit": "101"}):
        assert (await client.get(path, params=bad)).status == 422, bad


async def test_the_document_names_each_paged_lists_parameters(client: TestClient) -> None:
    doc = await (await client.get("/openapi.json")).json()
    for path in (
        "/api/v1/coupon-templates",
        "/api/v1/me/coupons",
        "/api/v1/me/teams",
        "/api/v1/communities/{community_id}/posts",
        "/api/v1/me/feed",
        "/api/v1/campaigns",
        "/api/v1/me/bargains",
        "/api/v1/after-sales",
        "/api/v1/orders",
        "/api/v1/products",
    ):
        get = doc["paths"][path]["get"]
        params = {p["name"]: p["schema"] for p in get["parameters"] if p["in"] == "query"}
        limit = params["limit"]
        bounds = (limit["minimum"], limit["maximum"], limit["description"])
        assert bounds == (1, 100, "items per page"), path
        assert "next_cursor" in params["cursor"]["description"], path
        answer = get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        listed = doc["components"]["schemas"][answer.rsplit("/", 1)[1]]
        assert "next_cursor" in listed["properties"], path
    feed = doc["paths"]["/api/v1/me/feed"]["get"]
    before = next(p["schema"] for p in feed["parameters"] if p["name"] == "before")
    assert before["deprecated"] is True and "use cursor" in before["description"]
    day = doc["components"]["schemas"]["PickupDayOut"]["properties"]
    assert "all of them" in day["waiting_count"]["description"]
