"""One person, one account: linking a chat identity to the caller's account."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from miniapp_api.spec import endpoint
from qunshop.config import Settings
from services import accounts
from services.auth import Principal


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(
        min_length=1,
        max_length=256,
        description="the link token a chat reply carried (its mini-program path or H5 URL)",
    )


class LinkOut(BaseModel):
    platform: str = Field(description="wechat, wecom or wecom_bot")
    external_id: str = Field(description="the chat identity's id on that platform")
    already: bool = Field(description="it was linked to this account before: nothing changed")
    moved: dict[str, int] = Field(description="what moved over from the chat identity, by kind")


@endpoint(
    summary="Link the chat identity a link token names to the caller's account",
    tags=("session",),
    body=LinkIn,
    response=LinkOut,
    auth=True,
    errors=(400, 401, 409, 422),
)
async def create_link(
    *, principal: Principal, body: LinkIn, settings: Settings, now: datetime
) -> LinkOut:
    done = await accounts.redeem(
        account_id=principal.user_id,
        token=body.token,
        secret=settings.secret_key.get_secret_value(),
        now=now,
    )
    return LinkOut(
        platform=done.platform,
        external_id=done.external_id,
        already=done.already,
        moved=done.moved,
    )


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/me/links", create_link)
