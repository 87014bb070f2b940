"""The member's own nickname and avatar, as chosen in the mini-program."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from miniapp_api.auth import principal
from miniapp_api.commerce_schemas import ProfileIn
from miniapp_api.http import parse_body, respond
from miniapp_api.spec import endpoint
from services import storefront


class ProfileOut(BaseModel):
    nickname: str
    avatar_url: str | None


@endpoint(
    summary="Set the caller's nickname and avatar (type=nickname input, chooseAvatar button)",
    tags=("session",),
    body=ProfileIn,
    response=ProfileOut,
    auth=True,
)
async def update_profile(request: web.Request) -> web.Response:
    who = principal(request)
    body = await parse_body(request, ProfileIn)
    user = await storefront.update_profile(
        who, nickname=body.nickname, avatar_url=body.avatar_url
    )
    return respond(ProfileOut(nickname=user.nickname, avatar_url=user.avatar_url))


def setup(app: web.Application) -> None:
    app.router.add_patch("/api/v1/me/profile", update_profile)
