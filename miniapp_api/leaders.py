"""Leaders: applying, being approved, binding a chat identity; admins granting roles."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from miniapp_api.http import validate
from miniapp_api.session import UserOut
from miniapp_api.spec import endpoint
from models.user import ApplicationStatus, LeaderApplication, Role
from services import leaders, roles
from services.auth import Principal

TAGS = ("leaders",)


class ApplicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    community_name: str = Field(min_length=1, max_length=64, examples=["阳光花园社区团"])
    pickup_name: str = Field(min_length=1, max_length=64, examples=["南门便利店"])
    pickup_address: str = Field(min_length=1, max_length=255)
    pickup_hours: str = Field(default="", max_length=64, examples=["09:00-21:00"])
    note: str = Field(default="", max_length=500)


class ApplicationOut(BaseModel):
    id: str
    user_id: str
    community_name: str
    pickup_name: str
    pickup_address: str
    pickup_hours: str
    note: str
    status: ApplicationStatus
    reason: str = Field(description="why it was rejected")
    community_id: str | None = Field(description="the community opened on approval")
    created_at: datetime
    decided_at: datetime | None

    @classmethod
    def of(cls, a: LeaderApplication) -> ApplicationOut:
        return cls(
            id=str(a.id),
            user_id=str(a.user_id),
            community_name=a.community_name,
            pickup_name=a.pickup_name,
            pickup_address=a.pickup_address,
            pickup_hours=a.pickup_hours,
            note=a.note,
            status=a.status,
            reason=a.reason,
            community_id=str(a.community_id) if a.community_id else None,
            created_at=a.created_at,
            decided_at=a.decided_at,
        )


class ApplicationList(BaseModel):
    items: list[ApplicationOut]


class ApplicationQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # A Literal, not the enum: a query parameter's schema is inlined, with no $defs to point to.
    status: Literal["pending", "approved", "rejected"] | None = None


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=500)


class ChatCodeOut(BaseModel):
    code: str = Field(description="type 认证 <code> (or verify-leader <code>) in the chat")
    expires_at: datetime


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role


@endpoint(
    summary="Apply to lead a community",
    tags=TAGS,
    body=ApplicationIn,
    response=ApplicationOut,
    status=201,
    auth=True,
    errors=(401, 409, 422),
)
async def apply(*, principal: Principal, body: ApplicationIn, now: datetime) -> ApplicationOut:
    done = await leaders.apply(
        actor=principal, draft=leaders.ApplicationDraft(**body.model_dump()), now=now
    )
    return ApplicationOut.of(done)


@endpoint(
    summary="The caller's latest leader application",
    tags=TAGS,
    response=ApplicationOut,
    auth=True,
    errors=(401, 404),
)
async def my_application(*, principal: Principal) -> ApplicationOut:
    return ApplicationOut.of(await leaders.my_application(principal))


@endpoint(
    summary="A one-time code that binds the chat identity it is typed from (认证 <code>)",
    tags=TAGS,
    response=ChatCodeOut,
    status=201,
    auth=True,
    errors=(401, 403),
)
async def chat_code(*, principal: Principal, redis: Redis, now: datetime) -> ChatCodeOut:
    done = await leaders.chat_code(actor=principal, redis=redis, now=now)
    return ChatCodeOut(code=done.code, expires_at=done.expires_at)


@endpoint(
    summary="Admins: leader applications, oldest first",
    tags=("admin",),
    query=ApplicationQuery,
    response=ApplicationList,
    auth=True,
    errors=(401, 403, 422),
)
async def list_applications(*, principal: Principal, query: ApplicationQuery) -> ApplicationList:
    status = ApplicationStatus(query.status) if query.status else None
    found = await leaders.applications(actor=principal, status=status)
    return ApplicationList(items=[ApplicationOut.of(a) for a in found])


@endpoint(
    summary="Admins: approve an application (the leader and the community, at once)",
    tags=("admin",),
    response=ApplicationOut,
    auth=True,
    errors=(401, 403, 404, 409),
)
async def approve(
    *, principal: Principal, application_id: str, redis: Redis, now: datetime
) -> ApplicationOut:
    done = await leaders.approve(
        actor=principal, application_id=application_id, redis=redis, now=now
    )
    return ApplicationOut.of(done)


@endpoint(
    summary="Admins: reject an application",
    tags=("admin",),
    body=RejectIn,
    response=ApplicationOut,
    auth=True,
    errors=(401, 403, 404, 409, 422),
)
async def reject(
    *, principal: Principal, body: RejectIn, application_id: str, now: datetime
) -> ApplicationOut:
    done = await leaders.reject(
        actor=principal, application_id=application_id, reason=body.reason, now=now
    )
    return ApplicationOut.of(done)


@endpoint(
    summary="Admins: grant a role (in force from the user's next request)",
    tags=("admin",),
    body=RoleIn,
    response=UserOut,
    auth=True,
    errors=(401, 403, 409, 422),
)
async def grant_role(
    *, principal: Principal, body: RoleIn, user_id: str, redis: Redis, now: datetime
) -> UserOut:
    user = await roles.grant(actor=principal, user_id=user_id, role=body.role, redis=redis, now=now)
    return UserOut.of(user)


@endpoint(
    summary="Admins: revoke a role (the user is a shopper from their next request)",
    tags=("admin",),
    response=UserOut,
    auth=True,
    errors=(401, 403, 409, 422),
)
async def revoke_role(
    *, principal: Principal, user_id: str, role: str, redis: Redis, now: datetime
) -> UserOut:
    wanted = validate(RoleIn, {"role": role}).role
    user = await roles.revoke(actor=principal, user_id=user_id, role=wanted, redis=redis, now=now)
    return UserOut.of(user)


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/me/leader/application", apply)
    app.router.add_get("/api/v1/me/leader/application", my_application)
    app.router.add_post("/api/v1/me/leader/chat-code", chat_code)
    app.router.add_get("/api/v1/admin/leader-applications", list_applications)
    app.router.add_post("/api/v1/admin/leader-applications/{application_id}/approve", approve)
    app.router.add_post("/api/v1/admin/leader-applications/{application_id}/reject", reject)
    app.router.add_post("/api/v1/admin/users/{user_id}/roles", grant_role)
    app.router.add_delete("/api/v1/admin/users/{user_id}/roles/{role}", revoke_role)
