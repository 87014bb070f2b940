"""Communities: who leads them, where to pick up, who belongs.

``get_community`` and ``ensure_can_manage`` are the two verbs other services build on
(group buys, catalog): one lookup that turns any bad id into ``community_not_found``, and
one rule for who may manage a community (an admin, or its own leader).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.community import Community, Membership, PickupPoint
from models.privacy import Erasure
from models.user import Role, User
from qunshop.errors import Conflict, ErrorCode, Forbidden, Invalid, NotFound, Unauthenticated
from services import audit, roles
from services import members as community_members
from services.ids import parse_uuid

if TYPE_CHECKING:
    from datetime import datetime

    from redis.asyncio import Redis

    from services.auth import Principal

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PickupSpec:
    name: str
    address: str
    hours: str = ""


@dataclass(frozen=True)
class CommunityCard:
    """A community as people see it: its leader, pickup point and head count."""

    community: Community
    leader: User
    pickup_point: PickupPoint | None
    member_count: int
    is_leader: bool = False


@dataclass(frozen=True)
class Joined:
    membership: Membership
    created: bool


async def get_community(community_id: str | uuid.UUID) -> Community:
    """The community with this id; a missing or malformed id is ``community_not_found``."""
    key = parse_uuid(community_id)
    community = await Community.get_or_none(id=key) if key is not None else None
    if community is None:
        raise NotFound(ErrorCode.COMMUNITY_NOT_FOUND, "no community has this id")
    return community


async def ensure_can_manage(principal: Principal, community: Community) -> None:
    """Admins manage every community; a leader manages only the ones they lead."""
    if principal.role is Role.ADMIN or community.leader_id == principal.user_id:
        return
    raise Forbidden(ErrorCode.NOT_COMMUNITY_LEADER, "only this community's leader or an admin")


async def managed_or_first(principal: Principal, community_id: str | None) -> Community:
    """The named community, if the caller manages it; else the first one they lead."""
    if community_id is not None:
        community = await get_community(community_id)
        await ensure_can_manage(principal, community)
        return community
    led = await Community.filter(leader_id=principal.user_id).order_by("created_at").first()
    if led is None:
        raise NotFound(ErrorCode.COMMUNITY_NOT_FOUND, "你还没有社区")
    return led


async def current_user(principal: Principal) -> User:
    """The caller's row; a token whose user no longer exists is no login at all."""
    user = await User.get_or_none(id=principal.user_id)
    if user is None:
        raise Unauthenticated(ErrorCode.UNAUTHENTICATED, "the token's user does not exist")
    return user


async def _card(community: Community, *, viewer: uuid.UUID | None = None) -> CommunityCard:
    leader = await User.get(id=community.leader_id)
    pickup = await PickupPoint.get_or_none(community_id=community.id)
    members = (await community_members.counts([community.id])).get(community.id, 0)
    return CommunityCard(
        community=community,
        leader=leader,
        pickup_point=pickup,
        member_count=members,
        is_leader=viewer == community.leader_id,
    )


async def create_community(
    *,
    actor: Principal,
    name: str,
    leader_id: str | uuid.UUID,
    pickup: PickupSpec | None = None,
    timezone: str = "Asia/Shanghai",
) -> CommunityCard:
    """An admin opens a community; its leader becomes a leader and its first member."""
    if not actor.is_admin:
        raise Forbidden(ErrorCode.FORBIDDEN, "only admins create communities")
    key = parse_uuid(leader_id)
    leader = await User.get_or_none(id=key) if key is not None else None
    if leader is None:
        raise Invalid(
            ErrorCode.USER_NOT_FOUND,
            "no user has this leader_id",
            errors=[{"loc": ["leader_id"], "msg": "no such user", "type": "user_not_found"}],
        )
    async with in_transaction():
        community = await Community.create(name=name, leader=leader, timezone=timezone)
        if pickup is not None:
            await PickupPoint.create(
                community=community, name=pickup.name, address=pickup.address, hours=pickup.hours
            )
        if leader.role is Role.SHOPPER:  # an admin who leads stays an admin
            leader.role = Role.LEADER
            await leader.save(update_fields=["role"])
        await Membership.create(user=leader, community=community)
    logger.info("community %s created with leader %s", community.id, leader.id)
    return await _card(community, viewer=actor.user_id)


