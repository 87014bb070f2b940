"""The member's own nickname and avatar, as chosen in the mini-program."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel

from miniapp_api.commerce_schemas import ProfileIn
from miniapp_api.spec import endpoint
from services import moderation, storefront
from services.auth import Principal


class ProfileOut(BaseModel):
    nickname: str
    avatar_url: str | None


@endpoint(
    summary="Set the caller's nickname and avatar (type=nickname input, chooseAvatar button)",
    tags=("session",),
    body=ProfileIn,
    response=ProfileOut,
    auth=True,
    errors=(401, 403, 422),
)
async def update_profile(
    *,
    principal: Principal,
    body: ProfileIn,
    now: datetime,
    screen: moderation.Screen,
) -> ProfileOut:
    user = await storefront.update_profile(
        principal,
        nickname=body.nickname,
        avatar_url=body.avatar_url,
        now=now,
        wechat=screen,
    )
    return ProfileOut(nickname=user.nickname, avatar_url=user.avatar_url)


def setup(app: web.Application) -> None:
    app.router.add_patch("/api/v1/me/profile", update_profile)
