"""The server's front page: what answers here and where each door is; in development, one
click into the consoles as a demo operator or leader (no chat needed to get a login link)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from models.user import Role
from qunshop.config import Mode
from qunshop.errors import ErrorCode, Forbidden
from qunshop.keys import CLOCK, REDIS, SETTINGS
from services import welcome
from web import session
from web.console import see_other
from web.page import page

if TYPE_CHECKING:
    from multidict import MultiDictProxy

    from qunshop.keys import Resources


@page("GET", "/", template="home.html", forms=True)
async def home(*, config: Resources, query: MultiDictProxy[str]) -> dict[str, Any]:
    """``?after=`` pages the open teams (services/cursors.py, as the console's lists page)."""
    settings = config[SETTINGS]
    development = settings.mode is Mode.DEVELOPMENT
    cursor = query.get("after") or None
    return {
        "development": development,
        "tour": await welcome.tour(now=config[CLOCK].now(), cursor=cursor) if development else None,
        "paged": bool(cursor),
        "base_url": settings.public_base_url,
    }


@page("POST", "/console/dev-login", forms=True)
async def dev_login(*, form: dict[str, str], config: Resources) -> web.StreamResponse:
    """Development only, as ``/api/v1/dev/session``: a console session for a staff member."""
    settings = config[SETTINGS]
    if settings.mode is not Mode.DEVELOPMENT:
        raise Forbidden(
            ErrorCode.SIMULATION_DISABLED, "development logins exist only in development"
        )
    user = await welcome.staff_member(form.get("user", ""))
    response = see_other("/admin" if user.role is Role.ADMIN else "/console")
    await session.open_session(response, user_id=user.id, redis=config[REDIS], settings=settings)
    return response
