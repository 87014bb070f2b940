"""Shares, attribution, group figures and leaderboards over HTTP: parse, call, render."""

from __future__ import annotations

from aiohttp import web
from redis.asyncio import Redis

from miniapp_api import earnings
from miniapp_api.growth_schemas import (
    CodeImage,
    EntryIn,
    EntryOut,
    GroupEntryIn,
    GroupEntryOut,
    GroupStatsList,
    GroupStatsOut,
    InviteQuery,
    LeaderboardOut,
    LeaderboardQuery,
    RankOut,
    ShareOut,
    UpdatableOut,
)
from miniapp_api.spec import endpoint
from qunshop.keys import CHAT_TEMPLATES, CLOCK, HTTP, REDIS, SETTINGS, Resources
from services import attribution, communities, group_stats, leaderboards, share
from services.auth import Principal

TAGS = ("growth",)


def _title(config: Resources, found: share.Share) -> str:
    templates = config[CHAT_TEMPLATES]
    if found.team is not None:
        name, values = "cards/team_title.j2", {"campaign": found.campaign, "team": found.team}
    elif found.campaign is not None:
        name, values = "cards/campaign_title.j2", {"campaign": found.campaign}
    else:
        name, values = "cards/invite_title.j2", {"user": found.sharer}
    return templates.get_template(name).render(sharer=found.sharer, **values).strip()


def _share_out(config: Resources, found: share.Share) -> ShareOut:
    return ShareOut(
        kind=found.kind,
        code=found.code,
        title=_title(config, found),
        path=found.path,
        image_url=found.image_url,
        wxacode_page=found.page,
        wxacode_url=found.code_image_url,
        updatable=_updatable(found),
    )


def _updatable(found: share.Share) -> UpdatableOut | None:
    """What wx.updateShareMenu takes for a live card (isUpdatableMessage, activityId ...)."""
    if found.card is None or found.team is None:
        return None
    return UpdatableOut(
        activity_id=found.card.activity_id,
        expires_at=found.card.expires_at,
        member_count=found.team.seats_paid,
        room_limit=found.team.size,
    )


@endpoint(
    summary="Share a campaign: onShareAppMessage's title, path and image, and its code",
    tags=TAGS,
    response=ShareOut,
    auth=True,
    errors=(404,),
)
async def share_campaign(*, principal: Principal, campaign_id: str, config: Resources) -> ShareOut:
    found = await share.campaign_share(
        principal=principal,
        campaign_id=campaign_id,
        settings=config[SETTINGS],
        now=config[CLOCK].now(),
    )
    return _share_out(config, found)


@endpoint(
    summary="Share a team: onShareAppMessage's title, path and image, and its code",
    tags=TAGS,
    response=ShareOut,
    auth=True,
    errors=(404,),
)
async def share_team(*, principal: Principal, team_ref: str, config: Resources) -> ShareOut:
    found = await share.team_share(
        principal=principal,
        team_ref=team_ref,
        settings=config[SETTINGS],
        http=config[HTTP],
        redis=config[REDIS],
        now=config[CLOCK].now(),
    )
    return _share_out(config, found)


@endpoint(
    summary="The caller's personal invite link and card",
    tags=TAGS,
    query=InviteQuery,
    response=ShareOut,
    auth=True,
    errors=(404,),
)
async def my_invite(*, principal: Principal, query: InviteQuery, config: Resources) -> ShareOut:
    found = await share.invite_share(
        user=await communities.current_user(principal),
        community_id=query.community_id,
        settings=config[SETTINGS],
        now=config[CLOCK].now(),
    )
    return _share_out(config, found)


