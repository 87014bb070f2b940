"""Who is calling: signed bearer tokens, and mini-program login through jscode2session."""

from __future__ import annotations

import base64
import hmac
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tortoise.exceptions import IntegrityError

from models.user import Role, User
from qunshop.errors import ErrorCode, Forbidden, RateLimited, Unauthenticated, UpstreamError
from wechat.api import WeChatError, code_to_session

if TYPE_CHECKING:
    import aiohttp
    from redis.asyncio import Redis

    from qunshop.config import Settings

logger = logging.getLogger(__name__)

TOKEN_TTL = timedelta(hours=2)
SESSION_KEY_TTL = timedelta(days=3)


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: str) -> str:
    return _b64(hmac.digest(secret.encode(), payload.encode(), "sha256"))


def issue_token(*, user: User, secret: str, now: datetime) -> tuple[str, datetime]:
    expires = now + TOKEN_TTL
    claims = {"sub": str(user.id), "role": user.role.value, "exp": int(expires.timestamp())}
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{payload}.{_mac(secret, payload)}", expires


def read_token(token: str, *, secret: str, now: datetime) -> Principal:
    payload, _, mac = token.partition(".")
    if not payload or not mac or not hmac.compare_digest(mac, _mac(secret, payload)):
        raise Unauthenticated(ErrorCode.UNAUTHENTICATED, "the token is not valid")
    try:
        claims = json.loads(_unb64(payload))
        user_id, role, exp = uuid.UUID(claims["sub"]), Role(claims["role"]), int(claims["exp"])
    except (ValueError, KeyError, TypeError):
        raise Unauthenticated(ErrorCode.UNAUTHENTICATED, "the token is not valid") from None
    if exp <= now.timestamp():
        raise Unauthenticated(ErrorCode.TOKEN_EXPIRED, "the token expired: log in again")
    return Principal(user_id=user_id, role=role)


def session_key_name(user_id: uuid.UUID) -> str:
    return f"wx:session_key:{user_id}"


_WECHAT_ERRORS = {
    40029: (Unauthenticated, ErrorCode.WECHAT_CODE_INVALID, "the login code is invalid"),
    40163: (Unauthenticated, ErrorCode.WECHAT_CODE_INVALID, "the login code was already used"),
    45011: (RateLimited, ErrorCode.WECHAT_RATE_LIMITED, "too many logins; try again in a minute"),
    40226: (Forbidden, ErrorCode.WECHAT_USER_BLOCKED, "WeChat blocked this user as risky"),
}


@dataclass(frozen=True)
class Login:
    user: User
    token: str
    expires_at: datetime
    created: bool


async def login(
    *, code: str, http: aiohttp.ClientSession, redis: Redis, settings: Settings, now: datetime
) -> Login:
    """Exchange a wx.login code for our token; the session_key stays on the server."""
    try:
        session = await code_to_session(
            http,
            base=settings.wechat_api_base,
            appid=settings.wechat_appid,
            secret=settings.wechat_secret.get_secret_value(),
            js_code=code,
        )
    except WeChatError as exc:
        kind, error_code, detail = _WECHAT_ERRORS.get(
            exc.errcode,
            (UpstreamError, ErrorCode.WECHAT_UNAVAILABLE, "WeChat did not answer; try again"),
        )
        logger.info("jscode2session refused: %s %s", exc.errcode, exc.errmsg)
        raise kind(error_code, detail) from None
    openid = session["openid"]
    user = await User.get_or_none(openid=openid)
    created = False
    if user is None:
        try:
            user = await User.create(openid=openid, unionid=session.get("unionid"))
            created = True
        except IntegrityError:  # a concurrent first login created it
            user = await User.get(openid=openid)
    elif session.get("unionid") and user.unionid != session["unionid"]:
        user.unionid = session["unionid"]
        await user.save(update_fields=["unionid"])
    if user.unionid:
        # Here, not at the top: services.accounts builds on this module's Principal.
        from services import accounts

        await accounts.link_by_unionid(account=user, now=now)
    await redis.set(
        session_key_name(user.id),
        session["session_key"],
        ex=int(SESSION_KEY_TTL.total_seconds()),
    )
    token, expires = issue_token(user=user, secret=settings.secret_key.get_secret_value(), now=now)
    return Login(user=user, token=token, expires_at=expires, created=created)


async def dev_login(*, openid: str, secret: str, now: datetime) -> Login:
    """Development only (the door checks the mode): a token for an existing demo user."""
    user = await User.get_or_none(openid=openid)
    if user is None:
        raise Unauthenticated(ErrorCode.USER_NOT_FOUND, f"no user with openid {openid!r}")
    token, expires = issue_token(user=user, secret=secret, now=now)
    return Login(user=user, token=token, expires_at=expires, created=False)
