"""Single-use login links to the leader's console, asked for in a one-to-one chat.

The link's token is random; Redis keeps only its SHA-256 for ``TTL`` and gives it up once
(GETDEL), so a link forwarded or read twice logs in once at most.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import TYPE_CHECKING

from models.user import Role, User
from qunshop.errors import ErrorCode, Forbidden, Unauthenticated

if TYPE_CHECKING:
    from redis.asyncio import Redis

TTL_SECONDS = 10 * 60
STAFF = (Role.LEADER, Role.ADMIN)


def _key(token: str) -> str:
    return f"qunshop:console:login:{hashlib.sha256(token.encode()).hexdigest()}"


async def issue(*, user: User, redis: Redis) -> str:
    if user.role not in STAFF:
        raise Forbidden(ErrorCode.FORBIDDEN, "the console is for leaders")
    token = secrets.token_urlsafe(24)
    await redis.set(_key(token), str(user.id), ex=TTL_SECONDS)
    return token


async def is_operators(*, token: str, redis: Redis) -> bool:
    """Whether a live link was issued to an operator, read without spending it: the login
    page titles itself for whoever the link is for (运营后台 or 团长后台)."""
    stored = await redis.get(_key(token)) if _plausible(token) else None
    if stored is None:
        return False
    return await User.filter(id=_user_id(stored), role=Role.ADMIN).exists()


async def redeem(*, token: str, redis: Redis) -> User:
    """The user the token was issued to; the token is spent."""
    stored = await redis.getdel(_key(token)) if _plausible(token) else None
    if stored is None:
        raise Unauthenticated(ErrorCode.TOKEN_EXPIRED, "this login link was used or has expired")
    user = await User.get_or_none(id=_user_id(stored))
    if user is None or user.role not in STAFF:
        raise Forbidden(ErrorCode.FORBIDDEN, "the console is for leaders")
    return user


def _plausible(token: str) -> bool:
    return 16 <= len(token) <= 64


def _user_id(stored: bytes | str) -> uuid.UUID:
    return uuid.UUID(stored.decode() if isinstance(stored, bytes) else stored)
