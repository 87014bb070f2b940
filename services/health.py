"""Readiness: does each dependency answer right now?"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from asyncpg.exceptions import OperatorInterventionError, PostgresConnectionError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tortoise import connections

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0


# A dependency that is down or restarting, as opposed to a bug: refused, reset or aborted
# connections (ConnectionError covers Tortoise's DBConnectionError) and timeouts, PostgreSQL's
# class 08 and its admin shutdown / "starting up" (class 57), Redis's connection errors.
_OUTAGES = (
    ConnectionError,
    TimeoutError,
    PostgresConnectionError,
    OperatorInterventionError,
    RedisConnectionError,
    RedisTimeoutError,
)


def is_outage(exc: BaseException) -> bool:
    """True when ``exc``, or an exception it was raised from, says a dependency is down."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, _OUTAGES):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


async def _database() -> None:
    await connections.get("default").execute_query("SELECT 1")


async def _redis(redis: Redis) -> None:
    await redis.ping()


async def readiness(*, redis: Redis) -> dict[str, str]:
    """Each dependency's state: ``ok`` or a short reason."""
    checks = {"database": _database(), "redis": _redis(redis)}
    results: dict[str, str] = {}
    for name, probe in checks.items():
        try:
            await asyncio.wait_for(probe, CHECK_TIMEOUT)
        except Exception as exc:
            logger.warning("readiness: %s is down: %s", name, exc)
            results[name] = f"down: {type(exc).__name__}"
        else:
            results[name] = "ok"
    return results