async def community_card(*, actor: Principal, community_id: str | uuid.UUID) -> CommunityCard:
    community = await get_community(community_id)
    return await _card(community, viewer=actor.user_id)


async def set_pickup_point(
    *, actor: Principal, community_id: str | uuid.UUID, pickup: PickupSpec
) -> PickupPoint:
    """Create or replace the community's one pickup point (its leader or an admin)."""
    community = await get_community(community_id)
    await ensure_can_manage(actor, community)
    values = {"name": pickup.name, "address": pickup.address, "hours": pickup.hours}
    updated = await PickupPoint.filter(community_id=community.id).update(**values)
    if not updated:
        try:
            async with in_transaction():  # a savepoint: a concurrent create must not poison us
                await PickupPoint.create(community=community, **values)
        except IntegrityError:  # someone created it meanwhile: ours is the later write
            await PickupPoint.filter(community_id=community.id).update(**values)
    return await PickupPoint.get(community_id=community.id)


async def join_community(*, actor: Principal, community_id: str | uuid.UUID) -> Joined:
    """The caller joins; joining twice is the same membership (the unique key decides)."""
    community = await get_community(community_id)
    existing = await Membership.get_or_none(user_id=actor.user_id, community_id=community.id)
    if existing is not None:
        return Joined(membership=existing, created=False)
    try:
        async with in_transaction():
            membership = await Membership.create(user_id=actor.user_id, community=community)
    except IntegrityError:  # a concurrent join won
        membership = await Membership.get(user_id=actor.user_id, community_id=community.id)
        return Joined(membership=membership, created=False)
    return Joined(membership=membership, created=True)


async def my_communities(*, actor: Principal) -> list[CommunityCard]:
    """The communities the caller belongs to or leads, oldest first."""
    communities = (
        await Community.filter(Q(memberships__user_id=actor.user_id) | Q(leader_id=actor.user_id))
        .distinct()
        .order_by("created_at", "id")
    )
    if not communities:
        return []
    ids = [c.id for c in communities]
    leaders = {u.id: u for u in await User.filter(id__in={c.leader_id for c in communities})}
    pickups = {p.community_id: p for p in await PickupPoint.filter(community_id__in=ids)}
    counts = await community_members.counts(ids)
    return [
        CommunityCard(
            community=c,
            leader=leaders[c.leader_id],
            pickup_point=pickups.get(c.id),
            member_count=counts.get(c.id, 0),
            is_leader=c.leader_id == actor.user_id,
        )
        for c in communities
    ]


async def hand_over(
    *,
    actor: Principal,
    community_id: str | uuid.UUID,
    leader_id: str | uuid.UUID,
    redis: Redis,
    now: datetime,
) -> CommunityCard:
    """An admin names a community's new leader (the old one steps down, or leaves: a leader's
    account is erased only after this). The new leader becomes a leader and a member; the
    change is audited. The old leader keeps their role until an admin revokes it."""
    if not actor.is_admin:
        raise Forbidden(ErrorCode.FORBIDDEN, "only admins hand a community over")
    community = await get_community(community_id)
    key = parse_uuid(leader_id)
    leader = await User.get_or_none(id=key) if key is not None else None
    if leader is None or await Erasure.exists(user_id=leader.id):
        raise Invalid(ErrorCode.USER_NOT_FOUND, "no user has this leader_id")
    if community.leader_id == leader.id:
        return await _card(community, viewer=actor.user_id)
    async with in_transaction():
        moved = await Community.filter(id=community.id, leader_id=community.leader_id).update(
            leader_id=leader.id
        )
        if moved != 1:
            raise Conflict(ErrorCode.ILLEGAL_TRANSITION, "the community changed hands meanwhile")
        if leader.role is Role.SHOPPER:  # an admin who leads stays an admin
            await roles.set_role(actor=actor, user=leader, role=Role.LEADER, redis=redis, now=now)
        await Membership.get_or_create(user_id=leader.id, community_id=community.id)
        await audit.record(
            actor=actor,
            action="community.leader",
            target=f"community:{community.id}",
            before={"leader_id": str(community.leader_id)},
            after={"leader_id": str(leader.id)},
            now=now,
        )
    logger.info("community %s handed from %s to %s", community.id, community.leader_id, leader.id)
    return await _card(await Community.get(id=community.id), viewer=actor.user_id)
