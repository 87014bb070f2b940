"""Who may see a console page: the session's user, with a role checked on every request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from models.user import Role, User
from qunshop.errors import ErrorCode, Forbidden, Unauthenticated
from qunshop.keys import REDIS
from services.auth import Principal
from web import session

if TYPE_CHECKING:
    from aiohttp import web

    from qunshop.keys import Resources


@dataclass(frozen=True)
class RoleAuth:
    roles: tuple[Role, ...]

    async def principal(self, request: web.Request, config: Resources) -> Principal:
        user_id = await session.session_user(request, config[REDIS])
        user = await User.get_or_none(id=user_id) if user_id else None
        if user is None:
            raise Unauthenticated(ErrorCode.UNAUTHENTICATED, "log in through the chat's link")
        if user.role not in self.roles:  # read now: a revoked leader is out at once
            # The refusal's page links to the pages that are theirs: their own console, or
            # for anyone else the front page, which says where each door is.
            home = HOMES.get(user.role, "/")
            raise Forbidden(ErrorCode.FORBIDDEN, "this page is not for your role", home=home)
        return Principal(user_id=user.id, role=user.role)


HOMES = {Role.LEADER: "/console", Role.ADMIN: "/admin"}


Leader = RoleAuth((Role.LEADER, Role.ADMIN))
Admin = RoleAuth((Role.ADMIN,))
