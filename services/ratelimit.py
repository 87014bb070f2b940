"""The one rate-limit and quota primitive: fixed-window counters in Redis, shared by every
worker. Logins, chat senders, group robots, group chats' daily messages and mini-program
codes are all counted here.

A window is a key. It opens with its first hit and lasts ``window_seconds``; a window tied
to the clock (this minute, this day in Shanghai) names its period in the key
(``period_key``), so it turns over with the clock. A hit is counted only while the window
stays within its limit, and the count and its expiry are written by one script, so a crash
never leaves a counter without expiry (a sender limited for ever). ``give_back`` returns a
hit whose effect did not happen.

``TAKE_LUA`` is the counting as a Lua function, for a script that counts as one step of
something larger (services/chat_gate.py counts a sender with its dedup claim).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from qunshop.errors import ErrorCode, RateLimited

if TYPE_CHECKING:
    from datetime import datetime

    from redis.asyncio import Redis

PREFIX = "ratelimit:"
LOGIN_WINDOW_SECONDS = 60
LOGIN_PER_IP = 10  # logins a client address may attempt per window
LOGIN_PER_CODE = 3  # attempts with one wx.login code (it is good for one exchange anyway)

# take(key, cost, limit, window in ms): the count this hit makes, stored only if within the
# limit; the window's expiry is set by the hit that opens it.
TAKE_LUA = """
local function take(key, cost, limit, window_ms)
  local n = tonumber(redis.call('GET', key) or '0') + cost
  if n <= limit then
    redis.call('INCRBY', key, cost)
    if redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, window_ms) end
  end
  return n
end
"""
_TAKE = TAKE_LUA + "return take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3])"
# A window that has expired meanwhile has nothing to give back (and must not go negative).
_GIVE_BACK = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('DECRBY', KEYS[1], ARGV[1])
"""


def key(name: str) -> str:
    """The Redis key of the window called ``name``."""
    return PREFIX + name


def period_key(name: str, now: datetime, seconds: int) -> str:
    """``name`` in the clock's current period of ``seconds`` (epoch-aligned: whole minutes)."""
    return f"{name}:{int(now.timestamp()) // seconds}"


async def take(redis: Redis, name: str, *, limit: int, window_seconds: int, cost: int = 1) -> bool:
    """Count ``cost`` hits on the window ``name``: True if they fit within ``limit``."""
    script = redis.register_script(_TAKE)  # EVALSHA, loading the script once per server
    count = await script(keys=[key(name)], args=[cost, limit, window_seconds * 1000])
    return int(count) <= limit


async def give_back(redis: Redis, name: str, *, cost: int = 1) -> None:
    """Return hits whose effect did not happen (a message the platform refused)."""
    await redis.register_script(_GIVE_BACK)(keys=[key(name)], args=[cost])


async def enforce(redis: Redis, name: str, *, limit: int, window_seconds: int, what: str) -> None:
    """``take``, raising ``RateLimited`` (429) once ``name`` is over its limit."""
    if not await take(redis, name, limit=limit, window_seconds=window_seconds):
        raise RateLimited(
            ErrorCode.RATE_LIMITED,
            f"too many {what}; try again within {window_seconds} seconds",
            retry_after=window_seconds,
        )


async def check_login(redis: Redis, *, client_ip: str, code: str) -> None:
    """Before WeChat is asked: per client address, then per login code."""
    await enforce(
        redis,
        f"login:ip:{client_ip}",
        limit=LOGIN_PER_IP,
        window_seconds=LOGIN_WINDOW_SECONDS,
        what="login attempts from this address",
    )
    digest = hashlib.sha256(code.encode()).hexdigest()  # the code itself stays out of Redis
    await enforce(
        redis,
        f"login:code:{digest}",
        limit=LOGIN_PER_CODE,
        window_seconds=LOGIN_WINDOW_SECONDS,
        what="login attempts with this code",
    )
