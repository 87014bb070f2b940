"""Single-use login links to the leader's console, asked for in a one-to-one chat
(``services.one_time``: Redis keeps only the token's hash, and gives it up once)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from models.user import Role, User
from qunshop.errors import ErrorCode, Forbidden, Unauthenticated
from services import one_time

if TYPE_CHECKING:
    from redis.asyncio import Redis

TTL_SECONDS = 10 * 60
STAFF = (Role.LEADER, Role.ADMIN)
PURPOSE = "console:login"


async def issue(*, user: User, redis: Redis) -> str:
    if user.role not in STAFF:
        raise Forbidden(ErrorCode.FORBIDDEN, "the console is for leaders")
    return await one_time.issue(redis, purpose=PURPOSE, value=str(user.id), seconds=TTL_SECONDS)


async def is_operators(*, token: str, redis: Redis) -> bool:
    """Whether a live link was issued to an operator, read without spending it: the login
    page titles itself for whoever the link is for (运营后台 or 团长后台)."""
    stored = await one_time.peek(redis, purpose=PURPOSE, token=token)
    if stored is None:
        return False
    return await User.filter(id=uuid.UUID(stored), role=Role.ADMIN).exists()


async def redeem(*, token: str, redis: Redis) -> User:
    """The user the token was issued to; the token is spent."""
    stored = await one_time.spend(redis, purpose=PURPOSE, token=token)
    if stored is None:
        raise Unauthenticated(ErrorCode.TOKEN_EXPIRED, "this login link was used or has expired")
    user = await User.get_or_none(id=uuid.UUID(stored))
    if user is None or user.role not in STAFF:
        raise Forbidden(ErrorCode.FORBIDDEN, "the console is for leaders")
    return user
