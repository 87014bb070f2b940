"""The community verbs other services build on, called directly."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiohttp.test_utils import TestClient

from models.community import Community, Membership, PickupPoint
from models.user import Role, User
from qunshop.errors import ErrorCode, Forbidden, Invalid, NotFound
from services import communities
from services.auth import Principal
from tests.support.factories import join, make_community, make_user


def as_principal(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.role)


@pytest.fixture(autouse=True)
async def orm(client: TestClient) -> None:
    """The app's start-up opens the ORM these tests use."""


async def test_get_community_accepts_str_and_uuid() -> None:
    community = await make_community(name="花园")
    assert (await communities.get_community(community.id)).name == "花园"
    assert (await communities.get_community(str(community.id))).id == community.id


@pytest.mark.parametrize("bad", ["", "nope", "123", "00000000-0000-4000-8000-000000000404"])
async def test_get_community_not_found(bad: str) -> None:
    await make_community()
    with pytest.raises(NotFound) as caught:
        await communities.get_community(bad)
    assert caught.value.code is ErrorCode.COMMUNITY_NOT_FOUND
    assert caught.value.status == 404


async def test_ensure_can_manage() -> None:
    leader = await make_user(Role.LEADER)
    community = await make_community(leader)
    admin = await make_user(Role.ADMIN)
    other_leader = await make_user(Role.LEADER)
    await make_community(other_leader)
    shopper = await make_user()

    await communities.ensure_can_manage(as_principal(leader), community)
    await communities.ensure_can_manage(as_principal(admin), community)
    for refused in (other_leader, shopper):
        with pytest.raises(Forbidden) as caught:
            await communities.ensure_can_manage(as_principal(refused), community)
        assert caught.value.code is ErrorCode.NOT_COMMUNITY_LEADER


async def test_create_community_promotes_the_leader() -> None:
    admin = await make_user(Role.ADMIN)
    shopper = await make_user(nickname="小王")

    card = await communities.create_community(
        actor=as_principal(admin),
        name="阳光花园",
        leader_id=str(shopper.id),
        pickup=communities.PickupSpec(name="南门", address="12 号", hours="9-21"),
        timezone="Asia/Shanghai",
    )

    row = await Community.get(id=card.community.id)
    assert row.name == "阳光花园" and row.leader_id == shopper.id and row.chat_id is None
    assert (await User.get(id=shopper.id)).role is Role.LEADER
    point = await PickupPoint.get(community_id=row.id)
    assert (point.name, point.address, point.hours) == ("南门", "12 号", "9-21")
    assert await Membership.filter(community_id=row.id, user_id=shopper.id).exists()
    assert card.member_count == 1 and card.leader.nickname == "小王"


async def test_an_admin_who_leads_stays_admin() -> None:
    admin = await make_user(Role.ADMIN)
    card = await communities.create_community(
        actor=as_principal(admin), name="总部", leader_id=admin.id
    )
    assert (await User.get(id=admin.id)).role is Role.ADMIN
    assert card.pickup_point is None
    assert await PickupPoint.all().count() == 0


@pytest.mark.parametrize("role", [Role.SHOPPER, Role.LEADER])
async def test_only_admins_create(role: Role) -> None:
    actor = await make_user(role)
    with pytest.raises(Forbidden) as caught:
        await communities.create_community(actor=as_principal(actor), name="x", leader_id=actor.id)
    assert caught.value.code is ErrorCode.FORBIDDEN
    assert await Community.all().count() == 0


async def test_unknown_leader() -> None:
    admin = await make_user(Role.ADMIN)
    with pytest.raises(Invalid) as caught:
        await communities.create_community(
            actor=as_principal(admin), name="x", leader_id=uuid.uuid4()
        )
    assert caught.value.code is ErrorCode.USER_NOT_FOUND
    assert await Community.all().count() == 0


async def test_join_is_idempotent_under_concurrency() -> None:
    community = await make_community()
    shopper = await make_user()
    me = as_principal(shopper)

    results = await asyncio.gather(
        *(communities.join_community(actor=me, community_id=community.id) for _ in range(8))
    )

    assert sum(r.created for r in results) == 1
    assert len({r.membership.id for r in results}) == 1
    assert await Membership.filter(user_id=shopper.id, community_id=community.id).count() == 1


async def test_set_pickup_point_creates_then_replaces() -> None:
    leader = await make_user(Role.LEADER)
    admin = await make_user(Role.ADMIN)
    community = await communities.create_community(
        actor=as_principal(admin), name="新社区", leader_id=leader.id
    )
    cid = community.community.id

    first = await communities.set_pickup_point(
        actor=as_principal(leader),
        community_id=cid,
        pickup=communities.PickupSpec(name="门口", address="1 号楼"),
    )
    second = await communities.set_pickup_point(
        actor=as_principal(admin),
        community_id=str(cid),
        pickup=communities.PickupSpec(name="后门", address="2 号楼", hours="8-20"),
    )

    assert first.id == second.id
    rows = await PickupPoint.filter(community_id=cid)
    assert [(p.name, p.address, p.hours) for p in rows] == [("后门", "2 号楼", "8-20")]


async def test_my_communities_lists_memberships_and_led_ones() -> None:
    me = await make_user(Role.LEADER)
    led = await make_community(me, name="我带的")  # the factory adds no membership
    member_of = await make_community(name="我参加的")
    await make_community(name="无关的")
    await join(me, member_of)
    await join(await make_user(), member_of)

    cards = await communities.my_communities(actor=as_principal(me))

    by_name = {c.community.name: c for c in cards}
    assert set(by_name) == {"我带的", "我参加的"}
    assert by_name["我带的"].is_leader and by_name["我带的"].member_count == 0
    assert not by_name["我参加的"].is_leader and by_name["我参加的"].member_count == 2
    assert by_name["我参加的"].pickup_point is not None
    assert led.id == by_name["我带的"].community.id
