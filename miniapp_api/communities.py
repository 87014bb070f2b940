"""Communities over HTTP: parse, call services.communities, render."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from redis.asyncio import Redis

from miniapp_api.spec import endpoint
from models.community import PickupPoint
from qunshop.config import Settings
from services import communities
from services.auth import Principal

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Hours = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]


class PickupPointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    address: Address
    hours: Hours = Field("", description="free text, e.g. 09:00-21:00")

    def spec(self) -> communities.PickupSpec:
        return communities.PickupSpec(name=self.name, address=self.address, hours=self.hours)


class CommunityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    leader_id: uuid.UUID = Field(description="this user becomes the community's leader")
    pickup_point: PickupPointIn | None = None


class PickupPointOut(BaseModel):
    name: str
    address: str
    hours: str

    @classmethod
    def of(cls, point: PickupPoint) -> PickupPointOut:
        return cls(name=point.name, address=point.address, hours=point.hours)


class LeaderOut(BaseModel):
    id: str
    nickname: str


class CommunityOut(BaseModel):
    id: str
    name: str
    leader: LeaderOut
    pickup_point: PickupPointOut | None
    member_count: int
    is_leader: bool = Field(description="the caller leads this community")

    @classmethod
    def of(cls, card: communities.CommunityCard) -> CommunityOut:
        point = card.pickup_point
        return cls(
            id=str(card.community.id),
            name=card.community.name,
            leader=LeaderOut(id=str(card.leader.id), nickname=card.leader.nickname),
            pickup_point=PickupPointOut.of(point) if point is not None else None,
            member_count=card.member_count,
            is_leader=card.is_leader,
        )


class CommunityList(BaseModel):
    items: list[CommunityOut]


class MembershipOut(BaseModel):
    community_id: str
    user_id: str
    joined_at: datetime
    created: bool = Field(description="false: the caller was already a member")


TAGS = ("communities",)


@endpoint(
    summary="Open a community (admins)",
    tags=TAGS,
    body=CommunityIn,
    response=CommunityOut,
    status=201,
    auth=True,
)
async def create_community(
    *, principal: Principal, body: CommunityIn, settings: Settings
) -> CommunityOut:
    card = await communities.create_community(
        actor=principal,
        name=body.name,
        leader_id=body.leader_id,
        pickup=body.pickup_point.spec() if body.pickup_point is not None else None,
        timezone=settings.timezone,
    )
    return CommunityOut.of(card)


@endpoint(summary="One community", tags=TAGS, response=CommunityOut, auth=True, errors=(404,))
async def get_community(*, principal: Principal, community_id: str) -> CommunityOut:
    card = await communities.community_card(actor=principal, community_id=community_id)
    return CommunityOut.of(card)


@endpoint(
    summary="Set the pickup point (its leader or an admin)",
    tags=TAGS,
    body=PickupPointIn,
    response=PickupPointOut,
    auth=True,
    errors=(404,),
)
async def set_pickup_point(
    *, principal: Principal, body: PickupPointIn, community_id: str
) -> PickupPointOut:
    point = await communities.set_pickup_point(
        actor=principal, community_id=community_id, pickup=body.spec()
    )
    return PickupPointOut.of(point)


@endpoint(
    summary="Join a community (joining twice is one membership)",
    tags=TAGS,
    response=MembershipOut,
    auth=True,
    errors=(404,),
)
async def join_community(*, principal: Principal, community_id: str) -> MembershipOut:
    joined = await communities.join_community(actor=principal, community_id=community_id)
    m = joined.membership
    return MembershipOut(
        community_id=str(m.community_id),
        user_id=str(m.user_id),
        joined_at=m.joined_at,
        created=joined.created,
    )


class LeaderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    leader_id: uuid.UUID = Field(description="this user becomes the community's leader")


@endpoint(
    summary="Admins: hand a community over to a new leader (audited)",
    tags=TAGS,
    body=LeaderIn,
    response=CommunityOut,
    auth=True,
    errors=(403, 404, 409, 422),
)
async def hand_over(
    *, principal: Principal, body: LeaderIn, community_id: str, redis: Redis, now: datetime
) -> CommunityOut:
    card = await communities.hand_over(
        actor=principal, community_id=community_id, leader_id=body.leader_id, redis=redis, now=now
    )
    return CommunityOut.of(card)


@endpoint(summary="The caller's communities", tags=TAGS, response=CommunityList, auth=True)
async def my_communities(*, principal: Principal) -> CommunityList:
    cards = await communities.my_communities(actor=principal)
    return CommunityList(items=[CommunityOut.of(c) for c in cards])


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/communities", create_community)
    app.router.add_get("/api/v1/communities/{community_id}", get_community)
    app.router.add_put("/api/v1/communities/{community_id}/pickup-point", set_pickup_point)
    app.router.add_post("/api/v1/communities/{community_id}/members", join_community)
    app.router.add_get("/api/v1/me/communities", my_communities)
    app.router.add_put("/api/v1/communities/{community_id}/leader", hand_over)
