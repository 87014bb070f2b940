"""A person's data taken out from a chat: the chat cannot carry a file, so a one-to-one
chat gets a single-use link (``services.one_time``) whose page hands over the same archive
the mini-program's ``GET /me/export`` does (``services.privacy.export``)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pydantic_core

from models.privacy import Erasure
from models.user import User
from qunshop.errors import ErrorCode, Unauthenticated
from services import one_time, privacy
from services.auth import Principal

if TYPE_CHECKING:
    from datetime import datetime

    from redis.asyncio import Redis

    from qunshop.config import Settings

PURPOSE = "privacy:export"
TTL_SECONDS = 10 * 60
FILENAME = "qunshop-export.json"


async def export_link(*, principal: Principal, redis: Redis) -> str:
    """A token for the caller's archive, good once within ``TTL_SECONDS``."""
    return await one_time.issue(
        redis, purpose=PURPOSE, value=str(principal.user_id), seconds=TTL_SECONDS
    )


async def is_live(*, token: str, redis: Redis) -> bool:
    """Whether the link still works, read without spending it (its page offers the button)."""
    return await one_time.peek(redis, purpose=PURPOSE, token=token) is not None


async def export_by_link(*, token: str, redis: Redis, settings: Settings, now: datetime) -> bytes:
    """The archive, as JSON; the link is spent."""
    stored = await one_time.spend(redis, purpose=PURPOSE, token=token)
    if stored is None:
        raise Unauthenticated(ErrorCode.EXPORT_LINK_EXPIRED, "this link was used or has expired")
    user = await User.get(id=uuid.UUID(stored))
    if await Erasure.exists(user_id=user.id):
        raise Unauthenticated(ErrorCode.ACCOUNT_ERASED, "this account was erased")
    archive = await privacy.export(
        principal=Principal(user_id=user.id, role=user.role), settings=settings, now=now
    )
    return pydantic_core.to_json(archive)
