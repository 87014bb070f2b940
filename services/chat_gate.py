"""The gate every chat update passes once: the dedup claim and the sender's count, together.

WeChat re-sends a message three times, 5 s apart, and a retry may overlap the first attempt:
whoever claims ``update.dedupe_key`` first does the work, the rest are acknowledged. The same
script counts the sender's messages in the current minute, so a re-delivery is never counted
and the rate limit costs no second round trip; the updates that arrive in one turn of the
event loop share that one (``ChatGate``).
"""

from __future__ import annotations

import itertools
import logging
import os
from typing import TYPE_CHECKING

from services import ratelimit
from services.batching import TurnBatcher

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from qunshop.chat import Update
    from qunshop.tasks import TaskTracker

logger = logging.getLogger(__name__)

CLAIM_TTL_SECONDS = 6 * 3600  # far beyond WeChat's retries and the bot's 6-minute stream
RATE_WINDOW_SECONDS = 60
RATE_LIMIT = 20  # messages a sender may send the bot per window

# Every update of one turn of the event loop, in order (services.batching). ARGV[1] the claim's
# seconds to live, ARGV[2] the counter's window in ms, ARGV[3] the sender's limit; then per
# update its claim value and 1 if its sender is counted (events are not). KEYS: per update its
# claim, then its counter if counted. Answers per update: -1 already claimed, else the
# sender's count (0 for events). The counting is services.ratelimit's, as one step of this
# script, so a re-delivery is never counted. (Keys of many slots: one Redis, not a Cluster.)
_ADMIT = (
    ratelimit.TAKE_LUA
    + """
local out, k = {}, 1
for i = 4, #ARGV, 2 do
  local claim, counter = KEYS[k], nil
  k = k + 1
  if ARGV[i + 1] == '1' then counter = KEYS[k]; k = k + 1 end
  if not redis.call('SET', claim, ARGV[i], 'NX', 'EX', ARGV[1]) then out[#out + 1] = -1
  elseif not counter then out[#out + 1] = 0
  else out[#out + 1] = take(counter, 1, tonumber(ARGV[3]), ARGV[2])
  end
end
return out
"""
)


# KEYS: claims, ARGV: the value each was claimed with. Deletes only the claims still holding
# that value: a claim another delivery made is not ours to give back.
_GIVE_BACK = """
local n = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[i] then redis.call('DEL', KEYS[i]); n = n + 1 end
end
return n
"""


def _claim_key(update: Update) -> str:
    return f"chat:dedupe:{update.dedupe_key}"


def _rate_name(update: Update) -> str:
    return f"chat:{update.platform}:{update.sender}"  # a services.ratelimit key


class ChatGate:
    """The gate over one Redis client; one per app. The updates that reach it in one turn
    of the event loop share one script call."""

    def __init__(self, redis: Redis, tasks: TaskTracker) -> None:
        self.redis = redis
        self._script = redis.register_script(_ADMIT)
        self._give_back = redis.register_script(_GIVE_BACK)
        self._batch: TurnBatcher[None, tuple[Update, str], int] = TurnBatcher(
            "chat gate", self._admit_all, tasks, unheard=self._unheard
        )
        # Each claim holds a value no other delivery's claim holds, so it is given back only
        # by the delivery that made it: this process's random prefix and a count.
        self._prefix = os.urandom(6).hex()
        self._count = itertools.count()

    async def admit(self, update: Update, value: str | None = None) -> int | None:
        """None for a delivery someone already claimed; else the sender's messages this
        window (0 for events, which people do not type). ``value`` is kept in the claim
        (``claimed_value``) and must be unique to this delivery; by default it is."""
        if value is None:
            value = f"{self._prefix}:{next(self._count)}"
        found = await self._batch(None, (update, value))
        return None if found < 0 else found

    async def _admit_all(self, _: None, asks: list[tuple[Update, str]]) -> list[int]:
        keys: list[str] = []
        args: list[str | int] = [CLAIM_TTL_SECONDS, RATE_WINDOW_SECONDS * 1000, RATE_LIMIT]
        for update, value in asks:
            keys.append(_claim_key(update))
            counted = not update.event
            if counted:
                keys.append(ratelimit.key(_rate_name(update)))
            args += [value, int(counted)]
        try:
            found = await self._script(keys=keys, args=args)
        except Exception:
            # The script may have run with its answer lost (a timeout): every webhook of the
            # turn is answered 503, and its re-delivery must not find its own claim taken.
            await self._give_back_all(asks)
            raise
        return [int(n) for n in found]

    async def _give_back_all(self, asks: list[tuple[Update, str]]) -> None:
        keys = [_claim_key(update) for update, _ in asks]
        try:
            await self._give_back(keys=keys, args=[value for _, value in asks])
        except Exception:  # Redis is down: the claims stay until they expire
            logger.warning("chat gate: could not give back %d claims", len(keys), exc_info=True)

    async def _unheard(self, _: None, ask: tuple[Update, str], found: int) -> None:
        """Claimed for a request that has gone (cancelled): give it back for the retry."""
        if found >= 0:
            await self._give_back_all([ask])


async def limited(redis: Redis, update: Update) -> bool:
    """Over the sender's limit: from the count ``admit`` made, or (an update that did not
    come through it) by counting now in the same window."""
    if update.event:  # events are not typed by people
        return False
    if update.sender_count is not None:
        return update.sender_count > RATE_LIMIT
    within = await ratelimit.take(
        redis, _rate_name(update), limit=RATE_LIMIT, window_seconds=RATE_WINDOW_SECONDS
    )
    return not within


async def release(redis: Redis, update: Update) -> None:
    """Give a claim back when its work could not be done, so a re-delivery does it (and is
    counted again: only after an outage)."""
    await redis.delete(_claim_key(update))


async def claimed_value(redis: Redis, update: Update) -> str | None:
    value = await redis.get(_claim_key(update))
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)
