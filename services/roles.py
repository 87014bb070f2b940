"""Who may do what, changed by admins and in force at once; and accounts erased at once.

A bearer token carries the role it was issued with and lives two hours. So that a grant or a
revocation counts from the next request, not from the next login, every role change leaves a
mark in Redis for as long as a token issued before it can live; a request whose user has a
mark reads the role from the database (``current``). Users without a recent change cost a share of
one Redis MGET per turn of the event loop (``RoleMarks``) and no database read.

An erasure (``services.privacy``) leaves the same mark: a marked user's row is read, and a
token of an erased account is refused (``account_erased``) from the next request, in every
process, with no extra cost for anyone else.

The mark is written before the change commits: a request in between reads the old role from
the database, which is still right, and every request after the commit reads the new one.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tortoise.transactions import in_transaction

from models.privacy import Erasure
from models.user import Role, User
from qunshop.errors import Conflict, ErrorCode, Forbidden, Invalid, Unauthenticated
from services import audit
from services.auth import TOKEN_TTL, Principal
from services.batching import TurnBatcher
from services.ids import parse_uuid

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from qunshop.tasks import TaskTracker

logger = logging.getLogger(__name__)

# A token issued just before the change (a login racing it) lives TOKEN_TTL; a margin more.
MARK_TTL = TOKEN_TTL + timedelta(minutes=5)


def mark_key(user_id: uuid.UUID) -> str:
    return f"qunshop:role_changed:{user_id}"


async def mark_changed(redis: Redis, user_id: uuid.UUID) -> None:
    await redis.set(mark_key(user_id), "1", ex=int(MARK_TTL.total_seconds()))


class RoleMarks:
    """Which users' roles changed lately. One per app: the requests of one turn of the event
    loop ask Redis in one MGET, so a burst of requests pays one round trip, and resumes
    together (a flash-sale burst still shares its one read of the sale)."""

    def __init__(self, redis: Redis, tasks: TaskTracker) -> None:
        self._redis = redis
        self._batch: TurnBatcher[str, uuid.UUID, bool] = TurnBatcher("role marks", self._run, tasks)

    async def _run(self, _: str, user_ids: list[uuid.UUID]) -> list[bool]:
        found = await self._redis.mget([mark_key(user_id) for user_id in user_ids])
        return [value is not None for value in found]

    async def changed(self, user_id: uuid.UUID) -> bool:
        return await self._batch("", user_id)


async def current(principal: Principal, *, marks: RoleMarks) -> Principal:
    """The token's principal with the role in force now; an erased account's is refused."""
    if not await marks.changed(principal.user_id):
        return principal
    role = await User.filter(id=principal.user_id).values_list("role", flat=True)
    if not role:
        raise Unauthenticated(ErrorCode.UNAUTHENTICATED, "the token's user does not exist")
    if await Erasure.exists(user_id=principal.user_id):
        raise Unauthenticated(ErrorCode.ACCOUNT_ERASED, "this account was erased")
    fresh = Role(role[0])
    return principal if fresh is principal.role else Principal(principal.user_id, fresh)


def require_admin(actor: Principal) -> None:
    if not actor.is_admin:
        raise Forbidden(ErrorCode.FORBIDDEN, "admins only")


async def _target(user_id: str | uuid.UUID) -> User:
    key = parse_uuid(user_id)
    user = await User.get_or_none(id=key) if key is not None else None
    if user is None:
        raise Invalid(ErrorCode.USER_NOT_FOUND, "no user has this id")
    return user


async def set_role(
    *, actor: Principal, user: User, role: Role, redis: Redis, now: datetime
) -> User:
    """The one way a role changes (grants, revocations, approvals); audited in the change's
    transaction. Inside a caller's transaction it joins that one."""
    if user.role is role:
        return user
    await mark_changed(redis, user.id)
    async with in_transaction():
        before = await User.filter(id=user.id).select_for_update().values_list("role", flat=True)
        await User.filter(id=user.id).update(role=role)
        await audit.record(
            actor=actor,
            action="user.role",
            target=f"user:{user.id}",
            before={"role": Role(before[0]).value if before else user.role.value},
            after={"role": role.value},
            now=now,
        )
    logger.info("role of %s: %s -> %s (by %s)", user.id, user.role, role, actor.user_id)
    user.role = role
    return user


async def grant(
    *, actor: Principal, user_id: str | uuid.UUID, role: Role, redis: Redis, now: datetime
) -> User:
    """An admin gives a role. A user has one role: the more powerful one replaces it."""
    require_admin(actor)
    user = await _target(user_id)
    if user.id == actor.user_id:
        raise Conflict(ErrorCode.OWN_ROLE, "admins do not change their own role")
    return await set_role(actor=actor, user=user, role=role, redis=redis, now=now)


async def revoke(
    *, actor: Principal, user_id: str | uuid.UUID, role: Role, redis: Redis, now: datetime
) -> User:
    """An admin takes a role back: the user is a shopper again. Revoking what they lack is a
    no-op (the same answer twice)."""
    require_admin(actor)
    user = await _target(user_id)
    if user.id == actor.user_id:
        raise Conflict(ErrorCode.OWN_ROLE, "admins do not change their own role")
    if user.role is not role:
        return user
    return await set_role(actor=actor, user=user, role=Role.SHOPPER, redis=redis, now=now)
