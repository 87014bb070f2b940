"""People's rights over their data (PIPL): take it out, erase the account, keep a phone
number and real name (sealed at rest), and an operator's audited read of them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from miniapp_api.fields import Id, omittable
from miniapp_api.spec import endpoint
from qunshop.config import Settings
from services import personal, privacy, privacy_erasure
from services.auth import Principal

TAGS = ("privacy",)
# "" clears the value.
Phone = Annotated[str, Field(pattern=r"^(\+?[0-9]{5,20})?$", description="digits, '' clears")]
RealName = Annotated[str, Field(max_length=32, pattern=r"^[^\x00]*$")]


class ExportOut(BaseModel):
    generated_at: datetime
    user_id: Id
    tables: dict[str, list[dict[str, Any]]] = Field(
        description="every row that mentions the caller, by table"
    )


class ErasureOut(BaseModel):
    erased_at: datetime
    keep_until: datetime = Field(
        description="orders and payments are kept, without identity, until then"
    )


class PersonalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: omittable(Phone) = None  # type: ignore[valid-type]
    real_name: omittable(RealName) = None  # type: ignore[valid-type]


class PersonalOut(BaseModel):
    phone: str
    real_name: str

    @classmethod
    def of(cls, details: personal.Details) -> PersonalOut:
        return cls(phone=details.phone, real_name=details.real_name)


@endpoint(
    summary="Everything Qunshop holds about the caller, as a JSON archive",
    tags=TAGS,
    response=ExportOut,
    auth=True,
)
async def export(*, principal: Principal, settings: Settings, now: datetime) -> web.Response:
    archive = ExportOut.model_validate(
        await privacy.export(principal=principal, settings=settings, now=now)
    )
    return web.Response(
        text=archive.model_dump_json(),
        content_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="qunshop-export.json"'},
    )


@endpoint(
    summary="Erase the caller's account: personal data goes, orders stay without identity",
    tags=TAGS,
    response=ErasureOut,
    auth=True,
    errors=(409,),
)
async def erase(
    *, principal: Principal, settings: Settings, now: datetime, redis: Redis
) -> ErasureOut:
    done = await privacy_erasure.erase(principal=principal, settings=settings, now=now, redis=redis)
    return ErasureOut(erased_at=done.erased_at, keep_until=done.keep_until)


@endpoint(
    summary="The caller's phone number and real name",
    tags=TAGS,
    response=PersonalOut,
    auth=True,
    errors=(503,),
)
async def my_details(*, principal: Principal, settings: Settings) -> PersonalOut:
    return PersonalOut.of(await personal.mine(principal=principal, settings=settings))


@endpoint(
    summary="Set the caller's phone number and/or real name (stored encrypted; '' clears)",
    tags=TAGS,
    body=PersonalIn,
    response=PersonalOut,
    auth=True,
    errors=(503,),
)
async def set_my_details(
    *, principal: Principal, body: PersonalIn, settings: Settings, now: datetime
) -> PersonalOut:
    found = await personal.update_mine(
        principal=principal, phone=body.phone, real_name=body.real_name, settings=settings, now=now
    )
    return PersonalOut.of(found)


@endpoint(
    summary="Admins: a person's phone number and real name (each read is in the audit log)",
    tags=("admin",),
    response=PersonalOut,
    auth=True,
    errors=(403, 404, 503),
)
async def user_details(
    *, principal: Principal, user_id: str, settings: Settings, now: datetime
) -> PersonalOut:
    found = await personal.operator_read(
        actor=principal, user_id=user_id, settings=settings, now=now
    )
    return PersonalOut.of(found)


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/me/export", export)
    app.router.add_delete("/api/v1/me", erase)
    app.router.add_get("/api/v1/me/personal", my_details)
    app.router.add_patch("/api/v1/me/personal", set_my_details)
    app.router.add_get("/api/v1/admin/users/{user_id}/personal", user_details)
