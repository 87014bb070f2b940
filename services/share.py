"""Share payloads (onShareAppMessage and chat cards) and mini-program codes for them.

Every share carries the sharer's code in its path (``s=<code>``) and, for the mini-program
code, as the wxacode scene: the code names what was shared, by whom, in which community.
Titles are rendered by the doors from the chat templates, so the API and the chat cards
say the same thing.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from redis.exceptions import LockError

from models.catalog import Product, Sku
from models.groupbuy import Campaign, Team
from models.growth import ShareCode, ShareKind
from models.pickup import TeamCard
from models.user import User
from qunshop.errors import ErrorCode, RateLimited, UpstreamError
from services import campaigns, communities, groupbuy, ratelimit, share_cards, share_codes
from wechat import wxa
from wechat.messaging import MessagingError
from wechat.tokens import TokenCache

if TYPE_CHECKING:
    import aiohttp
    from redis.asyncio import Redis

    from qunshop.config import Settings
    from services.auth import Principal

logger = logging.getLogger(__name__)

PAGES = {
    ShareKind.CAMPAIGN: "pages/campaign/index",
    ShareKind.TEAM: "pages/team/index",
    ShareKind.INVITE: "pages/index/index",
}
CODE_CACHE_SECONDS = 30 * 24 * 3600
CODES_PER_MINUTE = 5000  # getUnlimited's quota for the whole app
CODE_LOCK_TIMEOUT = 15


@dataclass(frozen=True)
class Share:
    kind: ShareKind
    code: str  # also the wxacode scene
    path: str  # onShareAppMessage path, with its query
    page: str  # the wxacode page: no leading '/', no query
    image_url: str  # the 5:4 picture; "" lets WeChat take a screenshot
    code_image_url: str  # our endpoint serving the mini-program code
    sharer: User
    campaign: Campaign | None = None
    team: Team | None = None
    card: TeamCard | None = None  # a team's updatable card (动态消息), when WeChat made one


async def _sharer(principal: Principal) -> User:
    return await communities.current_user(principal)


async def _picture(campaign: Campaign) -> str:
    sku = await Sku.get(id=campaign.sku_id)
    product = await Product.get(id=sku.product_id)
    images = product.images if isinstance(product.images, list) else []
    return str(images[0]) if images else ""


def _share(
    settings: Settings,
    share: ShareCode,
    code: str,
    path: str,
    sharer: User,
    *,
    campaign: Campaign | None = None,
    team: Team | None = None,
    image_url: str = "",
    card: TeamCard | None = None,
) -> Share:
    return Share(
        kind=share.kind,
        code=code,
        path=path,
        page=PAGES[share.kind],
        image_url=image_url,
        code_image_url=f"{settings.public_base_url}/api/v1/share-codes/{code}/wxacode",
        sharer=sharer,
        campaign=campaign,
        team=team,
        card=card,
    )


async def campaign_share(
    *, principal: Principal, campaign_id: str, settings: Settings, now: datetime
) -> Share:
    campaign = await campaigns.get_campaign(campaign_id)
    sharer = await _sharer(principal)
    share, code = await share_codes.issue(
        kind=ShareKind.CAMPAIGN,
        sharer_id=sharer.id,
        community_id=campaign.community_id,
        campaign_id=campaign.id,
        now=now,
        secret=settings.secret_key.get_secret_value(),
    )
    path = f"/{PAGES[ShareKind.CAMPAIGN]}?id={campaign.id}&s={code}"
    return _share(
        settings, share, code, path, sharer, campaign=campaign, image_url=await _picture(campaign)
    )


async def team_share(
    *,
    principal: Principal,
    team_ref: str,
    settings: Settings,
    http: aiohttp.ClientSession,
    redis: Redis,
    now: datetime,
) -> Share:
    """The team's share, with the activity_id of its updatable card (made on first share)."""
    team = await groupbuy.find_team(team_ref)
    campaign = await Campaign.get(id=team.campaign_id)
    sharer = await _sharer(principal)
    share, code = await share_codes.issue(
        kind=ShareKind.TEAM,
        sharer_id=sharer.id,
        community_id=campaign.community_id,
        campaign_id=campaign.id,
        team_id=team.id,
        now=now,
        secret=settings.secret_key.get_secret_value(),
    )
    path = f"/{PAGES[ShareKind.TEAM]}?code={team.code}&s={code}"
    return _share(
        settings,
        share,
        code,
        path,
        sharer,
        campaign=campaign,
        team=team,
        image_url=await _picture(campaign),
        card=await share_cards.activity_for(
            team, http=http, redis=redis, settings=settings, now=now
        ),
    )


