"""Exactly once: a replay window on the signed timestamp, then the atomic claim of
``services.chat_gate`` (which also counts the sender for the dispatcher's rate limit)."""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING

from bot.crypto import BadSignature
from qunshop.keys import CHAT_GATE, CLOCK, METRICS, REDIS, SETTINGS
from qunshop.logcontext import UPDATE_KEY
from services import chat_gate, health

if TYPE_CHECKING:
    from qunshop.chat import Update
    from qunshop.keys import Resources

logger = logging.getLogger(__name__)


def check_fresh(app: Resources, timestamp: str | None) -> str:
    """The signed timestamp, if it is within ``webhook_replay_window`` of the clock."""
    window = app[SETTINGS].webhook_replay_window
    now = app[CLOCK].now().timestamp()
    if not timestamp or not timestamp.isdigit() or len(timestamp) > 12:
        raise BadSignature("timestamp missing or not a number")
    if abs(now - int(timestamp)) > window:
        raise BadSignature(f"timestamp {timestamp} is outside the replay window")
    return timestamp


async def signed_once(app: Resources, ts: str, nonce: str, body: bytes) -> None:
    """Plain mode signs only the query, never the body: a signed query seen once may come
    again only with the same body (the platform retrying one delivery), never with another.
    Kept as long as ``check_fresh`` would still accept the timestamp."""
    window = app[SETTINGS].webhook_replay_window
    digest = hashlib.sha256(body).hexdigest()
    key = f"wx:signed:{ts}:{nonce}"
    redis = app[REDIS]
    if await redis.set(key, digest, nx=True, ex=2 * window + 1):
        return
    seen = await redis.get(key)
    if seen is not None and seen != digest.encode() and seen != digest:
        raise BadSignature(f"the signed query {ts}/{nonce} was already used with another body")


async def claim(app: Resources, update: Update, value: str | None = None) -> Update | None:
    """The update, carrying its sender's count, for the one delivery that may act on it;
    None for the others. Atomic across workers."""
    UPDATE_KEY.set(update.dedupe_key)  # on every log line of this delivery from here on
    sent = await app[CHAT_GATE].admit(update, value)
    if sent is None:
        app[METRICS].update("duplicate")
        logger.info("duplicate delivery of %s acknowledged", update.dedupe_key)
        return None
    app[METRICS].update("claimed")
    return update.counted(sent)


async def release(app: Resources, update: Update) -> bool:
    """Give the claim back so that a re-delivery acts on the update; False when Redis, which
    holds the claim, is what is down (a re-delivery would then be taken for a duplicate)."""
    try:
        await chat_gate.release(app[REDIS], update)
    except Exception as exc:
        if not health.is_outage(exc):
            raise
        logger.warning("claim of %s not given back: %s", update.dedupe_key, exc)
        return False
    return True


async def claimed_value(app: Resources, update: Update) -> str | None:
    return await chat_gate.claimed_value(app[REDIS], update)
