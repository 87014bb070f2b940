"""Group claims: a leader files one for many orders of a delivery; an admin decides it once."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from miniapp_api.aftersales import PhotoUrl
from miniapp_api.auth import admin, staff
from miniapp_api.decisions import ApproveIn, RejectIn, note_of
from miniapp_api.fields import NOT_BLANK, Id, integer
from miniapp_api.spec import endpoint
from models.claim import ClaimLineStatus, ClaimStatus, GroupClaim
from services import claims
from services.auth import Principal

TAGS = ("claims",)
Units = integer(1, 100_000, description="how many units of the SKU are spoiled or missing")


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku_id: Id
    delivery_date: dt.date = Field(description="the day the goods arrived (到货), local time")
    units: Units
    reason: str = Field(min_length=1, max_length=500, pattern=NOT_BLANK)
    photos: list[PhotoUrl] = Field(default_factory=list, max_length=9)
    order_ids: list[Id] = Field(
        default_factory=list,
        max_length=500,
        description="the orders that got the bad units; none: the delivery's, newest first",
    )


class ClaimLineOut(BaseModel):
    order_id: str
    units: int
    amount: int = Field(description="fen refunded to this order's buyer")
    status: ClaimLineStatus
    note: str


class ClaimOut(BaseModel):
    id: str
    community_id: str
    sku_id: str
    delivery_date: dt.date
    units: int
    reason: str
    photos: list[str]
    amount: int = Field(description="fen, the lines' total")
    status: ClaimStatus
    decided_at: dt.datetime | None
    note: str
    created_at: dt.datetime
    lines: list[ClaimLineOut]

    @classmethod
    async def of(cls, claim: GroupClaim) -> ClaimOut:
        lines = await claims.lines_of(claim)
        return cls(
            id=str(claim.id),
            community_id=str(claim.community_id),
            sku_id=str(claim.sku_id),
            delivery_date=claim.delivery_date,
            units=claim.units,
            reason=claim.reason,
            photos=list(claim.photos),
            amount=claim.amount,
            status=claim.status,
            decided_at=claim.decided_at,
            note=claim.note,
            created_at=claim.created_at,
            lines=[
                ClaimLineOut(
                    order_id=str(line.order_id),
                    units=line.units,
                    amount=line.amount,
                    status=line.status,
                    note=line.note,
                )
                for line in lines
            ],
        )


class ClaimList(BaseModel):
    items: list[ClaimOut]


async def _list(found: list[GroupClaim]) -> ClaimList:
    return ClaimList(items=[await ClaimOut.of(c) for c in found])


class ClaimQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["pending", "approved", "rejected"] | None = None


@endpoint(
    summary="Leaders: claim for many orders of one delivery at once (SKU, units, photos)",
    tags=TAGS,
    body=ClaimIn,
    response=ClaimOut,
    status=201,
    auth=staff,
    idempotent_key=True,
    errors=(403, 404, 422),
)
async def file_claim(
    *, principal: Principal, community_id: str, body: ClaimIn, now: dt.datetime
) -> ClaimOut:
    claim = await claims.file(
        principal=principal,
        community_id=community_id,
        filing=claims.Filing(
            sku_id=str(body.sku_id),
            delivery_date=body.delivery_date,
            units=body.units,
            reason=body.reason,
            photos=tuple(body.photos),
            order_ids=tuple(str(i) for i in body.order_ids),
        ),
        now=now,
    )
    return await ClaimOut.of(claim)


@endpoint(
    summary="Leaders: the community's claims, newest first",
    tags=TAGS,
    response=ClaimList,
    auth=staff,
    errors=(403, 404),
)
async def community_claims(*, principal: Principal, community_id: str) -> ClaimList:
    return await _list(await claims.of_community(principal, community_id))


@endpoint(
    summary="One claim, with each order's share (its leader, or an admin)",
    tags=TAGS,
    response=ClaimOut,
    auth=staff,
    errors=(404,),
)
async def get_claim(*, principal: Principal, claim_id: str) -> ClaimOut:
    return await ClaimOut.of(await claims.get_for(principal, claim_id))


@endpoint(
    summary="Admins: the claims to decide, oldest first",
    tags=TAGS,
    query=ClaimQuery,
    response=ClaimList,
    auth=admin,
)
async def claim_queue(*, query: ClaimQuery) -> ClaimList:
    status = ClaimStatus(query.status) if query.status else None
    return await _list(await claims.queue(status=status))


@endpoint(
    summary="Admins: approve a claim once; each order's buyer is refunded their share",
    tags=TAGS,
    body=ApproveIn,
    optional_body=True,
    response=ClaimOut,
    auth=admin,
    errors=(403, 404, 409),
)
async def approve_claim(
    *, principal: Principal, claim_id: str, body: ApproveIn, now: dt.datetime
) -> ClaimOut:
    return await _decide(principal, claim_id, body, now, approve=True)


@endpoint(
    summary="Admins: reject a claim, with the reason the leader is shown",
    tags=TAGS,
    body=RejectIn,
    response=ClaimOut,
    auth=admin,
    errors=(403, 404, 409, 422),
)
async def reject_claim(
    *, principal: Principal, claim_id: str, body: RejectIn, now: dt.datetime
) -> ClaimOut:
    return await _decide(principal, claim_id, body, now, approve=False)


async def _decide(
    principal: Principal,
    claim_id: str,
    body: ApproveIn | RejectIn,
    now: dt.datetime,
    *,
    approve: bool,
) -> ClaimOut:
    """Approve or reject (services.claims.decide), the one body of both endpoints."""
    claim = await claims.decide(
        principal=principal, claim_id=claim_id, approve=approve, note=note_of(body), now=now
    )
    return await ClaimOut.of(claim)


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/communities/{community_id}/claims", file_claim)
    app.router.add_get("/api/v1/communities/{community_id}/claims", community_claims)
    app.router.add_get("/api/v1/claims/{claim_id}", get_claim)
    app.router.add_get("/api/v1/admin/claims", claim_queue)
    app.router.add_post("/api/v1/admin/claims/{claim_id}/approve", approve_claim)
    app.router.add_post("/api/v1/admin/claims/{claim_id}/reject", reject_claim)
