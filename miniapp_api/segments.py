"""Segments of a community's members (RFM, rules) and the news sent to them: the community's
leader or an operator. Sends are counted; orders paid after a send are attributed to it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from miniapp_api.auth import staff
from miniapp_api.fields import NOT_BLANK
from miniapp_api.spec import endpoint
from qunshop.config import Settings
from services import segments
from services.auth import Principal

TAGS = ("segments",)


class SegmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=NOT_BLANK)
    rule: segments.Rule


class SegmentOut(BaseModel):
    id: str
    name: str
    rule: dict[str, Any]
    members: int = Field(description="members the rule matches now")


class SegmentList(BaseModel):
    items: list[SegmentOut]


class MemberOut(BaseModel):
    user_id: str
    orders: int
    spent: int
    last_paid_at: datetime | None
    recency: int = Field(ge=1, le=5)
    frequency: int = Field(ge=1, le=5)
    monetary: int = Field(ge=1, le=5)

    @classmethod
    def of(cls, m: segments.Member) -> MemberOut:
        return cls(**m.__dict__)


class MemberList(BaseModel):
    items: list[MemberOut]


class BroadcastIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=300, pattern=NOT_BLANK)
    template_id: str = Field(
        default="",
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]*$",
        description="a subscribe template the members may have accepted; '' : customer "
        "service messages only",
    )


class BroadcastOut(BaseModel):
    id: str
    text: str
    created_at: datetime
    audience: int
    sent: int
    skipped_consent: int
    skipped_quota: int
    converted_buyers: int = 0
    converted_orders: int = 0
    converted_gmv: int = 0


class BroadcastList(BaseModel):
    items: list[BroadcastOut]


def _out(b: Any, conversions: dict[str, int] | None = None) -> BroadcastOut:
    c = conversions or {}
    return BroadcastOut(
        id=str(b.id),
        text=b.text,
        created_at=b.created_at,
        audience=b.audience,
        sent=b.sent,
        skipped_consent=b.skipped_consent,
        skipped_quota=b.skipped_quota,
        converted_buyers=c.get("buyers", 0),
        converted_orders=c.get("orders", 0),
        converted_gmv=c.get("gmv", 0),
    )


@endpoint(
    summary="RFM scores of the community's members (recency, frequency, monetary, 1-5)",
    tags=TAGS,
    response=MemberList,
    auth=staff,
    errors=(403, 404),
)
async def rfm(*, principal: Principal, community_id: str, now: datetime) -> MemberList:
    found = await segments.community_rfm(principal=principal, community_id=community_id, now=now)
    return MemberList(items=[MemberOut.of(m) for m in found])


@endpoint(
    summary="Define a segment of the community's members by a rule",
    tags=TAGS,
    body=SegmentIn,
    response=SegmentOut,
    status=201,
    auth=staff,
    errors=(403, 404),
)
async def create_segment(
    *, principal: Principal, community_id: str, body: SegmentIn, now: datetime
) -> SegmentOut:
    segment, size = await segments.create(
        principal=principal,
        community_id=community_id,
        name=body.name,
        rule=body.rule.model_dump(),
        now=now,
    )
    return SegmentOut(id=str(segment.id), name=segment.name, rule=segment.rule, members=size)


@endpoint(
    summary="The community's segments, each with how many members it matches now",
    tags=TAGS,
    response=SegmentList,
    auth=staff,
    errors=(403, 404),
)
async def list_segments(*, principal: Principal, community_id: str, now: datetime) -> SegmentList:
    found = await segments.of_community(principal=principal, community_id=community_id, now=now)
    return SegmentList(
        items=[SegmentOut(id=str(s.id), name=s.name, rule=s.rule, members=n) for s, n in found]
    )


@endpoint(
    summary="The members a segment matches now, with their RFM scores",
    tags=TAGS,
    response=MemberList,
    auth=staff,
    errors=(403, 404),
)
async def segment_members(*, principal: Principal, segment_id: str, now: datetime) -> MemberList:
    found = await segments.members(principal=principal, segment_id=segment_id, now=now)
    return MemberList(items=[MemberOut.of(m) for m in found])


@endpoint(
    summary="Send news to a segment, within consent, the 48-hour window and a daily quota",
    tags=TAGS,
    body=BroadcastIn,
    response=BroadcastOut,
    status=201,
    auth=staff,
    errors=(403, 404, 422),
)
async def send(
    *, principal: Principal, segment_id: str, body: BroadcastIn, settings: Settings, now: datetime
) -> BroadcastOut:
    done = await segments.broadcast(
        principal=principal,
        segment_id=segment_id,
        text=body.text,
        template_id=body.template_id,
        known_templates=set(settings.subscribe_templates.values()),
        now=now,
    )
    return _out(done)


@endpoint(
    summary="A segment's sends, each with the orders its members paid within 7 days after",
    tags=TAGS,
    response=BroadcastList,
    auth=staff,
    errors=(403, 404),
)
async def list_sends(*, principal: Principal, segment_id: str) -> BroadcastList:
    found = await segments.broadcasts(principal=principal, segment_id=segment_id)
    return BroadcastList(items=[_out(b, c) for b, c in found])


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/communities/{community_id}/rfm", rfm)
    app.router.add_post("/api/v1/communities/{community_id}/segments", create_segment)
    app.router.add_get("/api/v1/communities/{community_id}/segments", list_segments)
    app.router.add_get("/api/v1/segments/{segment_id}/members", segment_members)
    app.router.add_post("/api/v1/segments/{segment_id}/broadcasts", send)
    app.router.add_get("/api/v1/segments/{segment_id}/broadcasts", list_sends)
