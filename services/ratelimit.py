"""Fixed-window rate limits in Redis, shared by every worker.

A window opens with the first hit on a key and lasts ``window_seconds``; the key's counter
and its expiry are set in one MULTI, so a crash can never leave a counter without expiry
(a sender limited forever).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from qunshop.errors import ErrorCode, RateLimited

if TYPE_CHECKING:
    from redis.asyncio import Redis

PREFIX = "ratelimit:"
LOGIN_WINDOW_SECONDS = 60
LOGIN_PER_IP = 10  # logins a client address may attempt per window
LOGIN_PER_CODE = 3  # attempts with one wx.login code (it is good for one exchange anyway)


async def hit(redis: Redis, key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one hit on ``key``: True while the current window has had at most ``limit``."""
    name = PREFIX + key
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(name, 0, ex=window_seconds, nx=True)
        pipe.incr(name)
        _, count = await pipe.execute()
    return int(count) <= limit


async def enforce(redis: Redis, key: str, *, limit: int, window_seconds: int, what: str) -> None:
    """``hit``, raising ``RateLimited`` (429) once ``key`` is over its limit."""
    if not await hit(redis, key, limit=limit, window_seconds=window_seconds):
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
