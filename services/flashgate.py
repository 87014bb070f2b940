"""The flash-sale gate: one Redis hash per sale that judges buyers before the database does.

It holds the stock left, each buyer's units and a copy of the sale's window and limit, and
one Lua script judges a whole batch of buyers in order. The buyers of one sale who reach the
gate in the same turn of the event loop share that call, and buyers who need the same
database read at the same moment share it (``shared``): a burst costs a round trip per turn,
not per buyer. That bookkeeping lives on the ``FlashGate`` the app holds, and an entry
lives only while its call runs. The database stays the authority (services/flashtake.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from qunshop.errors import ErrorCode, QunshopError, Unavailable
from services import flashtake
from services.batching import TurnBatcher
from services.flashtake import Purchase, Take

if TYPE_CHECKING:
    import uuid

    from redis.asyncio import Redis

    from qunshop.tasks import TaskTracker

logger = logging.getLogger(__name__)

T = TypeVar("T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The gate's verdicts. MISSING and OUTSIDE are not answers: the database gives those.
MISSING, OUTSIDE, TOO_MANY, OVER_LIMIT, SOLD_OUT, ADMITTED = -1, -3, -4, -2, 0, 1

# The gate is one hash: 'stock', 'u:<user id>' (units held), and the sale's 'starts', 'ends'
# (epoch microseconds) and 'limit'. It judges buyers in order, each as if alone. KEYS[1] the
# gate; ARGV: per buyer their field, quantity and clock (epoch microseconds). Answers the
# sale's limit, then a verdict per buyer.
_ADMIT = """
local g = redis.call('HMGET', KEYS[1], 'stock', 'limit', 'starts', 'ends')
local out = {0}
if not g[1] or not g[2] or not g[3] or not g[4] then
  for i = 1, #ARGV, 3 do out[#out + 1] = -1 end
  return out
end
local stock, limit, starts, ends = tonumber(g[1]), tonumber(g[2]), tonumber(g[3]), tonumber(g[4])
out[1] = limit
local sold = 0
for i = 1, #ARGV, 3 do
  local qty, now = tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local verdict = 1
  if now < starts or now >= ends then verdict = -3
  elseif qty < 1 or qty > limit then verdict = -4
  elseif stock < qty then verdict = 0
  elseif tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0') + qty > limit then verdict = -2
  else
    stock = stock - qty
    sold = sold + qty
    redis.call('HINCRBY', KEYS[1], ARGV[i], qty)
  end
  out[#out + 1] = verdict
end
if sold > 0 then redis.call('HINCRBY', KEYS[1], 'stock', -sold) end
return out
"""
# KEYS[1] the gate; ARGV: the buyer's field, quantity. A lost gate has nothing to give back.
_GIVE_BACK = """
if redis.call('HEXISTS', KEYS[1], 'stock') == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'stock', tonumber(ARGV[2]))
if redis.call('HINCRBY', KEYS[1], ARGV[1], -tonumber(ARGV[2])) <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return 1
"""
# KEYS[1] the gate; ARGV: seconds to live, starts, ends, limit, then the stock and holdings as
# field, value pairs. Those are written by the first writer only (a live gate's counts are
# newer than any read of the database); the window and limit always, as just read.
_PRIME = """
local built = 0
if redis.call('HEXISTS', KEYS[1], 'stock') == 0 then
  redis.call('DEL', KEYS[1])
  for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
  built = 1
