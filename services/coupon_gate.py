"""The claim gate: one Redis hash per coupon template that answers most claimers of a burst
without the database.

It holds the coupons left and each claimer's count; one script admits or refuses a claimer
and counts them. The admitted go to the database, which decides (services/coupons.py); a
claim the database refuses gives its place back. A missing gate (Redis flushed, never
primed) is primed from the database; a Redis that fails lets claims through to the database.

With the app's gate, the claimers of one turn of the event loop share one script call, and
those it admits together share one claim statement (``coupons.claim_together``): one lock of
the template row and one commit for all of them, instead of one flushed commit each, one after
the other.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from qunshop.errors import ErrorCode, QunshopError
from services import coupons
from services.batching import TurnBatcher
from services.ids import parse_uuid

if TYPE_CHECKING:
    import uuid

    from redis.asyncio import Redis

    from qunshop.tasks import TaskTracker
    from services.auth import Principal
    from services.coupons import Held

logger = logging.getLogger(__name__)

MISSING, OVER_LIMIT, GONE, ADMITTED = -1, -2, 0, 1
TTL_SECONDS = 7 * 24 * 3600

# KEYS[1] the gate; ARGV[1] the claimer's field. 1 admitted, 0 gone, -2 over the limit,
# -1 no gate.
_ADMIT = """
local left = redis.call('HGET', KEYS[1], 'left')
if not left then return -1 end
if tonumber(left) <= 0 then return 0 end
local limit = tonumber(redis.call('HGET', KEYS[1], 'limit'))
if tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') >= limit then return -2 end
redis.call('HINCRBY', KEYS[1], 'left', -1)
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
return 1
"""
# KEYS[1] the gate; ARGV: left, limit, seconds to live. The first writer only.
_PRIME = """
if redis.call('HEXISTS', KEYS[1], 'left') == 0 then
  redis.call('HSET', KEYS[1], 'left', ARGV[1], 'limit', ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
"""
_GIVE_BACK = """
if redis.call('HEXISTS', KEYS[1], 'left') == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'left', 1)
if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1
"""


# The same judgement for the claimers of one turn of the event loop, in order: KEYS[1] the
# gate; ARGV their fields. A verdict per claimer.
_ADMIT_MANY = """
local left = redis.call('HGET', KEYS[1], 'left')
local out = {}
if not left then
  for i = 1, #ARGV do out[i] = -1 end
  return out
end
left = tonumber(left)
local limit = tonumber(redis.call('HGET', KEYS[1], 'limit'))
local taken = 0
for i = 1, #ARGV do
  local verdict = 1
  if left <= 0 then verdict = 0
  elseif tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0') >= limit then verdict = -2
  else
    left = left - 1
    taken = taken + 1
    redis.call('HINCRBY', KEYS[1], ARGV[i], 1)
  end
  out[i] = verdict
