"""Single-use links: a random token whose SHA-256 alone Redis keeps for a while, given up
once (GETDEL), so a link forwarded or read twice works once at most. Each use names its
``purpose`` (the key's prefix): a console login, a data export."""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis


def _key(purpose: str, token: str) -> str:
    return f"qunshop:{purpose}:{hashlib.sha256(token.encode()).hexdigest()}"


def _plausible(token: str) -> bool:
    return 16 <= len(token) <= 64


async def issue(redis: Redis, *, purpose: str, value: str, seconds: int) -> str:
    token = secrets.token_urlsafe(24)
    await redis.set(_key(purpose, token), value, ex=seconds)
    return token


async def peek(redis: Redis, *, purpose: str, token: str) -> str | None:
    """The link's value, the link left unspent (a page that titles itself for it)."""
    stored = await redis.get(_key(purpose, token)) if _plausible(token) else None
    return _text(stored)


async def spend(redis: Redis, *, purpose: str, token: str) -> str | None:
    """The link's value, the link spent; None for one used, expired or never issued."""
    stored = await redis.getdel(_key(purpose, token)) if _plausible(token) else None
    return _text(stored)


def _text(stored: bytes | str | None) -> str | None:
    if stored is None:
        return None
    return stored.decode() if isinstance(stored, bytes) else stored
