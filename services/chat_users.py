"""Chat senders as our users: a platform id is tied to one user, created on first contact."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.chat import ChatIdentity
from models.community import Community
from models.user import Role, User
from qunshop.errors import ErrorCode, NotFound
from services.auth import Principal
from services.batching import TurnBatcher

if TYPE_CHECKING:
    from qunshop.tasks import TaskTracker

logger = logging.getLogger(__name__)

# The 48-hour window needs minutes, not milliseconds: last_seen_at is written this often.
SEEN_GRANULARITY = timedelta(minutes=5)

# Every chat message asks this, so it is one plain statement, not an ORM join (which costs
# several times the round trip in query building), and the senders of one turn of the event
# loop share it (``Senders``). Most people write to the bot now and then, not every few
# minutes, so most messages find their sender's mark stale: the same statement writes the
# stale marks ($3 the turn's latest clock, $4 that clock less SEEN_GRANULARITY), never moving
# one back (another process may have written a later one), instead of a second round trip.
# It answers the marks as they were before.
_SENDERS_SQL = (
    "WITH found AS (SELECT ci.id, ci.external_id, ci.user_id, ci.last_seen_at, u.role "
    "FROM chat_identities ci JOIN users u ON u.id = ci.user_id "
    "WHERE ci.platform = $1 AND ci.external_id = ANY($2::text[])), "
    "seen AS (UPDATE chat_identities ci SET last_seen_at = $3 FROM found "
    "WHERE ci.id = found.id AND (found.last_seen_at IS NULL OR found.last_seen_at < $4) "
    "AND (ci.last_seen_at IS NULL OR ci.last_seen_at < $3)) "
    "SELECT id, external_id, user_id, last_seen_at, role FROM found"
)


class Senders:
    """Who wrote: the user tied to a platform id, created on first contact. One per app.

    Called outside any transaction: the shared read runs in the first caller's context."""

    def __init__(self, tasks: TaskTracker) -> None:
        self._batch: TurnBatcher[str, tuple[str, datetime], dict[str, Any] | None] = TurnBatcher(
            "chat senders", _seen_all, tasks
        )

    async def __call__(self, *, platform: str, external_id: str, now: datetime) -> Principal:
        row = await self._batch(platform, (external_id, now))
        if row is None:
            user = await user_for(platform=platform, external_id=external_id, now=now)
            return Principal(user_id=user.id, role=user.role)
        return Principal(user_id=row["user_id"], role=Role(row["role"]))


async def _seen_all(platform: str, asks: list[tuple[str, datetime]]) -> list[dict[str, Any] | None]:
    """The senders of one turn, their stale marks written at the turn's latest clock."""
    now = max(when for _, when in asks)
    return await _find_all(platform, [external_id for external_id, _ in asks], now)


async def _find_all(
    platform: str, external_ids: list[str], now: datetime
) -> list[dict[str, Any] | None]:
    unique = list(dict.fromkeys(external_ids))
    rows = await connections.get("default").execute_query_dict(
        _SENDERS_SQL, [platform, unique, now, now - SEEN_GRANULARITY]
    )
    found = {row["external_id"]: row for row in rows}
    return [found.get(external_id) for external_id in external_ids]


async def user(user_id: uuid.UUID) -> User:
    found = await User.get_or_none(id=user_id)
    if found is None:
        raise NotFound(ErrorCode.USER_NOT_FOUND, "no such user")
    return found


def shell_openid(platform: str, external_id: str) -> str:
    """The openid of the chat-only user made on first contact: no WeChat openid has a colon.

    A chat identity whose user still has this openid is not linked to an account yet."""
    return f"{platform}:{external_id}"[:64]


async def user_for(*, platform: str, external_id: str, now: datetime) -> User:
    identity = await ChatIdentity.get_or_none(
        platform=platform, external_id=external_id
    ).select_related("user")
    if identity is not None:
        if identity.last_seen_at is None or now - identity.last_seen_at > SEEN_GRANULARITY:
            await ChatIdentity.filter(id=identity.id).update(last_seen_at=now)
        return identity.user
    for _attempt in range(2):
        try:
            return await _first_contact(platform=platform, external_id=external_id, now=now)
        except IntegrityError:
            pass
        # A concurrent first message created it...
        identity = await ChatIdentity.get_or_none(
            platform=platform, external_id=external_id
        ).select_related("user")
        if identity is not None:
            return identity.user
        # ...or a user left behind holds the shell openid: the chat-only user of an identity
        # that was linked to an account, and that account was erased since (the identity's
        # platform id went with it). The sender is a new person; the old shell lets go.
        await _release_shell_openid(shell_openid(platform, external_id))
    raise RuntimeError(f"no user for {platform} sender after two attempts")  # pragma: no cover


async def _first_contact(*, platform: str, external_id: str, now: datetime) -> User:
    async with in_transaction():
        user = await User.create(openid=shell_openid(platform, external_id))
        await ChatIdentity.create(
            platform=platform, external_id=external_id, user=user, last_seen_at=now
        )
        return user


# The shell openid is released only by a user no chat identity belongs to any more: a shell
# whose identity still points at it is a sender's live user, whatever happened elsewhere.
_RELEASE_SHELL_SQL = (
    "UPDATE users u SET openid = 'released:' || replace(u.id::text, '-', '') "
    "WHERE u.openid = $1 AND NOT EXISTS (SELECT 1 FROM chat_identities ci WHERE ci.user_id = u.id)"
)


async def _release_shell_openid(openid: str) -> None:
    released = await connections.get("default").execute_query(_RELEASE_SHELL_SQL, [openid])
    if released[0]:
        logger.info("a left-behind chat-only user let go of its shell openid")


async def identity_for(*, platform: str, external_id: str, now: datetime) -> ChatIdentity:
    """The sender's chat identity, made on first contact as ``user_for`` makes it."""
    await user_for(platform=platform, external_id=external_id, now=now)
    return await ChatIdentity.get(platform=platform, external_id=external_id)


async def community_of_chat(chat_id: str) -> Community | None:
    return await Community.get_or_none(chat_id=chat_id)
