"""Operators grant and take away roles: approving a leader is granting the leader role,
revoking one is setting them back to shopper. Each change is audited in its transaction.

(Leader applications as their own rows arrive with the account/approval work on another
branch; this module's verbs are what an approval calls.)
"""

from __future__ import annotations

from datetime import datetime

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.user import Role, User
from qunshop.errors import Conflict, ErrorCode, Invalid, NotFound
from services import audit
from services.auth import Principal
from services.ids import parse_uuid

SHOWN = 50


async def find_users(*, actor: Principal, q: str = "", role: Role | None = None) -> list[User]:
    """By openid, or a part of the nickname; with a role, only those holding it."""
    audit.ensure_admin(actor)
    query = User.all()
    if role is not None:
        query = query.filter(role=role)
    q = q.strip()
    if q:
        query = query.filter(Q(openid=q) | Q(nickname__icontains=q))
    return await query.order_by("-created_at", "id").limit(SHOWN)


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise Invalid(ErrorCode.VALIDATION_FAILED, f"no role {value!r}") from None


async def set_role(*, actor: Principal, user_id: str, role: Role, now: datetime) -> User:
    audit.ensure_admin(actor)
    key = parse_uuid(user_id)
    if key == actor.user_id:  # the last operator cannot lock everyone out by mistake
        raise Conflict(ErrorCode.FORBIDDEN, "an operator does not change their own role")
    async with in_transaction():
        user = await User.get_or_none(id=key).select_for_update() if key else None
        if user is None:
            raise NotFound(ErrorCode.USER_NOT_FOUND, "no such user")
        before = user.role
        if before is not role:
            await User.filter(id=user.id).update(role=role)
            await audit.record(
                actor=actor,
                action="user.role",
                target=f"user:{user.id}",
                before={"role": before.value},
                after={"role": role.value},
                now=now,
            )
        user.role = role
    return user
