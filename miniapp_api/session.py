"""Logging in with a wx.login code, and reading who the caller is."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from miniapp_api.remote import client_address
from miniapp_api.spec import endpoint
from miniapp_api.tiers import TierOut
from models.user import Role, User
from qunshop.keys import CLOCK, HTTP, REDIS, SETTINGS, Resources
from services import accounts, auth, communities, ratelimit, tiers
from services.auth import Principal


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=128, description="the code from wx.login()")


class UserOut(BaseModel):
    id: str
    role: Role
    nickname: str

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(id=str(user.id), role=user.role, nickname=user.nickname)


class ChatIdentityOut(BaseModel):
    platform: str = Field(description="wechat, wecom or wecom_bot")
    external_id: str = Field(description="the id on that platform (openid, WeCom userid)")
    linked_at: datetime | None = Field(description="when it was linked; None: always was")


class MeOut(UserOut):
    chat_identities: list[ChatIdentityOut] = Field(
        description="the chat identities linked to this account: the bot knows them as you"
    )
    tier: TierOut = Field(description="the member tier and its perks (also GET /api/v1/me/tier)")


class SessionOut(BaseModel):
    token: str = Field(description="send as Authorization: Bearer <token>")
    expires_at: datetime
    user: UserOut


@endpoint(
    summary="Log in with a wx.login code",
    tags=("session",),
    body=LoginIn,
    response=SessionOut,
    errors=(401, 403, 429, 502),
)
async def create_session(*, request: web.Request, body: LoginIn, config: Resources) -> SessionOut:
    redis = config[REDIS]
    await ratelimit.check_login(  # before WeChat is asked (429 over the limit)
        redis, client_ip=client_address(request) or "-", code=body.code
    )
    done = await auth.login(
        code=body.code,
        http=config[HTTP],
        redis=redis,
        settings=config[SETTINGS],
        now=config[CLOCK].now(),
    )
    return SessionOut(token=done.token, expires_at=done.expires_at, user=UserOut.of(done.user))


@endpoint(
    summary="The caller, with the chat identities linked to the account",
    tags=("session",),
    response=MeOut,
    auth=True,
)
async def me(*, principal: Principal, config: Resources) -> MeOut:
    user = await communities.current_user(principal)
    linked = await accounts.identities_of(user.id)
    tier = await tiers.standing(user.id, now=config[CLOCK].now())
    return MeOut(
        **UserOut.of(user).model_dump(),
        tier=TierOut.of(tier),
        chat_identities=[
            ChatIdentityOut(platform=i.platform, external_id=i.external_id, linked_at=when)
            for i, when in linked
        ],
    )


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/session", create_session)
    app.router.add_get("/api/v1/me", me)
