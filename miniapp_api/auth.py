"""Reading the caller from the bearer token."""

from __future__ import annotations

from aiohttp import web

from models.user import Role
from qunshop.errors import ErrorCode, Forbidden, Unauthenticated
from qunshop.keys import CLOCK, SETTINGS
from services.auth import Principal, read_token


def principal(request: web.Request) -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated(ErrorCode.UNAUTHENTICATED, "send Authorization: Bearer <token>")
    settings = request.config_dict[SETTINGS]
    return read_token(
        token.strip(),
        secret=settings.secret_key.get_secret_value(),
        now=request.config_dict[CLOCK].now(),
    )


def staff(request: web.Request) -> Principal:
    """A leader or an admin; which communities they may touch is the service's rule."""
    who = principal(request)
    if who.role not in (Role.LEADER, Role.ADMIN):
        raise Forbidden(ErrorCode.FORBIDDEN, "only leaders and admins may do this")
    return who
