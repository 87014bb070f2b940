"""Operators find users to give or take a role. The change itself is services.roles's
(grant, revoke: in force at once, audited in its transaction)."""

from __future__ import annotations

from tortoise.expressions import Q

from models.user import Role, User
from qunshop.errors import ErrorCode, Invalid
from services import accounts, audit
from services.auth import Principal

SHOWN = 50


async def find_users(*, actor: Principal, q: str = "", role: Role | None = None) -> list[User]:
    """By openid, or a part of the nickname; with a role, only those holding it. A chat-only
    user merged into an account is that account, not a second person."""
    audit.ensure_admin(actor)
    query = User.exclude(id__in=accounts.merged_users())
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
