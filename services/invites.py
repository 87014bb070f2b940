"""Who invited whom: binding an invitee to an inviter under the operators' rules.

- First touch wins: while a binding is in force, later touches change nothing. When it
  lapses (``binding_days``), the next touch may bind again. ``generation`` is unique per
  invitee, so two touches at once cannot both bind.
- No self-invites, no cycles (A invites B, so B's chain may not lead back to A). The two
  users' rows are locked in a fixed order first, so concurrent bindings that would close a
  cycle are decided one after the other.
- ``new_users`` scope: only users with no paid order before the touch may be bound.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.growth import BindingScope, InviteBinding, VisitSource
from models.order import Order
from models.user import User
from services import coupon_grants

if TYPE_CHECKING:
    from models.growth import ShareCode
    from services.growth_rules import Rules

logger = logging.getLogger(__name__)

MAX_CHAIN = 64  # a longer chain is treated as a cycle; no real chain comes near


class Outcome(StrEnum):
    BOUND = "bound"
    ALREADY_BOUND = "already_bound"  # first touch wins
    SELF_INVITE = "self_invite"
    CYCLE = "cycle"
    NOT_NEW_USER = "not_new_user"


# The binding in force (the latest, unless it lapsed) and the chain of inviters are
# ``qunshop_binding_of`` and ``qunshop_inviters_of`` (migration 0160): the pay notify's
# statement walks the same chain for the earnings.
_LATEST_SQL = "SELECT * FROM invite_bindings WHERE invitee_id = $1 ORDER BY generation DESC LIMIT 1"
_BINDING_OF_SQL = "SELECT * FROM qunshop_binding_of($1, $2)"
_INVITERS_OF_SQL = "SELECT qunshop_inviters_of($1, $2, $3) AS chain"


async def _latest(invitee_id: uuid.UUID) -> InviteBinding | None:
    rows = await connections.get("default").execute_query_dict(_LATEST_SQL, [invitee_id])
    return InviteBinding._init_from_db(**rows[0]) if rows else None


async def binding_of(user_id: uuid.UUID, *, at: datetime) -> InviteBinding | None:
    """The binding in force for this user at ``at``, if any."""
    rows = await connections.get("default").execute_query_dict(_BINDING_OF_SQL, [user_id, at])
    return InviteBinding._init_from_db(**rows[0]) if rows else None


async def inviters_of(user_id: uuid.UUID, *, at: datetime, levels: int) -> list[uuid.UUID]:
    """The user's inviter, that inviter's inviter ... up to ``levels``, nearest first."""
    rows = await connections.get("default").execute_query_dict(
        _INVITERS_OF_SQL, [user_id, at, levels]
    )
    return list(rows[0]["chain"])


async def _would_cycle(invitee_id: uuid.UUID, inviter_id: uuid.UUID, at: datetime) -> bool:
    current, seen = inviter_id, {inviter_id}
    for _ in range(MAX_CHAIN):
        binding = await binding_of(current, at=at)
        if binding is None:
            return False
        if binding.inviter_id == invitee_id or binding.inviter_id in seen:
            return True
        seen.add(binding.inviter_id)
        current = binding.inviter_id
    return True


async def _is_new(user_id: uuid.UUID, at: datetime) -> bool:
    return not await Order.filter(user_id=user_id, paid_at__isnull=False, paid_at__lt=at).exists()


async def _lock_users(*user_ids: uuid.UUID) -> None:
    """Row locks in one order, so two bindings of the same people cannot deadlock."""
    for user_id in sorted(set(user_ids), key=str):
        await User.filter(id=user_id).select_for_update().first()


async def bind(
    *,
    invitee_id: uuid.UUID,
    inviter_id: uuid.UUID,
    source: VisitSource,
    at: datetime,
    rules: Rules,
    share: ShareCode | None = None,
) -> Outcome:
    """Bind ``invitee`` to ``inviter`` if the rules allow; returns what was decided."""
    if invitee_id == inviter_id:
        return Outcome.SELF_INVITE
    if rules.binding_scope is BindingScope.NEW_USERS and not await _is_new(invitee_id, at):
        return Outcome.NOT_NEW_USER
    async with in_transaction():
        await _lock_users(invitee_id, inviter_id)
        if await binding_of(invitee_id, at=at) is not None:
            return Outcome.ALREADY_BOUND
        latest = await _latest(invitee_id)
        if await _would_cycle(invitee_id, inviter_id, at):
            logger.info("binding %s to %s refused: it would close a cycle", invitee_id, inviter_id)
            return Outcome.CYCLE
        try:
            async with in_transaction():  # a savepoint: the unique key may refuse it
                await InviteBinding.create(
                    invitee_id=invitee_id,
                    inviter_id=inviter_id,
                    community_id=share.community_id if share else None,
                    campaign_id=share.campaign_id if share else None,
                    code_id=share.id if share else None,
                    source=source,
                    generation=0 if latest is None else latest.generation + 1,
                    bound_at=at,
                    expires_at=rules.binding_expiry(at),
                )
        except IntegrityError:  # a concurrent touch bound this invitee first
            return Outcome.ALREADY_BOUND
        await coupon_grants.on_invite(inviter_id=inviter_id, invitee_id=invitee_id, now=at)
    logger.info("user %s bound to inviter %s (%s)", invitee_id, inviter_id, source)
    return Outcome.BOUND
