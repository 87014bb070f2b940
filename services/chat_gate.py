"""The gate every chat update passes once: the dedup claim and the sender's count, together.

WeChat re-sends a message three times, 5 s apart, and a retry may overlap the first attempt:
whoever claims ``update.dedupe_key`` first does the work, the rest are acknowledged. The same
script counts the sender's messages in the current minute, so a re-delivery is never counted
and the rate limit costs no second round trip (every chat message pays for this one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services import ratelimit

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from qunshop.chat import Update

CLAIM_TTL_SECONDS = 6 * 3600  # far beyond WeChat's retries and the bot's 6-minute stream
RATE_WINDOW_SECONDS = 60
RATE_LIMIT = 20  # messages a sender may send the bot per window

# KEYS[1] the claim, KEYS[2] (absent for events) the sender's counter. -1: already claimed.
# A script is atomic, so a counter never lives without its expiry.
_ADMIT = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return -1 end
if #KEYS < 2 then return 0 end
local n = redis.call('INCR', KEYS[2])
if n == 1 then redis.call('EXPIRE', KEYS[2], ARGV[3]) end
return n
"""


def _claim_key(update: Update) -> str:
    return f"chat:dedupe:{update.dedupe_key}"


def _rate_name(update: Update) -> str:
    return f"chat:{update.platform}:{update.sender}"  # a services.ratelimit key


async def admit(redis: Redis, update: Update, value: str = "1") -> int | None:
    """None for a delivery someone already claimed; else the sender's messages this window
    (0 for events, which people do not type)."""
    claim = _claim_key(update)
    keys = [claim] if update.event else [claim, ratelimit.PREFIX + _rate_name(update)]
    found = int(
        await redis.register_script(_ADMIT)(
            keys=keys, args=[value, CLAIM_TTL_SECONDS, RATE_WINDOW_SECONDS]
        )
    )
    return None if found < 0 else found


async def limited(redis: Redis, update: Update) -> bool:
    """Over the sender's limit: from the count ``admit`` made, or (an update that did not
    come through it) by counting now in the same window."""
    if update.event:  # events are not typed by people
        return False
    if update.sender_count is not None:
        return update.sender_count > RATE_LIMIT
    within = await ratelimit.hit(
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
