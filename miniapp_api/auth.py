"""Reading the caller from the bearer token, with the role in force now.

``read_caller`` reads the token once per request (the app's middleware calls it) and asks
``services.roles`` for the current role, so a grant or a revocation counts from the next
request (the token's own role may be two hours old). The views then read the result with
``principal(request)``; a bad token is raised only where a view asks for a caller, so public
views ignore it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from models.user import Role
from qunshop.errors import ErrorCode, Forbidden, QunshopError, Unauthenticated
from qunshop.keys import CLOCK, ROLE_MARKS, SETTINGS
from services import roles
from services.auth import Principal, read_token

CALLER = web.RequestKey("qunshop.caller", object)  # a Principal, or the error reading it gave


def _bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def read_caller(request: web.Request, config: Mapping[Any, Any]) -> None:
    """Read the bearer token, if any, and the caller's role in force now, for the views to
    find (``principal``); ``config`` holds the settings, the clock and the role marks.
    Called for every request by the app's middleware, before the view."""
    token = _bearer(request)
    if token is None:
        return
    try:
        who = read_token(
            token,
            secret=config[SETTINGS].secret_key.get_secret_value(),
            now=config[CLOCK].now(),
        )
        request[CALLER] = await roles.current(who, marks=config[ROLE_MARKS])
    except QunshopError as exc:
        request[CALLER] = exc


def principal(request: web.Request) -> Principal:
    found = request.get(CALLER)
    if isinstance(found, Principal):
        return found
    if isinstance(found, QunshopError):
        raise found
    raise Unauthenticated(ErrorCode.UNAUTHENTICATED, "send Authorization: Bearer <token>")


# Whoever reads a public page without logging in: a shopper who leads nothing.
ANONYMOUS = Principal(user_id=uuid.UUID(int=0), role=Role.SHOPPER)


def optional_principal(request: web.Request) -> Principal:
    """The caller when they sent a token (a bad one is still refused), else ANONYMOUS: no
    header, or one with no token in it (``Bearer ``, what a page sends before its login)."""
    if _bearer(request) is None:
        return ANONYMOUS
    return principal(request)


def staff(request: web.Request) -> Principal:
    """A leader or an admin; which communities they may touch is the service's rule."""
    who = principal(request)
    if who.role not in (Role.LEADER, Role.ADMIN):
        raise Forbidden(ErrorCode.FORBIDDEN, "only leaders and admins may do this")
    return who


def admin(request: web.Request) -> Principal:
    who = principal(request)
    if who.role is not Role.ADMIN:
        raise Forbidden(ErrorCode.FORBIDDEN, "admins only")
    return who
