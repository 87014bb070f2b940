"""URL links (urllink.generate) that open a mini-program page from a browser, cached in Redis.

A card shared into a large group is opened by hundreds of people within a minute, so a
link is made once per page and query and kept until shortly before WeChat forgets it. One
request makes it (a Redis NX claim); the others meanwhile, and every request for a while
after WeChat failed, get None and the page offers the mini-program path and a QR code
instead: a page never waits on WeChat twice, and never fails because of it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from wechat import wxa
from wechat.messaging import MessagingError
from wechat.tokens import TokenCache

if TYPE_CHECKING:
    import aiohttp
    from redis.asyncio import Redis

    from qunshop.config import Settings

logger = logging.getLogger(__name__)

LINK_DAYS = wxa.URLLINK_MAX_DAYS
CACHE_SECONDS = (LINK_DAYS - 1) * 24 * 3600  # a day short of WeChat's expiry
CLAIM_SECONDS = 10  # one request makes a link; others do without for this long at most
FAILED_SECONDS = 60  # after WeChat failed, pages do without a link for a minute
TIMEOUT = 3.0  # a page waits this long at most for WeChat
FAILED = b"-"


def cache_key(settings: Settings, path: str, query: str) -> str:
    return f"qunshop:urllink:{settings.wechat_appid}:{settings.wxacode_env_version}:{path}?{query}"


async def url_link(
    *, path: str, query: str, http: aiohttp.ClientSession, redis: Redis, settings: Settings
) -> str | None:
    """The ``https://wxaurl.cn/...`` link for ``path?query``, or None for now."""
    key = cache_key(settings, path, query)
    cached = await redis.get(key)
    if cached is not None:
        return None if cached == FAILED else bytes(cached).decode()
    if not await redis.set(f"{key}:claim", 1, ex=CLAIM_SECONDS, nx=True):
        return None  # another request is making it
    tokens = TokenCache.wechat(
        http=http,
        redis=redis,
        base=settings.wechat_api_base,
        appid=settings.wechat_appid,
        secret=settings.wechat_secret.get_secret_value(),
    )
    try:
        link = await tokens.call(
            lambda token: wxa.generate_urllink(
                http,
                base=settings.wechat_api_base,
                token=token,
                path=path,
                query=query,
                env_version=settings.wxacode_env_version,
                expire_days=LINK_DAYS,
                timeout=TIMEOUT,
            )
        )
    except (MessagingError, wxa.WxaCodeError) as exc:
        logger.warning("no URL link for %s?%s: %s", path, query, exc)
        await redis.set(key, FAILED, ex=FAILED_SECONDS)
        return None
    finally:
        await redis.delete(f"{key}:claim")
    await redis.set(key, link, ex=CACHE_SECONDS)
    return link
