"""Development-only doors that let the demo run end to end without WeChat."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from miniapp_api.session import SessionOut, UserOut
from miniapp_api.spec import endpoint
from qunshop.config import Mode, Settings
from qunshop.errors import ErrorCode, Forbidden
from services import auth


class DevLoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    openid: str = Field(min_length=1, max_length=64, examples=["demo-shopper"])


@endpoint(
    summary="Development only: a token for an existing user by openid (no WeChat needed)",
    tags=("development",),
    body=DevLoginIn,
    response=SessionOut,
    errors=(401, 403),
)
async def dev_session(*, body: DevLoginIn, settings: Settings, now: datetime) -> SessionOut:
    if settings.mode is not Mode.DEVELOPMENT:
        raise Forbidden(
            ErrorCode.SIMULATION_DISABLED, "development logins exist only in development"
        )
    done = await auth.dev_login(
        openid=body.openid, secret=settings.secret_key.get_secret_value(), now=now
    )
    return SessionOut(token=done.token, expires_at=done.expires_at, user=UserOut.of(done.user))


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/dev/session", dev_session)
