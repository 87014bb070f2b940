"""A team's share card that updates itself (动态消息, WECHAT.md section 11).

- Sharing a team (``activity_for``) creates an ``activity_id`` through WeChat once per team
  and keeps it in ``TeamCard``; the share payload carries it with the current counts.
- Each paid seat, and the team's close, call ``changed`` inside their transaction: it
  queues one "card.update" outbox row per team at a time (coalesced: while one waits
  unsent, it will read the latest state when it runs, so no second row is queued).
- The outbox runs ``send_update``: with the card row locked it reads the team as it is
  now, sends state 0 (member_count/room_limit) or the final state 1 (path, version_type),
  and records what it sent, so a repeat sends nothing.
- An id that expired is never updated again. WeChat's -1 and an expired access token
  (42001, refreshed once by the token cache) are tried again later; 44002 and 47001 mean
  the request itself is wrong and are given up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.groupbuy import Team, TeamStatus
from models.outbox import OutboxMessage, OutboxStatus
from models.pickup import TeamCard
from services import outbox
from services.outbox import GiveUp, RetryLater
from wechat import updatable
from wechat.messaging import MessagingError
from wechat.tokens import TokenCache

if TYPE_CHECKING:
    import aiohttp
    from redis.asyncio import Redis

    from qunshop.config import Settings

logger = logging.getLogger(__name__)

KIND = "card.update"
# An id this close to expiry is not handed to a new share: a fresh one is made instead.
FRESH_FOR = timedelta(minutes=30)
TEAM_PAGE = "pages/team/index"


def _tokens(http: aiohttp.ClientSession, redis: Redis, settings: Settings) -> TokenCache:
    return TokenCache.wechat(
        http=http,
        redis=redis,
        base=settings.wechat_api_base,
        appid=settings.wechat_appid,
        secret=settings.wechat_secret.get_secret_value(),
    )


async def activity_for(
    team: Team, *, http: aiohttp.ClientSession, redis: Redis, settings: Settings, now: datetime
) -> TeamCard | None:
    """The team's live card, made when first shared; None if WeChat could not make one.

    A closed team keeps the card it had (it shows the final state) and gets no new one.
    """
    card = await TeamCard.get_or_none(team_id=team.id)
    closed = team.status is not TeamStatus.OPEN
    if card is not None and (closed or card.expires_at > now + FRESH_FOR):
        return card if card.expires_at > now else None
    if closed:
        return None
    tokens = _tokens(http, redis, settings)
    base = settings.wechat_api_base
    try:
        made = await tokens.call(
            lambda token: updatable.create_activity_id(http, base=base, token=token)
        )
    except MessagingError as exc:  # the share still works, as a card that does not update
        logger.warning("no activity_id for team %s: %s", team.code, exc)
        return card if card is not None and card.expires_at > now else None
    if card is not None:  # expired or nearly: the new id replaces it
        await TeamCard.filter(id=card.id).update(
            activity_id=made.activity_id,
            expires_at=made.expires_at,
            sent_state=None,
            sent_members=None,
        )
        return await TeamCard.get(id=card.id)
    try:
        async with in_transaction():
            return await TeamCard.create(
                team_id=team.id,
                activity_id=made.activity_id,
                expires_at=made.expires_at,
                created_at=now,
            )
    except IntegrityError:  # a concurrent share made the team's card first: use theirs
        return await TeamCard.get(team_id=team.id)


async def changed(team: Team, *, now: datetime) -> bool:
    """In the transaction that changed the team: queue a card update, coalesced per team."""
    if not await TeamCard.exists(team_id=team.id, expires_at__gt=now):
        return False
    prefix = f"card:{team.id}:"
    waiting = await OutboxMessage.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now),
        kind=KIND,
        status=OutboxStatus.PENDING,
        dedupe_key__startswith=prefix,
    ).exists()
    if waiting:  # an unsent update will read this change when it runs
        return False
    key = f"{prefix}{team.seats_paid}:{team.status.value}"
    return await outbox.enqueue(KIND, {"team_id": str(team.id)}, dedupe_key=key, now=now)


def _target(team: Team, settings: Settings) -> tuple[int, int, dict[str, Any]]:
    """(state, members, template_info) the card should show now."""
    if team.status is TeamStatus.OPEN:
        info = updatable.template_info(
            state=updatable.JOINING, member_count=team.seats_paid, room_limit=team.size
        )
        return updatable.JOINING, team.seats_paid, info
    info = updatable.template_info(
        state=updatable.FINAL,
        path=f"{TEAM_PAGE}?code={team.code}",
        version=settings.wxacode_env_version,
    )
    return updatable.FINAL, team.seats_paid, info


async def send_update(
    payload: dict[str, Any],
    *,
    http: aiohttp.ClientSession,
    redis: Redis,
    settings: Settings,
    now: Callable[[], datetime],
) -> None:
    """Outbox handler of "card.update": show the team as it is now, if that is news."""
    async with in_transaction():
        card = await TeamCard.filter(team_id=payload["team_id"]).select_for_update().first()
        if card is None:
            return
        if card.expires_at <= now():
            logger.info("card of team %s expired: no more updates", card.team_id)
            return
        team = await Team.get(id=card.team_id)
        state, members, info = _target(team, settings)
        if card.sent_state == updatable.FINAL or (card.sent_state, card.sent_members) == (
            state,
            members,
        ):
            return  # already shows this (or is final)
        base = settings.wechat_api_base
        try:
            await _tokens(http, redis, settings).call(
                lambda token: updatable.set_updatable_msg(
                    http,
                    base=base,
                    token=token,
                    activity_id=card.activity_id,
                    target_state=state,
                    info=info,
                )
            )
        except MessagingError as exc:
            if exc.retryable or exc.invalid_token:
                raise RetryLater(f"updatablemsg: {exc.errcode} {exc.errmsg}") from exc
            raise GiveUp(f"updatablemsg: {exc.errcode} {exc.errmsg}") from exc
        await TeamCard.filter(id=card.id).update(sent_state=state, sent_members=members)
