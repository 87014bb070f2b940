"""Leaders' identity over HTTP: real name and phone, verified before payments are taken."""

from __future__ import annotations

import datetime as dt
from datetime import datetime

import aiohttp
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from miniapp_api.fields import NO_SPACE
from miniapp_api.spec import endpoint
from models.identity import LeaderIdentity
from qunshop.config import Settings
from services import identity, personal
from services.auth import Principal

TAGS = ("leaders",)


class IdentityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    real_name: str = Field(min_length=2, max_length=20, pattern=NO_SPACE)
    phone: str = Field(pattern=r"^1[3-9][0-9]{9}$", description="a mainland mobile number")


class IdentityOut(BaseModel):
    status: str = Field(description="verified, or failed with its reason")
    real_name: str
    phone: str = Field(description="masked: 138****8000")
    provider: str
    reason: str
    verified_at: dt.datetime | None

    @classmethod
    def of(cls, found: LeaderIdentity, details: personal.Details) -> IdentityOut:
        return cls(
            status=found.status.value,
            real_name=details.real_name,
            phone=f"{details.phone[:3]}****{details.phone[-4:]}",
            provider=found.provider,
            reason=found.reason,
            verified_at=found.verified_at,
        )


@endpoint(
    summary="Leaders: verify real name and phone (before the community may take payments)",
    tags=TAGS,
    body=IdentityIn,
    response=IdentityOut,
    auth=True,
    errors=(403, 422, 503),
)
async def verify_identity(
    *,
    principal: Principal,
    body: IdentityIn,
    settings: Settings,
    http: aiohttp.ClientSession,
    now: datetime,
) -> IdentityOut:
    found = await identity.verify(
        principal=principal,
        real_name=body.real_name,
        phone=body.phone,
        verifier=identity.verifier_for(settings=settings, http=http),
        settings=settings,
        now=now,
    )
    return IdentityOut.of(found, await personal.mine(principal=principal, settings=settings))


@endpoint(
    summary="The caller's identity check: verified or failed, and why",
    tags=TAGS,
    response=IdentityOut,
    auth=True,
    errors=(404,),
)
async def my_identity(*, principal: Principal, settings: Settings) -> IdentityOut:
    found = await identity.of(principal=principal)
    return IdentityOut.of(found, await personal.mine(principal=principal, settings=settings))


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/me/leader/identity", verify_identity)
    app.router.add_get("/api/v1/me/leader/identity", my_identity)
