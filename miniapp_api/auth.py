"""Reading the caller from the bearer token."""

from __future__ import annotations

import uuid

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


# Whoever reads a public page without logging in: a shopper who leads nothing.
ANONYMOUS = Principal(user_id=uuid.UUID(int=0), role=Role.SHOPPER)


def optional_principal(request: web.Request) -> Principal:
    """The caller when they sent a token (a bad one is still refused), else ANONYMOUS."""
    if "Authorization" not in request.headers:
        return ANONYMOUS
    return principal(request)


def staff(request: web.Request) -> Principal:
    """A leader or an admin; which communities they may touch is the service's rule."""
    who = principal(request)
    if who.role not in (Role.LEADER, Role.ADMIN):
        raise Forbidden(ErrorCode.FORBIDDEN, "only leaders and admins may do this")
    return who
