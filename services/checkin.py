"""签到: one check-in per person, community and local day; streaks; an append-only ledger.

The day is the community's local day. A check-in continues yesterday's streak or starts a new
one, and earns points written to the points ledger, whose ``ref`` names the check-in so it
can be credited once. Nothing in the ledger is ever edited: a balance is its sum, the
person's shop-wide points (services/points.py keeps and spends them).

Only members check in, so points cannot be farmed in a community one merely knows the id of.
Writing in the community's own group chat is membership: that door joins the writer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.activity import CheckIn, PointsEntry
from models.community import Membership
from qunshop.errors import ErrorCode, Forbidden
from services import communities, points

if TYPE_CHECKING:
    import uuid

    from services.auth import Principal

logger = logging.getLogger(__name__)

REASON = "checkin"
MAX_DAILY_POINTS = 7  # day n of a streak earns n points, at most this many


@dataclass(frozen=True)
class Result:
    checkin: CheckIn
    created: bool  # False: already checked in today, nothing changed
    points: int  # earned by this call
    balance: int


def points_for(streak: int) -> int:
    return min(streak, MAX_DAILY_POINTS)


async def check_in(
    *,
    principal: Principal,
    community_id: str | uuid.UUID,
    now: datetime,
    from_group_chat: bool = False,
) -> Result:
    """Check the caller in for today; a second call the same day changes nothing.

    ``from_group_chat``: they wrote in the community's bound group chat, which makes them a
    member; from anywhere else a non-member is refused.
    """
    community = await communities.get_community(community_id)
    if from_group_chat:
        await communities.join_community(actor=principal, community_id=community.id)
    elif not await Membership.exists(user_id=principal.user_id, community_id=community.id):
        raise Forbidden(ErrorCode.NOT_COMMUNITY_MEMBER, "join the community to check in")
    today = now.astimezone(ZoneInfo(community.timezone)).date()
    user_id = principal.user_id
    existing = await CheckIn.get_or_none(user_id=user_id, community_id=community.id, day=today)
    if existing is None:
        yesterday = await CheckIn.get_or_none(
            user_id=user_id, community_id=community.id, day=today - timedelta(days=1)
        )
        streak = yesterday.streak + 1 if yesterday is not None else 1
        try:
            async with in_transaction():
                made = await CheckIn.create(
                    user_id=user_id, community=community, day=today, streak=streak
                )
                earned = points_for(streak)
                await PointsEntry.create(
                    user_id=user_id,
                    community=community,
                    delta=earned,
                    reason=REASON,
                    ref=f"checkin:{made.id}",
                    created_at=now,  # the injected clock, as for every ledger entry
                )
        except IntegrityError:  # uq_checkin_day: a concurrent check-in won
            existing = await CheckIn.get(user_id=user_id, community_id=community.id, day=today)
        else:
            logger.info("user %s checked in to %s, streak %s", user_id, community.id, streak)
            total = await points.balance(user_id)
            return Result(checkin=made, created=True, points=earned, balance=total)
    total = await points.balance(user_id)
    return Result(checkin=existing, created=False, points=0, balance=total)
