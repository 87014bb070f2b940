"""One cleanup context per shared resource: open it, store it under its key, yield, close it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import fakeredis
from aiohttp import web
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.driver_info import DriverInfo
from redis.exceptions import ConnectionError as RedisConnectionError

from qunshop.assembly.db import ensure_migrated, open_orm
from qunshop.config import Settings
from qunshop.errors import StartupError
from qunshop.keys import (
    CHAT_GATE,
    CHAT_TEMPLATES,
    CLOCK,
    COUPON_GATE,
    DISPATCH,
    FLASH_GATE,
    HTTP,
    MESSENGER,
    METRICS,
    PAY,
    REDIS,
    ROLE_MARKS,
    SETTINGS,
    TASKS,
)
from qunshop.tasks import TaskTracker
from qunshop.templates import chat_environment
from services.chat_gate import ChatGate
from services.coupon_gate import CouponGate
from services.flashgate import FlashGate
from services.roles import RoleMarks
from wechat.api import PayClient

logger = logging.getLogger(__name__)


async def orm_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if settings.database_url is None:
        raise StartupError(
            "QUNSHOP_DATABASE_URL is not set (the qunshop command starts the embedded one)"
        )
    ctx = await open_orm(settings.database_url, pool_size=settings.database_pool_size)
    try:
        await ensure_migrated(ctx)
    except BaseException:
        await ctx.close_connections()
        raise
    yield
    await ctx.close_connections()


REDIS_MAX_CONNECTIONS = 100  # per process


class ClosingPool(BlockingConnectionPool):
    """redis-py's blocking pool that stays closed once closed.

    redis-py's ``aclose`` disconnects the connections it holds at that moment, but a command
    still running then (a handler's last one at shutdown) gives its connection back later,
    and a connection still connecting is not connected yet when it is disconnected: either
    kept its socket open, unowned, until the garbage collector met it (a ResourceWarning
    that failed whichever test was running). Here a connection given back after the close
    is disconnected, and no new one is made."""

    closed = False

    async def get_connection(self, *args: Any, **options: Any) -> Any:
        if self.closed:
            raise RedisConnectionError("the Redis pool is closed (shutting down)")
        return await super().get_connection(*args, **options)

    async def release(self, connection: AbstractConnection) -> None:
        await super().release(connection)
        if self.closed:
            await connection.disconnect()

    async def aclose(self) -> None:
        self.closed = True
        await super().aclose()


def make_redis(settings: Settings) -> Redis:
    if settings.redis_url is None:
        logger.warning(
            "QUNSHOP_REDIS_URL is not set: using in-process fakeredis; "
            "this server is single-process only (locks, dedup and rate limits are not shared)"
        )
        return fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=False)
    # Blocking: past max_connections a command waits (up to ``timeout``) for a free connection.
    # redis-py's default pool refuses the 101st concurrent command with MaxConnectionsError,
    # which turned a burst of keyed requests into 500s (tests/reliability/test_oversell.py).
    pool = ClosingPool.from_url(
        settings.redis_url,
        max_connections=REDIS_MAX_CONNECTIONS,
        timeout=5,
        socket_connect_timeout=3,
        socket_timeout=5,
        health_check_interval=30,
        retry_on_timeout=True,
        # One reading of redis-py's version for CLIENT SETINFO: left to itself, every new
        # connection reads the package metadata from disk (about 2 ms), so a burst that
        # opens the pool's connections stalled the event loop for that long each.
        driver_info=DriverInfo(),
    )
    return Redis.from_pool(pool)


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    redis = make_redis(settings)
    app[METRICS].count_redis(redis)
    try:
        await redis.ping()
    except Exception as exc:
        await redis.aclose()
        raise StartupError(
            f"QUNSHOP_REDIS_URL ({settings.redis_url}) does not answer: {type(exc).__name__}: {exc}"
        ) from exc
    app[REDIS] = redis
    yield
    await redis.aclose()


async def http_ctx(app: web.Application) -> AsyncIterator[None]:
    timeout = aiohttp.ClientTimeout(
        total=app[SETTINGS].http_timeout_seconds,
        connect=3,
        sock_read=app[SETTINGS].http_timeout_seconds,
    )
    settings = app[SETTINGS]
    async with aiohttp.ClientSession(timeout=timeout, raise_for_status=False) as session:
        app[HTTP] = session
        app[PAY] = PayClient(
            http=session,
            base=settings.pay_api_base,
            appid=settings.wechat_appid,
            mch_id=settings.pay_mch_id,
            api_key=settings.pay_api_key.get_secret_value(),
        )
        yield


async def messenger_ctx(app: web.Application) -> AsyncIterator[None]:
    """The outbound messenger, over the shared HTTP session; its tokens live in Redis."""
    from bot.messenger import Messenger  # the composition root wires the chat door

    app[MESSENGER] = Messenger(
        http=app[HTTP], redis=app[REDIS], settings=app[SETTINGS], clock=app[CLOCK]
    )
    yield


async def tasks_ctx(app: web.Application) -> AsyncIterator[None]:
    tracker = TaskTracker()
    app[TASKS] = tracker
    app[ROLE_MARKS] = RoleMarks(app[REDIS], tracker)  # batches on the tracker: built with it
    app[COUPON_GATE] = CouponGate(app[REDIS], tracker)  # the same
    app[FLASH_GATE] = FlashGate(app[REDIS], tracker)  # the same
    yield
    await tracker.drain()


async def chat_ctx(app: web.Application) -> AsyncIterator[None]:
    """The chat door's gate, its dispatcher (handlers' routers) and its templates."""
    from handlers import build_dispatcher  # the composition root wires the chat door

    app[CHAT_GATE] = ChatGate(app[REDIS], app[TASKS])
    templates = chat_environment()
    app[CHAT_TEMPLATES] = templates
    app[DISPATCH] = build_dispatcher(
        redis=app[REDIS],
        settings=app[SETTINGS],
        clock=app[CLOCK],
        templates=templates,
        tasks=app[TASKS],
        http=app[HTTP],
    )
    yield
