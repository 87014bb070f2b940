"""The mini-program's access token for server-side calls (wxacode), shared through Redis.

The same Redis key and lock as the outbound messenger (bot/messenger.py), so the whole
server holds one stable token and fetches it once, whichever worker needs it first.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from redis.exceptions import LockError

from qunshop.errors import ErrorCode, UpstreamError
from wechat import messaging
from wechat.messaging import MessagingError

if TYPE_CHECKING:
    import aiohttp
    from redis.asyncio import Redis

    from qunshop.config import Settings

logger = logging.getLogger(__name__)

LOCK_TIMEOUT = 15
LOCK_WAIT = 10


def token_key(settings: Settings) -> str:
    return f"qunshop:token:wechat:{settings.wechat_appid}"


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


async def access_token(
    *, http: aiohttp.ClientSession, redis: Redis, settings: Settings, rejected: str | None = None
) -> str:
    """The cached token, or a fresh one fetched under the lock; ``rejected`` was refused."""
    key = token_key(settings)
    cached = _text(await redis.get(key))
    if cached and cached != rejected:
        return cached
    lock = redis.lock(f"{key}:lock", timeout=LOCK_TIMEOUT, sleep=0.05, blocking_timeout=LOCK_WAIT)
    try:
        async with lock:
            cached = _text(await redis.get(key))
            if cached and cached != rejected:
                return cached  # another worker fetched it while we waited
            token, expires_in = await messaging.stable_token(
                http,
                base=settings.wechat_api_base,
                appid=settings.wechat_appid,
                secret=settings.wechat_secret.get_secret_value(),
            )
            ttl = max(min(30, expires_in), expires_in - 300)
            await redis.set(key, token, ex=ttl)
            logger.info("wechat access token fetched, cached for %ss", ttl)
            return token
    except (LockError, MessagingError) as exc:
        logger.warning("wechat access token unavailable: %s", exc)
        raise UpstreamError(
            ErrorCode.WECHAT_UNAVAILABLE, "WeChat did not answer; try again"
        ) from exc