end
redis.call('HSET', KEYS[1], 'starts', ARGV[2], 'ends', ARGV[3], 'limit', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return built
"""
# KEYS[1] the gate; ARGV: starts, ends. Only a live gate: a missing one is primed when used.
_MOVE = """
if redis.call('HEXISTS', KEYS[1], 'stock') == 0 then return 0 end
redis.call('HSET', KEYS[1], 'starts', ARGV[1], 'ends', ARGV[2])
return 1
"""


def key(sale_id: uuid.UUID) -> str:
    return f"flash:{{{sale_id}}}"  # one hash tag: the gate is one key on one Redis Cluster slot


def micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


async def move(redis: Redis, sale_id: uuid.UUID, window: tuple[datetime, datetime]) -> None:
    """Give a live gate the sale's new window (closed, cancelled or moved), after the commit.

    A buyer the gate then finds outside it is answered by the database, so a closed sale
    reads "not running" and not "sold out". If Redis fails here, the gate's stale window
    only changes which refusal a buyer of a closed sale reads; the database still decides.
    """
    try:
        await redis.register_script(_MOVE)(
            keys=[key(sale_id)], args=[micros(window[0]), micros(window[1])]
        )
    except Exception:
        logger.exception("flash sale %s: could not move the gate's window", sale_id)


async def _take_together(_: uuid.UUID, asks: list[Take]) -> list[Purchase | QunshopError]:
    return await flashtake.take_together(asks)


def busy() -> Unavailable:
    return Unavailable(ErrorCode.SERVICE_UNAVAILABLE, "the flash sale is busy: try again")


@dataclass(eq=False)
class _Ask:
    user_id: uuid.UUID
    quantity: int
    at: int  # the buyer's clock, epoch microseconds
    answer: asyncio.Future[tuple[int, int]]


class FlashGate:
    """The gate's calls over one Redis client; one per app. With the app's task tracker, the
    buyers it admits in one turn of the event loop also take their units together
    (``take``)."""

    def __init__(self, redis: Redis, tasks: TaskTracker | None = None) -> None:
        self.redis = redis
        self._takes: TurnBatcher[uuid.UUID, Take, Purchase | QunshopError] | None = None
        if tasks is not None:
            self._takes = TurnBatcher("flash takes", _take_together, tasks)
        self._admit = redis.register_script(_ADMIT)
        self._give_back = redis.register_script(_GIVE_BACK)
        self._prime = redis.register_script(_PRIME)
        self._gathering: dict[uuid.UUID, list[_Ask]] = {}  # buyers going to the gate together
        self._running: dict[Any, asyncio.Future[tuple[bool, Any]]] = {}  # work being shared

    async def ask(
        self, sale_id: uuid.UUID, user_id: uuid.UUID, quantity: int, now: datetime
    ) -> tuple[int, int]:
        """The gate's verdict on one buyer, and the sale's limit as the gate knows it."""
        ask = _Ask(user_id, quantity, micros(now), asyncio.get_running_loop().create_future())
        if (gathering := self._gathering.get(sale_id)) is not None:
            gathering.append(ask)
            return await ask.answer  # a cancelled buyer cancels only this future
        batch = self._gathering[sale_id] = [ask]  # this buyer carries the batch to Redis
        try:
            await asyncio.sleep(0)  # the buyers of this turn join
            del self._gathering[sale_id]
            args = [x for a in batch for x in (f"u:{a.user_id}", a.quantity, a.at)]
            limit, *verdicts = await self._admit(keys=[key(sale_id)], args=args)
        except BaseException:
            # Cancelled (shutdown) or Redis failed: whether the script ran is unknown, so a
            # reservation may stay behind and the gate admit too few; the database decides.
            if self._gathering.get(sale_id) is batch:
                del self._gathering[sale_id]
            for other in batch[1:]:
                if not other.answer.done():
                    other.answer.set_exception(busy())
            raise
        for other, verdict in zip(batch[1:], verdicts[1:], strict=True):
            if not other.answer.done():
                other.answer.set_result((int(verdict), int(limit)))
            elif verdict == ADMITTED:  # admitted, but no longer listening
                await self.give_back(sale_id, other.user_id, other.quantity)
        return int(verdicts[0]), int(limit)

    async def take(self, ask: Take) -> Purchase | QunshopError:
        """``flashtake.take_together`` for this buyer and the others admitted this turn: their
        answers in one transaction (outside any caller's). Without a tracker, alone."""
        if self._takes is None:
            (answer,) = await flashtake.take_together([ask])
            return answer
        return await self._takes(ask.sale.id, ask)

    async def give_back(self, sale_id: uuid.UUID, user_id: uuid.UUID, quantity: int) -> None:
        try:
            await self._give_back(keys=[key(sale_id)], args=[f"u:{user_id}", quantity])
        except Exception:  # the gate then admits too few; the database still decides
            logger.exception("flash sale %s: could not give back %s's units", sale_id, user_id)

    async def prime(
        self,
        sale_id: uuid.UUID,
        *,
        ttl_seconds: int,
        window: tuple[datetime, datetime],
        limit: int,
        counts: list[str | int],
    ) -> bool:
        """Set the window and limit; ``counts`` (field, value pairs) only if the gate has none.
        True when the gate was (re)built."""
        args = [ttl_seconds, micros(window[0]), micros(window[1]), limit, *counts]
        return bool(await self._prime(keys=[key(sale_id)], args=args))

    async def shared(self, slot: object, work: Callable[[], Awaitable[T]]) -> T:
        """``work()``, run once for every caller who asks for ``slot`` while it runs."""
        while (running := self._running.get(slot)) is not None:
            finished, value = await asyncio.shield(running)
            if finished:
                return value  # type: ignore[no-any-return]
        running = asyncio.get_running_loop().create_future()
        self._running[slot] = running
        try:
            value = await work()
        except Exception as exc:
            running.set_exception(exc)  # every waiter hears what the worker heard
            running.exception()  # marked as retrieved: there may be no waiter
            raise
        else:
            running.set_result((True, value))
        finally:
            del self._running[slot]
            if not running.done():  # the worker was cancelled: a waiter works instead
                running.set_result((False, None))
        return value
