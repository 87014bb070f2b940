"""Leaderboards: top inviters and top sharers, per community and per campaign.

Redis sorted sets are the fast copy; the database is the truth. A touch sets the member's
score to its count in the database (idempotent, self-correcting) but only on a board that
exists; a board Redis lost (flush, eviction, the TTL) is rebuilt from the database on its
next read. Scores: inviters by bindings made; sharers by distinct people who arrived
through their codes (their own visits do not count).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise.functions import Count

from models.groupbuy import Campaign
from models.growth import InviteBinding, Visit
from models.user import User
from qunshop.errors import ErrorCode, NotFound
from services import communities
from services.ids import parse_uuid

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger(__name__)

REBUILD_EVERY = 6 * 3600  # seconds: a board is recounted from the database at least this often
_SET_IF_BUILT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0
"""


class Board(StrEnum):
    INVITERS = "inviters"
    SHARERS = "sharers"


class Scope(StrEnum):
    COMMUNITY = "community"
    CAMPAIGN = "campaign"


@dataclass(frozen=True)
class Rank:
    rank: int
    user_id: uuid.UUID
    nickname: str
    score: int


def key(scope: Scope, scope_id: uuid.UUID, board: Board) -> str:
    return f"qunshop:lb:{scope}:{scope_id}:{board}"


def _scope_field(scope: Scope) -> str:
    return "community_id" if scope is Scope.COMMUNITY else "campaign_id"


async def _counts(
    scope: Scope, scope_id: uuid.UUID, board: Board, member: uuid.UUID | None = None
) -> dict[str, int]:
    where: dict[str, Any] = {_scope_field(scope): scope_id}
    if board is Board.INVITERS:
        if member is not None:
            where["inviter_id"] = member
        rows = (
            await InviteBinding.filter(**where)
            .annotate(n=Count("id"))
            .group_by("inviter_id")
            .values("inviter_id", "n")
        )
        return {str(r["inviter_id"]): int(r["n"]) for r in rows}
    where["sharer_id__not_isnull"] = True
    if member is not None:
        where["sharer_id"] = member
    rows = (
        await Visit.filter(**where)
        .annotate(n=Count("user_id", distinct=True))
        .group_by("sharer_id")
        .values("sharer_id", "n")
    )
    return {str(r["sharer_id"]): int(r["n"]) for r in rows}


async def rebuild(redis: Redis, scope: Scope, scope_id: uuid.UUID, board: Board) -> int:
    """Recount a board from the database; returns how many members it has."""
    counts = await _counts(scope, scope_id, board)
    name = key(scope, scope_id, board)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(name)
        if counts:
            pipe.zadd(name, counts)
            pipe.expire(name, REBUILD_EVERY)
        await pipe.execute()
    logger.info("leaderboard %s rebuilt with %s members", name, len(counts))
    return len(counts)


async def touch(redis: Redis, *, board: Board, member: uuid.UUID, scopes: dict[Scope, Any]) -> None:
    """After a commit: set ``member``'s score from the database on the boards that exist."""
    script = redis.register_script(_SET_IF_BUILT)
    for scope, scope_id in scopes.items():
        if scope_id is None:
            continue
        try:
            score = (await _counts(scope, scope_id, board, member)).get(str(member), 0)
            await script(keys=[key(scope, scope_id, board)], args=[score, str(member)])
        except Exception:  # Redis is a copy: the next rebuild corrects it
            logger.exception("leaderboard touch failed for %s %s", scope, scope_id)


async def _scope_id(scope: Scope, scope_id: str) -> uuid.UUID:
    key_id = parse_uuid(scope_id)
    if scope is Scope.CAMPAIGN:
        if key_id is None or not await Campaign.exists(id=key_id):
            raise NotFound(ErrorCode.CAMPAIGN_NOT_FOUND, "no such campaign")
        return key_id
    return (await communities.get_community(scope_id)).id


async def top(
    redis: Redis, *, scope: Scope, scope_id: str, board: Board, limit: int = 10
) -> list[Rank]:
    """The board's leaders, highest first; rebuilt from the database if Redis lost it."""
    sid = await _scope_id(scope, scope_id)
    name = key(scope, sid, board)
    if not await redis.exists(name):
        await rebuild(redis, scope, sid, board)
    rows = await redis.zrevrange(name, 0, limit - 1, withscores=True)
    members = [(uuid.UUID(m.decode() if isinstance(m, bytes) else m), int(s)) for m, s in rows]
    users = {u.id: u for u in await User.filter(id__in=[m for m, _ in members])}
    return [
        Rank(rank=i, user_id=m, nickname=users[m].nickname if m in users else "", score=s)
        for i, (m, s) in enumerate(members, start=1)
    ]