async def invite_share(
    *, user: User, community_id: uuid.UUID | str | None, settings: Settings, now: datetime
) -> Share:
    """The user's personal invite: one permanent code per user (and community)."""
    community = await communities.get_community(community_id) if community_id else None
    share, code = await share_codes.issue(
        kind=ShareKind.INVITE,
        sharer_id=user.id,
        community_id=community.id if community else None,
        now=now,
        secret=settings.secret_key.get_secret_value(),
    )
    return _share(settings, share, code, f"/{PAGES[ShareKind.INVITE]}?s={code}", user)


async def _take_quota(redis: Redis, now: datetime) -> None:
    minute = ratelimit.period_key("wxacode", now, 60)
    if not await ratelimit.take(redis, minute, limit=CODES_PER_MINUTE, window_seconds=60):
        raise RateLimited(
            ErrorCode.WXACODE_RATE_LIMITED, "too many mini-program codes this minute; try later"
        )


async def _fetch_code(
    *, scene: str, page: str, http: aiohttp.ClientSession, redis: Redis, settings: Settings
) -> bytes:
    tokens = TokenCache.wechat(
        http=http,
        redis=redis,
        base=settings.wechat_api_base,
        appid=settings.wechat_appid,
        secret=settings.wechat_secret.get_secret_value(),
    )
    release = settings.wxacode_env_version == "release"
    try:
        return await tokens.call(
            lambda token: wxa.get_unlimited(
                http,
                base=settings.wechat_api_base,
                token=token,
                scene=scene,
                page=page,
                check_path=release,  # unreleased pages exist only in trial and develop
                env_version=settings.wxacode_env_version,
            )
        )
    except MessagingError as exc:  # the token could not be had
        logger.warning("wechat access token unavailable: %s", exc)
        raise UpstreamError(
            ErrorCode.WECHAT_UNAVAILABLE, "WeChat did not answer; try again"
        ) from exc
    except wxa.WxaCodeError as exc:
        if exc.errcode == wxa.RATE_LIMITED:
            raise RateLimited(
                ErrorCode.WXACODE_RATE_LIMITED, "WeChat's code quota is spent; try later"
            ) from exc
        raise UpstreamError(
            ErrorCode.WECHAT_UNAVAILABLE, f"WeChat refused the code ({exc.errcode})"
        ) from exc


async def code_image(
    *, code: str, http: aiohttp.ClientSession, redis: Redis, settings: Settings, now: datetime
) -> bytes:
    """The mini-program code (PNG) for a share code; made once, then served from Redis."""
    share = await share_codes.resolve(code, secret=settings.secret_key.get_secret_value(), now=now)
    scene = share_codes.code_of(share, secret=settings.secret_key.get_secret_value())
    page = PAGES[share.kind]
    key = f"qunshop:wxacode:{settings.wxacode_env_version}:{page}:{scene}"
    cached = await redis.get(key)
    if cached:
        return bytes(cached)
    lock = redis.lock(f"{key}:lock", timeout=CODE_LOCK_TIMEOUT, blocking_timeout=10)
    try:
        async with lock:
            cached = await redis.get(key)
            if cached:
                return bytes(cached)  # another request made it while we waited
            await _take_quota(redis, now)
            image = await _fetch_code(
                scene=scene, page=page, http=http, redis=redis, settings=settings
            )
            await redis.set(key, image, ex=CODE_CACHE_SECONDS)
    except LockError as exc:
        raise UpstreamError(ErrorCode.WECHAT_UNAVAILABLE, "the code is being made; retry") from exc
    logger.info("mini-program code made for %s share %s", share.kind, share.id)
    return image