@endpoint(
    summary="The mini-program code (wxacode.getUnlimited) of a share code, as a PNG",
    tags=TAGS,
    response=CodeImage,
    response_media="image/png",
    errors=(422, 429, 502),
)
async def code_image(*, code: str, config: Resources) -> web.Response:
    image = await share.code_image(
        code=code,
        http=config[HTTP],
        redis=config[REDIS],
        settings=config[SETTINGS],
        now=config[CLOCK].now(),
    )
    return web.Response(
        body=image, content_type="image/png", headers={"Cache-Control": "public, max-age=86400"}
    )


@endpoint(
    summary="The mini-program opened with a share code: record the visit, attribute the invite",
    tags=TAGS,
    body=EntryIn,
    response=EntryOut,
    auth=True,
)
async def enter(*, principal: Principal, body: EntryIn, config: Resources) -> EntryOut:
    entry = await attribution.enter(
        principal=principal,
        code=body.code,
        redis=config[REDIS],
        settings=config[SETTINGS],
        now=config[CLOCK].now(),
    )
    code = entry.share
    return EntryOut(
        kind=code.kind,
        community_id=str(code.community_id) if code.community_id else None,
        campaign_id=str(code.campaign_id) if code.campaign_id else None,
        team_id=str(code.team_id) if code.team_id else None,
        outcome=entry.outcome,
    )


@endpoint(
    summary="The mini-program opened from a group chat: bind the visit, team and order to it",
    tags=TAGS,
    body=GroupEntryIn,
    response=GroupEntryOut,
    auth=True,
    errors=(404,),
)
async def enter_group(
    *, principal: Principal, body: GroupEntryIn, config: Resources
) -> GroupEntryOut:
    entry = await attribution.group_enter(
        principal=principal,
        encrypted_data=body.encrypted_data,
        iv=body.iv,
        code=body.code,
        team_ref=body.team_ref,
        order_id=str(body.order_id) if body.order_id else None,
        redis=config[REDIS],
        settings=config[SETTINGS],
        now=config[CLOCK].now(),
    )
    return GroupEntryOut(
        opengid=entry.opengid,
        chat_type=entry.chat_type,
        community_id=str(entry.community_id) if entry.community_id else None,
        outcome=entry.outcome,
        team_bound=entry.team_bound,
        order_bound=entry.order_bound,
    )


@endpoint(
    summary="A community's group chats: visits, teams, orders, GMV, conversion (leader, admin)",
    tags=TAGS,
    response=GroupStatsList,
    auth=True,
    errors=(404,),
)
async def community_groups(*, principal: Principal, community_id: str) -> GroupStatsList:
    found = await group_stats.for_community(principal=principal, community_id=community_id)
    return GroupStatsList(items=[GroupStatsOut(**vars(s)) for s in found])


@endpoint(
    summary="Top inviters or top sharers of a community or a campaign",
    tags=TAGS,
    query=LeaderboardQuery,
    response=LeaderboardOut,
    auth=True,
    errors=(404,),
)
async def leaderboard(*, query: LeaderboardQuery, redis: Redis) -> LeaderboardOut:
    scope, board = leaderboards.Scope(query.scope), leaderboards.Board(query.board)
    ranks = await leaderboards.top(
        redis, scope=scope, scope_id=str(query.id), board=board, limit=query.limit
    )
    items = [
        RankOut(rank=r.rank, user_id=str(r.user_id), nickname=r.nickname, score=r.score)
        for r in ranks
    ]
    return LeaderboardOut(scope=scope, id=str(query.id), board=board, items=items)


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/campaigns/{campaign_id}/share", share_campaign)
    app.router.add_get("/api/v1/teams/{team_ref}/share", share_team)
    app.router.add_get("/api/v1/me/invite", my_invite)
    app.router.add_get("/api/v1/share-codes/{code}/wxacode", code_image)
    app.router.add_post("/api/v1/attribution/entries", enter)
    app.router.add_post("/api/v1/attribution/group-entries", enter_group)
    app.router.add_get("/api/v1/communities/{community_id}/groups", community_groups)
    app.router.add_get("/api/v1/leaderboards", leaderboard)
    earnings.setup(app)
