"""Access tokens kept in Redis, one key per account, shared by every worker and every caller.

The one place in this package that stores something: a token lives in Redis, never in a
process, so the messenger, the wxacode calls and every worker use the same one.

- A missing token is fetched under a Redis lock, so several workers fetch once; a worker that
  waited reads what the first one stored.
- A token the platform rejected (40001/40014/42001) is refreshed once: the first caller to
  report it fetches, the others find the new token. If the platform hands back the very
  token it rejected, a WeChat stable token is forced (``force_refresh``), at most once every
  ``FORCE_REFRESH_GAP`` seconds across all workers (a Redis NX key).
- The cached copy expires ``expires_in - 300`` seconds after the fetch (stable tokens overlap
  five minutes), never less than ``min(30, expires_in)``.

Every failure is ``MessagingError``: the platform's own, or ``errcode`` -1 with ``retryable``
set when the lock could not be had or a forced refresh is too recent.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from redis.exceptions import LockError

from wechat import messaging
from wechat.messaging import MessagingError
from wechat.wxa import WxaCodeError

if TYPE_CHECKING:
    import aiohttp
    from redis.asyncio import Redis

logger = logging.getLogger(__name__)

T = TypeVar("T")
Fetch = Callable[[bool], Awaitable[tuple[str, int]]]  # force_refresh -> (token, expires_in)

LOCK_TIMEOUT = 15  # seconds a token fetch may hold the lock
LOCK_WAIT = 10  # seconds a worker waits for another's fetch
FORCE_REFRESH_GAP = 30  # WeChat allows force_refresh at most every 30 s
RENEW_BEFORE = 300  # seconds before expiry the cached copy lapses
TTL_FLOOR = 30
# What our clients raise when a call was refused for its token (``.invalid_token``).
REFUSALS: tuple[type[MessagingError | WxaCodeError], ...] = (MessagingError, WxaCodeError)


def wechat_key(appid: str) -> str:
    return f"qunshop:token:wechat:{appid}"


def wecom_key(corp_id: str, agent_id: int | str) -> str:
    return f"qunshop:token:wecom:{corp_id}:{agent_id}"


def cache_ttl(expires_in: int) -> int:
    return max(min(TTL_FLOOR, expires_in), expires_in - RENEW_BEFORE)


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class TokenCache:
    """One account's access token in Redis under ``key``; ``fetch`` asks the platform."""

    def __init__(self, *, redis: Redis, name: str, key: str, fetch: Fetch, can_force: bool) -> None:
        self.redis = redis
        self.name = name
        self.key = key
        self._fetch = fetch
        self.can_force = can_force

    @classmethod
    def wechat(
        cls, *, http: aiohttp.ClientSession, redis: Redis, base: str, appid: str, secret: str
    ) -> TokenCache:
        """The stable token of an Official Account or mini-program (POST /cgi-bin/stable_token)."""

        async def fetch(force: bool) -> tuple[str, int]:
            return await messaging.stable_token(
                http, base=base, appid=appid, secret=secret, force_refresh=force
            )

        return cls(redis=redis, name="wechat", key=wechat_key(appid), fetch=fetch, can_force=True)

    @classmethod
    def wecom(
        cls,
        *,
        http: aiohttp.ClientSession,
        redis: Redis,
        base: str,
        corp_id: str,
        agent_id: int | str,
        secret: str,
    ) -> TokenCache:
        """A WeCom app's token (GET /cgi-bin/gettoken); it has no forced refresh."""

        async def fetch(force: bool) -> tuple[str, int]:
            return await messaging.wecom_token(http, base=base, corp_id=corp_id, secret=secret)

        key = wecom_key(corp_id, agent_id)
        return cls(redis=redis, name="wecom", key=key, fetch=fetch, can_force=False)

    async def get(self) -> str:
        """The cached token, or one fetched now (once for all workers)."""
        cached = _text(await self.redis.get(self.key))
        return cached or await self.refresh()

    async def refresh(self, *, rejected: str | None = None) -> str:
        """Fetch a token once for all workers; ``rejected`` is one the platform refused."""
        lock = self.redis.lock(
            f"{self.key}:lock", timeout=LOCK_TIMEOUT, sleep=0.05, blocking_timeout=LOCK_WAIT
        )
        try:
            async with lock:
                cached = _text(await self.redis.get(self.key))
                if cached and cached != rejected:
                    return cached  # another worker fetched it while we waited
                token, expires_in = await self._fetch(False)
                if token == rejected and self.can_force:
                    token, expires_in = await self._force()
                ttl = cache_ttl(expires_in)
                await self.redis.set(self.key, token, ex=ttl)
                logger.info("%s access token fetched, cached for %ss", self.name, ttl)
                return token
        except LockError as exc:
            raise MessagingError(-1, f"{self.name} token lock: {exc}", retryable=True) from exc

    async def _force(self) -> tuple[str, int]:
        if not await self.redis.set(f"{self.key}:forced", "1", nx=True, ex=FORCE_REFRESH_GAP):
            raise MessagingError(-1, "token rejected; forced refresh is too recent", retryable=True)
        logger.warning("%s token rejected while still current: forcing a refresh", self.name)
        return await self._fetch(True)

    async def call(self, use: Callable[[str], Awaitable[T]]) -> T:
        """``use(token)``; if the token is refused, refresh it once and call once more."""
        token = await self.get()
        try:
            return await use(token)
        except REFUSALS as exc:
            if not exc.invalid_token:
                raise
            logger.warning("%s token refused (%s): refreshing once", self.name, exc.errcode)
        return await use(await self.refresh(rejected=token))
