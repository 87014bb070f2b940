"""Attribution: every arrival is a visit, tied to the code that brought it, the person who
shared it and the group chat it came from; a visit with a code may bind an invitee.

Three ways in: the mini-program opened with a code (share path or wxacode scene), an
Official Account follow or scan with a QR scene (the chat door records ``Follow`` rows),
and the mini-program opened from a group chat (encryptedData carrying the opengid).
A tampered or expired code is refused before anything is written: it attributes nothing.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Subquery
from tortoise.transactions import in_transaction

from models.chat import ChatIdentity, Follow
from models.community import Community
from models.groupbuy import Seat, Team
from models.growth import ShareCode, Visit, VisitSource
from models.order import Order
from qunshop.errors import ErrorCode, Invalid, QunshopError, Unauthenticated
from services import (
    groupbuy,
    groupchat,
    growth_rules,
    invites,
    leaderboards,
    orders,
    share_codes,
)
from services.auth import session_key_name
from services.leaderboards import Board, Scope
from wechat import wxa

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from qunshop.config import Settings
    from services.auth import Principal

logger = logging.getLogger(__name__)

NO_CODE = "no_code"
FOLLOW_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class Entry:
    visit: Visit
    share: ShareCode
    outcome: str


@dataclass(frozen=True)
class GroupEntry:
    visit: Visit
    opengid: str
    chat_type: int | None
    community_id: uuid.UUID | None
    outcome: str
    team_bound: bool
    order_bound: bool


async def _bind(
    user_id: uuid.UUID, share: ShareCode | None, source: VisitSource, at: datetime
) -> str:
    if share is None:
        return NO_CODE
    rules = await growth_rules.current()
    return await invites.bind(
        invitee_id=user_id,
        inviter_id=share.sharer_id,
        share=share,
        source=source,
        at=at,
        rules=rules,
    )


async def _visit(
    *,
    user_id: uuid.UUID,
    source: VisitSource,
    share: ShareCode | None,
    outcome: str,
    at: datetime,
    opengid: str | None = None,
    community_id: uuid.UUID | None = None,
    follow_id: uuid.UUID | None = None,
) -> Visit:
    own = share is not None and share.sharer_id == user_id
    return await Visit.create(
        user_id=user_id,
        source=source,
        code_id=share.id if share else None,
        sharer_id=share.sharer_id if share and not own else None,
        community_id=(share.community_id if share else None) or community_id,
        campaign_id=share.campaign_id if share else None,
        opengid=opengid,
        outcome=outcome,
        follow_id=follow_id,
        created_at=at,
    )


async def _scores(redis: Redis, visit: Visit, outcome: str, share: ShareCode | None) -> None:
    """After the commit: the sharer's and the inviter's places on the boards."""
    if share is None:
        return
    scopes = {Scope.COMMUNITY: visit.community_id, Scope.CAMPAIGN: visit.campaign_id}
    if visit.sharer_id is not None:
        await leaderboards.touch(redis, board=Board.SHARERS, member=share.sharer_id, scopes=scopes)
    if outcome == invites.Outcome.BOUND:
        await leaderboards.touch(redis, board=Board.INVITERS, member=share.sharer_id, scopes=scopes)


async def enter(
    *, principal: Principal, code: str, redis: Redis, settings: Settings, now: datetime
) -> Entry:
    """The mini-program opened with a code: record the visit and attribute the invite."""
    share = await share_codes.resolve(code, secret=settings.secret_key.get_secret_value(), now=now)
    async with in_transaction():
        outcome = await _bind(principal.user_id, share, VisitSource.ENTRY, now)
        visit = await _visit(
            user_id=principal.user_id,
            source=VisitSource.ENTRY,
            share=share,
            outcome=outcome,
            at=now,
        )
    await _scores(redis, visit, outcome, share)
    return Entry(visit=visit, share=share, outcome=outcome)


async def _open_data(
    principal: Principal,
    *,
    encrypted_data: str,
    iv: str,
    redis: Redis,
    settings: Settings,
    now: datetime,
) -> dict[str, Any]:
    stored = await redis.get(session_key_name(principal.user_id))
    if not stored:
        raise Unauthenticated(
            ErrorCode.WECHAT_SESSION_EXPIRED, "no WeChat session: log in again (wx.login)"
        )
    session_key = stored.decode() if isinstance(stored, bytes) else str(stored)
    try:
        data = wxa.decrypt_open_data(session_key=session_key, iv=iv, encrypted_data=encrypted_data)
    except wxa.OpenDataFormatError as exc:
        raise Invalid(ErrorCode.OPEN_DATA_INVALID, str(exc)) from None
    except wxa.OpenDataError:
        logger.info("open data of user %s does not decrypt: stale session_key?", principal.user_id)
        raise Unauthenticated(
            ErrorCode.WECHAT_SESSION_EXPIRED,
            "the data does not decrypt with your WeChat session: log in again (wx.login) and retry",
        ) from None
    try:
        wxa.check_watermark(
            data, appid=settings.wechat_appid, now=now, max_age=settings.open_data_max_age_seconds
        )
    except wxa.WatermarkError as exc:
        logger.warning("open data of user %s refused: %s", principal.user_id, exc)
        raise Invalid(ErrorCode.OPEN_DATA_INVALID, str(exc)) from None
    return data


async def group_enter(
    *,
    principal: Principal,
    encrypted_data: str,
    iv: str,
    redis: Redis,
    settings: Settings,
    now: datetime,
    code: str | None = None,
    team_ref: str | None = None,
    order_id: str | None = None,
) -> GroupEntry:
    """The mini-program opened from a group chat (wx.getGroupEnterInfo or wx.getShareInfo):
    the visit, and the team and order named, are bound to the group chat (opengid)."""
    secret = settings.secret_key.get_secret_value()
    share = await share_codes.resolve(code, secret=secret, now=now) if code else None
    data = await _open_data(
        principal, encrypted_data=encrypted_data, iv=iv, redis=redis, settings=settings, now=now
    )
    opengid = data.get("opengid") or data.get("openGId")  # getGroupEnterInfo, getShareInfo
    if not isinstance(opengid, str) or not 0 < len(opengid) <= 128 or not opengid.isprintable():
        raise Invalid(ErrorCode.OPEN_DATA_INVALID, "the data names no group chat")
    chat_type = data.get("chat_type") if isinstance(data.get("chat_type"), int) else None
    team = await groupbuy.find_team(team_ref) if team_ref else None
    if team is not None and not await _in_team(team, principal.user_id):
        team = None  # only a member's visit may say which group a team lives in
    order = await orders.get_order_for(principal, order_id) if order_id else None
    bound = await Community.get_or_none(chat_id=opengid)
    async with in_transaction():
        outcome = await _bind(principal.user_id, share, VisitSource.GROUP, now)
        visit = await _visit(
            user_id=principal.user_id,
            source=VisitSource.GROUP,
            share=share,
            outcome=outcome,
            at=now,
            opengid=opengid,
            community_id=bound.id if bound else None,
        )
        # The first group a team or an order is seen in keeps it.
        if team is not None:
            await Team.filter(id=team.id, chat_id__isnull=True).update(chat_id=opengid)
        if order is not None:
            await Order.filter(id=order.id, chat_id__isnull=True).update(chat_id=opengid)
    await _scores(redis, visit, outcome, share)
    team_chat = (await Team.get(id=team.id)).chat_id if team else None
    order_chat = (await Order.get(id=order.id)).chat_id if order else None
    return GroupEntry(
        visit=visit,
        opengid=opengid,
        chat_type=chat_type,
        community_id=visit.community_id,
        outcome=outcome,
        team_bound=team_chat == opengid,
        order_bound=order_chat == opengid,
    )


async def attribute_follow(follow: Follow, *, redis: Redis, secret: str) -> Visit | None:
    """A follow or scan with a QR scene: a visit, and an invite if the scene is our code.

    Idempotent (one visit per follow). The touch happened at the follow's own time.
    """
    if not follow.scene or follow.event not in ("subscribe", "scan"):
        return None
    identity = await ChatIdentity.get_or_none(
        platform=follow.platform, external_id=follow.external_id
    )
    if identity is None:
        return None
    at = follow.created_at
    share: ShareCode | None = None
    try:
        share = await share_codes.resolve(follow.scene, secret=secret, now=at)
    except QunshopError as exc:
        outcome = exc.code.value  # recorded, attributes nothing
    try:
        async with in_transaction():
            if share is not None:
                outcome = await _bind(identity.user_id, share, VisitSource.FOLLOW, at)
            visit = await _visit(
                user_id=identity.user_id,
                source=VisitSource.FOLLOW,
                share=share,
                outcome=outcome,
                at=at,
                follow_id=follow.id,
            )
    except IntegrityError:  # another worker attributed this follow
        return None
    await _scores(redis, visit, outcome, share)
    return visit


async def followed(
    *,
    platform: str,
    external_id: str,
    event: str,
    scene: str | None,
    redis: Redis,
    secret: str,
    now: datetime,
) -> Follow:
    """The chat door's follow, scan or unfollow: recorded, then attributed at once."""
    follow = await groupchat.record_follow(
        platform=platform, external_id=external_id, event=event, scene=scene, now=now
    )
    await attribute_follow(follow, redis=redis, secret=secret)
    return follow


async def attribute_follows(*, redis: Redis, secret: str, now: datetime, limit: int = 500) -> int:
    """The clock's sweep: attribute the recent follows not attributed yet. Returns how many."""
    attributed = Visit.filter(follow_id__not_isnull=True).values("follow_id")
    pending = (
        await Follow.filter(
            scene__not_isnull=True,
            event__in=["subscribe", "scan"],
            created_at__gte=now - FOLLOW_WINDOW,
        )
        .exclude(id__in=Subquery(attributed))
        .order_by("created_at")
        .limit(limit)
    )
    count = 0
    for follow in pending:
        count += await attribute_follow(follow, redis=redis, secret=secret) is not None
    return count


async def _in_team(team: Team, user_id: uuid.UUID) -> bool:
    return team.head_id == user_id or await Seat.filter(team_id=team.id, user_id=user_id).exists()
