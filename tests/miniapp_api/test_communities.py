"""Communities through the HTTP door."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from models.community import Community, Membership, PickupPoint
from models.user import Role, User
from qunshop.config import Settings
from tests.support.factories import auth, join, make_community, make_user

PICKUP = {"name": "南门便利店", "address": "阳光花园 12 号", "hours": "09:00-21:00"}


async def test_admin_creates_a_community(client: TestClient, settings: Settings) -> None:
    admin = await make_user(Role.ADMIN)
    future_leader = await make_user(nickname="王姐")

    resp = await client.post(
        "/api/v1/communities",
        json={"name": "阳光花园", "leader_id": str(future_leader.id), "pickup_point": PICKUP},
        headers=auth(admin, settings),
    )

    assert resp.status == 201
    body = await resp.json()
    row = await Community.get(id=body["id"])
    assert row.name == "阳光花园" and row.leader_id == future_leader.id
    assert row.timezone == settings.timezone
    assert (await User.get(id=future_leader.id)).role is Role.LEADER
    assert body == {
        "id": str(row.id),
        "name": "阳光花园",
        "leader": {"id": str(future_leader.id), "nickname": "王姐"},
        "pickup_point": PICKUP,
        "member_count": 1,
        "is_leader": False,
    }


@pytest.mark.parametrize("role", [Role.SHOPPER, Role.LEADER])
async def test_non_admins_cannot_create(client: TestClient, settings: Settings, role: Role) -> None:
    actor = await make_user(role)
    resp = await client.post(
        "/api/v1/communities",
        json={"name": "x", "leader_id": str(actor.id)},
        headers=auth(actor, settings),
    )
    assert resp.status == 403
    assert (await resp.json())["code"] == "forbidden"
    assert await Community.all().count() == 0
    assert (await User.get(id=actor.id)).role is role


async def test_create_needs_a_login(client: TestClient) -> None:
    resp = await client.post("/api/v1/communities", json={"name": "x", "leader_id": "y"})
    assert resp.status == 401
    assert (await resp.json())["code"] == "unauthenticated"


@pytest.mark.parametrize(
    ("body", "failing"),
    [
        ({"leader_id": "LEADER"}, {("name",)}),
        ({"name": "", "leader_id": "LEADER"}, {("name",)}),
        ({"name": "x" * 65, "leader_id": "LEADER"}, {("name",)}),
        ({"name": "x", "leader_id": "not-a-uuid"}, {("leader_id",)}),
        (
            {"name": "x", "leader_id": "LEADER", "pickup_point": {"name": "门口"}},
            {("pickup_point", "address")},
        ),
    ],
)
async def test_create_validation(
    client: TestClient, settings: Settings, body: dict[str, Any], failing: set[tuple[str, ...]]
) -> None:
    admin = await make_user(Role.ADMIN)
    if body.get("leader_id") == "LEADER":
        body["leader_id"] = str(admin.id)
    resp = await client.post("/api/v1/communities", json=body, headers=auth(admin, settings))
    assert resp.status == 422
    problem = await resp.json()
    assert problem["code"] == "validation_failed"
    assert {tuple(e["loc"]) for e in problem["errors"]} == failing
    assert await Community.all().count() == 0


async def test_create_with_an_unknown_leader(client: TestClient, settings: Settings) -> None:
    admin = await make_user(Role.ADMIN)
    resp = await client.post(
        "/api/v1/communities",
        json={"name": "x", "leader_id": str(uuid.uuid4())},
        headers=auth(admin, settings),
    )
    assert resp.status == 422
    problem = await resp.json()
    assert problem["code"] == "user_not_found"
    assert problem["errors"][0]["loc"] == ["leader_id"]


async def test_anyone_logged_in_reads_a_community(client: TestClient, settings: Settings) -> None:
    leader = await make_user(Role.LEADER, nickname="李团长")
    community = await make_community(leader, name="翠苑")
    for _ in range(3):
        await join(await make_user(), community)
    shopper = await make_user()

    resp = await client.get(f"/api/v1/communities/{community.id}", headers=auth(shopper, settings))

    assert resp.status == 200
    body = await resp.json()
    assert body["name"] == "翠苑"
    assert body["leader"] == {"id": str(leader.id), "nickname": "李团长"}
    assert body["pickup_point"] == {"name": "门口小店", "address": "1 号楼", "hours": "9-21"}
    assert body["member_count"] == 3
    assert body["is_leader"] is False

    anonymous = await client.get(f"/api/v1/communities/{community.id}")
    assert anonymous.status == 401


@pytest.mark.parametrize("bad", ["not-a-uuid", "00000000-0000-4000-8000-000000000404", "1"])
async def test_unknown_community_is_404(client: TestClient, settings: Settings, bad: str) -> None:
    user = await make_user()
    for method, path, body in [
        ("GET", f"/api/v1/communities/{bad}", None),
        ("PUT", f"/api/v1/communities/{bad}/pickup-point", PICKUP),
        ("POST", f"/api/v1/communities/{bad}/members", None),
    ]:
        resp = await client.request(method, path, json=body, headers=auth(user, settings))
        assert resp.status == 404, (method, path)
        assert resp.content_type == "application/problem+json"
        assert (await resp.json())["code"] == "community_not_found"


async def test_leader_sets_the_pickup_point(client: TestClient, settings: Settings) -> None:
    leader = await make_user(Role.LEADER)
    community = await make_community(leader)

    resp = await client.put(
        f"/api/v1/communities/{community.id}/pickup-point",
        json=PICKUP,
        headers=auth(leader, settings),
    )

    assert resp.status == 200
    assert await resp.json() == PICKUP
    rows = await PickupPoint.filter(community_id=community.id)
    assert [(p.name, p.address, p.hours) for p in rows] == [
        (PICKUP["name"], PICKUP["address"], PICKUP["hours"])
    ]


async def test_admin_sets_a_first_pickup_point(client: TestClient, settings: Settings) -> None:
    admin = await make_user(Role.ADMIN)
    community = await make_community()
    await PickupPoint.filter(community_id=community.id).delete()

    resp = await client.put(
        f"/api/v1/communities/{community.id}/pickup-point",
        json={"name": "北门", "address": "3 号楼"},
        headers=auth(admin, settings),
    )

    assert resp.status == 200
    assert await resp.json() == {"name": "北门", "address": "3 号楼", "hours": ""}
    assert await PickupPoint.filter(community_id=community.id).count() == 1


@pytest.mark.parametrize("who", ["shopper", "other_leader"])
async def test_others_cannot_set_the_pickup_point(
    client: TestClient, settings: Settings, who: str
) -> None:
    community = await make_community()
    other_leader = await make_user(Role.LEADER)
    await make_community(other_leader)
    actor = other_leader if who == "other_leader" else await make_user()
    await join(actor, community)

    resp = await client.put(
        f"/api/v1/communities/{community.id}/pickup-point",
        json=PICKUP,
        headers=auth(actor, settings),
    )

    assert resp.status == 403
    assert (await resp.json())["code"] == "not_community_leader"
    point = await PickupPoint.get(community_id=community.id)
    assert point.name == "门口小店"


async def test_pickup_point_validation(client: TestClient, settings: Settings) -> None:
    leader = await make_user(Role.LEADER)
    community = await make_community(leader)
    resp = await client.put(
        f"/api/v1/communities/{community.id}/pickup-point",
        json={"name": "", "address": "a" * 256, "hours": 9},
        headers=auth(leader, settings),
    )
    assert resp.status == 422
    failing = {tuple(e["loc"]) for e in (await resp.json())["errors"]}
    assert failing == {("name",), ("address",), ("hours",)}


async def test_join_is_idempotent(client: TestClient, settings: Settings) -> None:
    community = await make_community()
    shopper = await make_user()
    headers = auth(shopper, settings)

    first = await client.post(f"/api/v1/communities/{community.id}/members", headers=headers)
    again = await client.post(f"/api/v1/communities/{community.id}/members", headers=headers)

    assert first.status == again.status == 200
    one, two = await first.json(), await again.json()
    assert one["created"] is True and two["created"] is False
    assert one["joined_at"] == two["joined_at"]
    assert one["community_id"] == str(community.id) and one["user_id"] == str(shopper.id)
    assert await Membership.filter(user_id=shopper.id, community_id=community.id).count() == 1


async def test_my_communities(client: TestClient, settings: Settings) -> None:
    shopper = await make_user()
    headers = auth(shopper, settings)
    assert await (await client.get("/api/v1/me/communities", headers=headers)).json() == {
        "items": []
    }
    a = await make_community(name="甲")
    await make_community(name="乙")
    await client.post(f"/api/v1/communities/{a.id}/members", headers=headers)

    resp = await client.get("/api/v1/me/communities", headers=headers)

    assert resp.status == 200
    items = (await resp.json())["items"]
    assert [(i["id"], i["name"], i["member_count"]) for i in items] == [(str(a.id), "甲", 1)]
    assert (await client.get("/api/v1/me/communities")).status == 401
