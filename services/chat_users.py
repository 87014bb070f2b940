"""Chat senders as our users: a platform id is tied to one user, created on first contact."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.chat import ChatIdentity
from models.community import Community
from models.user import Role, User
from qunshop.errors import ErrorCode, NotFound
from services.auth import Principal

# The 48-hour window needs minutes, not milliseconds: last_seen_at is written this often.
SEEN_GRANULARITY = timedelta(minutes=5)

# Every chat message asks this, so it is one plain statement, not an ORM join (which costs
# several times the round trip in query building).
_SENDER_SQL = (
    "SELECT ci.id, ci.user_id, ci.last_seen_at, u.role FROM chat_identities ci "
    "JOIN users u ON u.id = ci.user_id WHERE ci.platform = {} AND ci.external_id = {}"
)


async def sender(*, platform: str, external_id: str, now: datetime) -> Principal:
    """Who wrote: the user tied to this platform id, created on first contact."""
    conn = connections.get("default")
    marks = ("$1", "$2") if conn.capabilities.dialect == "postgres" else ("?", "?")
    rows = await conn.execute_query_dict(_SENDER_SQL.format(*marks), [platform, external_id])
    if not rows:
        user = await user_for(platform=platform, external_id=external_id, now=now)
        return Principal(user_id=user.id, role=user.role)
    row = rows[0]
    seen = row["last_seen_at"]
    if isinstance(seen, str):  # SQLite hands back the stored text
        seen = datetime.fromisoformat(seen)
    if seen is None or now - seen > SEEN_GRANULARITY:
        await ChatIdentity.filter(id=row["id"]).update(last_seen_at=now)
    return Principal(user_id=uuid.UUID(str(row["user_id"])), role=Role(row["role"]))


async def user(user_id: uuid.UUID) -> User:
    found = await User.get_or_none(id=user_id)
    if found is None:
        raise NotFound(ErrorCode.USER_NOT_FOUND, "no such user")
    return found


async def user_for(*, platform: str, external_id: str, now: datetime) -> User:
    identity = await ChatIdentity.get_or_none(
        platform=platform, external_id=external_id
    ).select_related("user")
    if identity is not None:
        if identity.last_seen_at is None or now - identity.last_seen_at > SEEN_GRANULARITY:
            await ChatIdentity.filter(id=identity.id).update(last_seen_at=now)
        return identity.user
    try:
        async with in_transaction():
            user = await User.create(openid=f"{platform}:{external_id}"[:64])
            await ChatIdentity.create(
                platform=platform, external_id=external_id, user=user, last_seen_at=now
            )
            return user
    except IntegrityError:  # a concurrent first message created it
        identity = await ChatIdentity.get(
            platform=platform, external_id=external_id
        ).prefetch_related("user")
        return identity.user


async def community_of_chat(chat_id: str) -> Community | None:
    return await Community.get_or_none(chat_id=chat_id)
