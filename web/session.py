"""Browser sessions and CSRF tokens.

A session is a random token in an HttpOnly, SameSite=Lax cookie (Secure outside
development); Redis keeps only its SHA-256, so a copy of Redis logs nobody in. Forms carry a
CSRF token: an HMAC of the browser's own ``qs_csrf`` cookie under the server's secret
(a signed double submit), checked with ``hmac.compare_digest`` on every POST.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from typing import TYPE_CHECKING

from aiohttp import web

from qunshop.config import Mode
from qunshop.errors import ErrorCode, Forbidden
from qunshop.keys import REDIS, SETTINGS

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from qunshop.config import Settings
    from qunshop.keys import Resources

SESSION_COOKIE = "qs_session"
CSRF_COOKIE = "qs_csrf"
CSRF_FIELD = "csrf_token"
SESSION_SECONDS = 12 * 3600
CSRF_SECONDS = 7 * 24 * 3600


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _session_key(token: str) -> str:
    return f"qunshop:web:session:{_digest(token)}"


def set_cookie(
    response: web.StreamResponse,
    settings: Settings,
    name: str,
    value: str,
    max_age: int,
    *,
    same_site: str = "Lax",
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        secure=settings.mode is not Mode.DEVELOPMENT,
        samesite=same_site,
    )


async def open_session(
    response: web.StreamResponse, *, user_id: uuid.UUID, redis: Redis, settings: Settings
) -> None:
    token = secrets.token_urlsafe(32)
    await redis.set(_session_key(token), str(user_id), ex=SESSION_SECONDS)
    set_cookie(response, settings, SESSION_COOKIE, token, SESSION_SECONDS)


async def session_user(request: web.Request, redis: Redis) -> uuid.UUID | None:
    token = request.cookies.get(SESSION_COOKIE, "")
    if not 20 <= len(token) <= 64:
        return None
    stored = await redis.get(_session_key(token))
    if stored is None:
        return None
    try:
        return uuid.UUID(bytes(stored).decode() if isinstance(stored, bytes) else str(stored))
    except ValueError:
        return None


async def close_session(request: web.Request, response: web.StreamResponse) -> None:
    token = request.cookies.get(SESSION_COOKIE, "")
    if token:
        await request.config_dict[REDIS].delete(_session_key(token))
    response.del_cookie(SESSION_COOKIE, path="/")


def _csrf_for(secret: str, browser: str) -> str:
    return hmac.new(secret.encode(), f"csrf:{browser}".encode(), hashlib.sha256).hexdigest()


def csrf_token(request: web.Request, config: Resources) -> tuple[str, str | None]:
    """The token for this browser's forms, and a new ``qs_csrf`` value to set (or None)."""
    browser = request.cookies.get(CSRF_COOKIE, "")
    fresh = None
    if not 20 <= len(browser) <= 64:
        browser = fresh = secrets.token_urlsafe(24)
    return _csrf_for(config[SETTINGS].secret_key.get_secret_value(), browser), fresh


def check_csrf(request: web.Request, config: Resources, sent: str) -> None:
    browser = request.cookies.get(CSRF_COOKIE, "")
    expected = _csrf_for(config[SETTINGS].secret_key.get_secret_value(), browser)
    if not browser or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Forbidden(ErrorCode.FORBIDDEN, "the form's CSRF token does not match")
