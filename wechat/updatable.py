"""Updatable share cards (动态消息, WECHAT.md section 11): create an activity_id, update it.

Protocol only. Failures are ``MessagingError`` with WeChat's ``errcode``: -1 busy (retry
later), 42001 the access token expired (``TokenCache.call`` refreshes it once), 44002 an
empty body and 47001 a malformed one (never worth sending again).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from wechat.messaging import SEND_TIMEOUT, SYSTEM_BUSY, MessagingError, _call

if TYPE_CHECKING:
    import aiohttp

JOINING = 0  # "members are joining, {member_count}/{room_limit}"; may move to 0 or 1
FINAL = 1  # "started"; no update after it
VERSION_TYPES = frozenset({"develop", "trial", "release"})
EMPTY_BODY = 44002
MALFORMED_BODY = 47001


@dataclass(frozen=True)
class Activity:
    activity_id: str
    expires_at: datetime


async def create_activity_id(
    http: aiohttp.ClientSession,
    *,
    base: str,
    token: str,
    openid: str | None = None,
    unionid: str | None = None,
    timeout: float = SEND_TIMEOUT,
) -> Activity:
    """GET /cgi-bin/message/wxopen/activityid/create: a new id (24 hours by default)."""
    params = {"access_token": token}
    if openid:
        params["openid"] = openid
    if unionid:
        params["unionid"] = unionid
    data = await _call(
        http,
        "GET",
        f"{base}/cgi-bin/message/wxopen/activityid/create",
        what="activityid/create",
        timeout=timeout,
        params=params,
        secrets=(token,),
    )
    activity_id, expiration = data.get("activity_id"), data.get("expiration_time")
    if not isinstance(activity_id, str) or not activity_id or not isinstance(expiration, int):
        raise MessagingError(SYSTEM_BUSY, "activityid/create: no activity_id", retryable=True)
    return Activity(activity_id=activity_id, expires_at=datetime.fromtimestamp(expiration, UTC))


def template_info(
    *, state: int, member_count: int = 0, room_limit: int = 0, path: str = "", version: str = ""
) -> dict[str, Any]:
    """The parameters each state requires: counts (as strings) in 0; path and version in 1."""
    if state == JOINING:
        params = {"member_count": str(member_count), "room_limit": str(room_limit)}
    elif state == FINAL:
        if version not in VERSION_TYPES or not path:
            raise ValueError("the final state needs a path and a version_type")
        params = {"path": path, "version_type": version}
    else:
        raise ValueError(f"unknown target_state {state!r}")
    return {"parameter_list": [{"name": n, "value": v} for n, v in params.items()]}


async def set_updatable_msg(
    http: aiohttp.ClientSession,
    *,
    base: str,
    token: str,
    activity_id: str,
    target_state: int,
    info: dict[str, Any],
    timeout: float = SEND_TIMEOUT,
) -> None:
    """POST /cgi-bin/message/wxopen/updatablemsg/send."""
    body = {"activity_id": activity_id, "target_state": target_state, "template_info": info}
    await _call(
        http,
        "POST",
        f"{base}/cgi-bin/message/wxopen/updatablemsg/send",
        what="updatablemsg/send",
        timeout=timeout,
        params={"access_token": token},
        payload=body,
        secrets=(token,),
    )
