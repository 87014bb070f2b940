"""Readiness: does each dependency answer right now?"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from tortoise import connections

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0


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
