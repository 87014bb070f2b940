"""Follows: a person follows a leader or a community; the following feed reads them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from tortoise.exceptions import IntegrityError

from models.post import Following
from models.user import Role, User
from qunshop.errors import ErrorCode, Invalid, NotFound
from services import communities
from services.ids import parse_uuid

if TYPE_CHECKING:
    from services.auth import Principal


async def follow(
    *,
    principal: Principal,
    now: datetime,
    leader_id: str | None = None,
    community_id: str | None = None,
) -> Following:
    """Following exactly one leader or one community; following again changes nothing."""
    if (leader_id is None) == (community_id is None):
        raise Invalid(ErrorCode.FOLLOW_INVALID, "follow a leader or a community, one of them")
    wanted: dict[str, uuid.UUID] = {}
    if leader_id is not None:
        key = parse_uuid(leader_id)
        leader = await User.get_or_none(id=key, role=Role.LEADER) if key else None
        if leader is None:
            raise NotFound(ErrorCode.USER_NOT_FOUND, "no such leader")
        if leader.id == principal.user_id:
            raise Invalid(ErrorCode.FOLLOW_INVALID, "one does not follow oneself")
        wanted["leader_id"] = leader.id
    else:
        community = await communities.get_community(community_id)  # type: ignore[arg-type]
        wanted["community_id"] = community.id
    found = await Following.get_or_none(follower_id=principal.user_id, **wanted)
    if found is not None:
        return found
    try:
        return await Following.create(follower_id=principal.user_id, created_at=now, **wanted)
    except IntegrityError:  # the same follow a moment ago (uq_follow_leader/community)
        return await Following.get(follower_id=principal.user_id, **wanted)


async def unfollow(*, principal: Principal, follow_id: str) -> None:
    key = parse_uuid(follow_id)
    deleted = await Following.filter(id=key, follower_id=principal.user_id).delete() if key else 0
    if not deleted:
        raise NotFound(ErrorCode.FOLLOW_NOT_FOUND, "no such follow of yours")


async def mine(principal: Principal) -> list[Following]:
    return await Following.filter(follower_id=principal.user_id).order_by("-created_at")
