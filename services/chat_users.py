"""Chat senders as our users: a platform id is tied to one user, created on first contact."""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.chat import ChatIdentity
from models.community import Community
from models.user import User

SEEN_GRANULARITY = timedelta(minutes=5)


async def user_for(*, platform: str, external_id: str, now: datetime) -> User:
    identity = await ChatIdentity.get_or_none(
        platform=platform, external_id=external_id
    ).select_related("user")
    if identity is not None:
        # The 48-hour window needs minutes, not milliseconds: skip most writes.
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
