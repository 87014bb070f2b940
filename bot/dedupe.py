"""Exactly once: a replay window on the signed timestamp, then an atomic claim in Redis.

WeChat re-sends a message three times, 5 s apart, and a retry may overlap the first
attempt; whoever claims ``update.dedupe_key`` first does the work, the rest acknowledge.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.crypto import BadSignature
from qunshop.keys import CLOCK, REDIS, SETTINGS

if TYPE_CHECKING:
    from aiohttp import web

    from qunshop.chat import Update

logger = logging.getLogger(__name__)

CLAIM_TTL_SECONDS = 6 * 3600  # far beyond WeChat's retries and the bot's 6-minute stream


def check_fresh(request: web.Request, timestamp: str | None) -> str:
    """The signed timestamp, if it is within ``webhook_replay_window`` of the clock."""
    window = request.config_dict[SETTINGS].webhook_replay_window
    now = request.config_dict[CLOCK].now().timestamp()
    if not timestamp or not timestamp.isdigit() or len(timestamp) > 12:
        raise BadSignature("timestamp missing or not a number")
    if abs(now - int(timestamp)) > window:
        raise BadSignature(f"timestamp {timestamp} is outside the replay window")
    return timestamp


def _key(update: Update) -> str:
    return f"chat:dedupe:{update.dedupe_key}"


async def claim(request: web.Request, update: Update, value: str = "1") -> bool:
    """True for the one delivery that may act on this update; atomic across workers."""
    redis = request.config_dict[REDIS]
    won = bool(await redis.set(_key(update), value, nx=True, ex=CLAIM_TTL_SECONDS))
    if not won:
        logger.info("duplicate delivery of %s acknowledged", update.dedupe_key)
    return won


async def release(request: web.Request, update: Update) -> None:
    """Give a claim back when its work could not be done, so a re-delivery does it."""
    await request.config_dict[REDIS].delete(_key(update))


async def claimed_value(request: web.Request, update: Update) -> str | None:
    value = await request.config_dict[REDIS].get(_key(update))
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)