end
if taken > 0 then redis.call('HINCRBY', KEYS[1], 'left', -taken) end
return out
"""


class CouponGate:
    """The gate's calls over one Redis client, one per app: the claimers of one template who
    reach the gate in the same turn of the event loop share one script call, and those it
    admits together one claim statement."""

    def __init__(self, redis: Redis, tasks: TaskTracker) -> None:
        self.redis = redis
        self._admit_many = redis.register_script(_ADMIT_MANY)
        self._batch: TurnBatcher[uuid.UUID, uuid.UUID, int] = TurnBatcher(
            "coupon gate", self._run, tasks, unheard=self._unheard
        )
        self._claims: TurnBatcher[uuid.UUID, tuple[uuid.UUID, datetime], Held | QunshopError] = (
            TurnBatcher("coupon claims", self._claim, tasks)
        )

    async def _claim(
        self, template_id: uuid.UUID, asks: list[tuple[uuid.UUID, datetime]]
    ) -> list[Held | QunshopError]:
        return await coupons.claim_together(
            template_id=template_id,
            user_ids=[user_id for user_id, _ in asks],
            now=max(at for _, at in asks),  # the same turn: microseconds apart
        )

    async def issue(self, template_id: uuid.UUID, user_id: uuid.UUID, now: datetime) -> Held:
        """An admitted claimer's claim, with the others of this turn (outside any
        transaction: the statement runs on its own)."""
        answer = await self._claims(template_id, (user_id, now))
        if isinstance(answer, QunshopError):
            raise answer
        return answer

    async def _run(self, template_id: uuid.UUID, user_ids: list[uuid.UUID]) -> list[int]:
        answers = await self._admit_many(
            keys=[key(template_id)], args=[f"u:{user_id}" for user_id in user_ids]
        )
        return [int(answer) for answer in answers]

    async def _unheard(self, template_id: uuid.UUID, user_id: uuid.UUID, verdict: int) -> None:
        if verdict == ADMITTED:  # admitted, but the claimer stopped listening
            await give_back(self.redis, template_id, user_id)

    async def admit(self, template_id: uuid.UUID, user_id: uuid.UUID) -> int:
        return await self._batch(template_id, user_id)


def key(template_id: uuid.UUID) -> str:
    return f"coupon:{{{template_id}}}"


async def prime(redis: Redis, template_id: uuid.UUID, *, left: int, limit: int) -> None:
    try:
        await redis.register_script(_PRIME)(
            keys=[key(template_id)], args=[left, limit, TTL_SECONDS]
        )
    except Exception:
        logger.exception("coupon %s: could not prime the gate", template_id)


async def forget(redis: Redis, template_id: uuid.UUID) -> None:
    try:
        await redis.delete(key(template_id))
    except Exception:
        logger.exception("coupon %s: could not drop the gate", template_id)


async def _admit(
    redis: Redis, gate: CouponGate | None, template_id: uuid.UUID, user_id: uuid.UUID
) -> int:
    if gate is not None:
        return await gate.admit(template_id, user_id)
    answer = await redis.register_script(_ADMIT)(keys=[key(template_id)], args=[f"u:{user_id}"])
    return int(answer)


async def give_back(redis: Redis, template_id: uuid.UUID, user_id: uuid.UUID) -> None:
    try:
        await redis.register_script(_GIVE_BACK)(keys=[key(template_id)], args=[f"u:{user_id}"])
    except Exception:
        logger.exception("coupon %s: could not give a place back", template_id)


async def _verdict(
    redis: Redis, gate: CouponGate | None, template_id: uuid.UUID, user_id: uuid.UUID
) -> int:
    try:
        verdict = await _admit(redis, gate, template_id, user_id)
    except Exception:
        logger.exception("coupon %s: gate unavailable, the database decides", template_id)
        return MISSING
    if verdict != MISSING:
        return verdict
    template = await coupons.get_template(template_id)  # not found: refused here
    await prime(redis, template_id, left=template.stock_left, limit=template.per_user_limit)
    try:
        return await _admit(redis, gate, template_id, user_id)
    except Exception:
        logger.exception("coupon %s: gate unavailable, the database decides", template_id)
        return MISSING


async def claim(
    *,
    redis: Redis,
    principal: Principal,
    template_id: str | uuid.UUID,
    now: datetime,
    gate: CouponGate | None = None,
) -> Held:
    """``coupons.claim`` behind the gate: the gate's refusals cost no database call, and with
    the app's ``gate`` a burst's claimers share one Redis call per turn, and its admitted
    claimers one claim statement."""
    tid = parse_uuid(template_id)
    if tid is None:
        raise coupons.refusal(ErrorCode.COUPON_TEMPLATE_NOT_FOUND)
    verdict = await _verdict(redis, gate, tid, principal.user_id)
    if verdict == GONE:
        raise coupons.refusal(ErrorCode.COUPONS_GONE)
    if verdict == OVER_LIMIT:
        raise coupons.refusal(ErrorCode.COUPON_LIMIT_REACHED)
    try:
        if gate is not None:
            return await gate.issue(tid, principal.user_id, now)
        coupon = await coupons.claim(principal=principal, template_id=tid, now=now)
        template = await coupons.get_template(tid)
        usable = coupon.valid_from <= now < coupon.valid_until
        return coupons.Held(coupon=coupon, template=template, usable=usable)
    except BaseException:
        if verdict == ADMITTED:
            await give_back(redis, tid, principal.user_id)
        raise
