"""Campaigns and teams: create a campaign, start a team, join one, read them."""

from __future__ import annotations

from aiohttp import web

from miniapp_api.auth import principal, staff
from miniapp_api.commerce_schemas import (
    CampaignIn,
    CampaignList,
    CampaignOut,
    CampaignQuery,
    JoinTeamIn,
    OpenTeamList,
    Reservation,
    StartTeamIn,
    TeamList,
    TeamOut,
)
from miniapp_api.http import parse_body, parse_optional_body, parse_query, respond, validate
from miniapp_api.idempotency import idempotent
from miniapp_api.shown import campaigns_out, orders_out, teams_out
from miniapp_api.spec import endpoint
from qunshop.keys import CLOCK
from services import campaigns, groupbuy
from services.campaigns import CampaignDraft

TAGS = ("group buys",)


@endpoint(
    summary="Create a group-buy campaign (leader of the community, or admin)",
    tags=TAGS,
    body=CampaignIn,
    response=CampaignOut,
    status=201,
    auth=True,
    errors=(404, 409),
)
async def create_campaign(request: web.Request) -> web.Response:
    who = staff(request)
    body = await parse_body(request, CampaignIn)
    draft = CampaignDraft(
        **body.model_dump(exclude={"price_tiers"}),
        price_tiers=[(t.min_members, t.price) for t in body.price_tiers],
    )
    campaign = await campaigns.create_campaign(
        principal=who, draft=draft, now=request.config_dict[CLOCK].now()
    )
    return respond((await campaigns_out([campaign]))[0], 201)


@endpoint(summary="Campaigns running now", tags=TAGS, query=CampaignQuery, response=CampaignList)
async def list_campaigns(request: web.Request) -> web.Response:
    query = parse_query(request, CampaignQuery)
    items = await campaigns.list_campaigns(
        community_id=query.community_id, now=request.config_dict[CLOCK].now()
    )
    return respond(CampaignList(items=await campaigns_out(items)))


@endpoint(summary="One campaign", tags=TAGS, response=CampaignOut, errors=(404,))
async def get_campaign(request: web.Request) -> web.Response:
    campaign = await campaigns.get_campaign(request.match_info["campaign_id"])
    return respond((await campaigns_out([campaign]))[0])


@endpoint(
    summary="Pause a campaign: no new teams or members until resumed (its leader, or admin)",
    tags=TAGS,
    response=CampaignOut,
    auth=True,
    errors=(403, 404, 409),
)
async def pause_campaign(request: web.Request) -> web.Response:
    campaign = await campaigns.pause(
        principal=staff(request),
        campaign_id=request.match_info["campaign_id"],
        now=request.config_dict[CLOCK].now(),
    )
    return respond((await campaigns_out([campaign]))[0])


@endpoint(
    summary="Resume a paused campaign (its leader, or admin)",
    tags=TAGS,
    response=CampaignOut,
    auth=True,
    errors=(403, 404, 409),
)
async def resume_campaign(request: web.Request) -> web.Response:
    campaign = await campaigns.resume(
        principal=staff(request),
        campaign_id=request.match_info["campaign_id"],
        now=request.config_dict[CLOCK].now(),
    )
    return respond((await campaigns_out([campaign]))[0])


@endpoint(
    summary="Close a campaign now; open teams close at their own deadlines (its leader, or admin)",
    tags=TAGS,
    response=CampaignOut,
    auth=True,
    errors=(403, 404),
)
async def close_campaign(request: web.Request) -> web.Response:
    campaign = await campaigns.close(
        principal=staff(request),
        campaign_id=request.match_info["campaign_id"],
        now=request.config_dict[CLOCK].now(),
    )
    return respond((await campaigns_out([campaign]))[0])


@endpoint(
    summary="A campaign's open teams: seats left, deadlines, members",
    tags=TAGS,
    response=OpenTeamList,
    errors=(404,),
)
async def campaign_teams(request: web.Request) -> web.Response:
    teams = await groupbuy.open_teams(
        request.match_info["campaign_id"], now=request.config_dict[CLOCK].now()
    )
    return respond(OpenTeamList(items=await teams_out(teams)))


async def _reservation(result: groupbuy.Reservation) -> Reservation:
    (team,), (order,) = await teams_out([result.team]), await orders_out([result.order])
    return Reservation(team=team, order=order)


@endpoint(
    summary="Start a team as its head; holds the head's seat until payment",
    tags=TAGS,
    body=StartTeamIn,
    response=Reservation,
    status=201,
    auth=True,
    idempotent_key=True,
    errors=(404, 409),
)
async def start_team(request: web.Request) -> web.Response:
    who = principal(request)

    async def produce() -> web.Response:
        body = await parse_optional_body(request, StartTeamIn)
        result = await groupbuy.start_team(
            principal=who,
            campaign_id=request.match_info["campaign_id"],
            now=request.config_dict[CLOCK].now(),
            chat_id=body.chat_id,
        )
        return respond(await _reservation(result), 201)

    return await idempotent(request, str(who.user_id), produce)


@endpoint(
    summary="Join a team by id or code; holds a seat until payment",
    tags=TAGS,
    body=JoinTeamIn,
    response=Reservation,
    status=201,
    auth=True,
    idempotent_key=True,
    errors=(404, 409),
)
async def join_team(request: web.Request) -> web.Response:
    who = principal(request)

    async def produce() -> web.Response:
        body = await parse_optional_body(request, JoinTeamIn)
        result = await groupbuy.join_team(
            principal=who,
            team_ref=request.match_info["team_ref"],
            now=request.config_dict[CLOCK].now(),
            chat_id=body.chat_id,
        )
        return respond(await _reservation(result), 201)

    return await idempotent(request, str(who.user_id), produce)


@endpoint(summary="A team as its share link shows it", tags=TAGS, response=TeamOut, errors=(404,))
async def get_team(request: web.Request) -> web.Response:
    team = await groupbuy.find_team(request.match_info["team_ref"])
    (out,) = await teams_out([team])
    campaign = await campaigns.get_campaign(team.campaign_id)
    return respond(validate(TeamOut, {**out.model_dump(), "guaranteed": campaign.guaranteed}))


@endpoint(summary="The caller's teams", tags=TAGS, response=TeamList, auth=True)
async def my_teams(request: web.Request) -> web.Response:
    teams = await groupbuy.teams_of(principal(request))
    return respond(TeamList(items=await teams_out(teams)))


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/campaigns", create_campaign)
    app.router.add_get("/api/v1/campaigns", list_campaigns)
    app.router.add_get("/api/v1/campaigns/{campaign_id}", get_campaign)
    app.router.add_post("/api/v1/campaigns/{campaign_id}/pause", pause_campaign)
    app.router.add_post("/api/v1/campaigns/{campaign_id}/resume", resume_campaign)
    app.router.add_post("/api/v1/campaigns/{campaign_id}/close", close_campaign)
    app.router.add_get("/api/v1/campaigns/{campaign_id}/teams", campaign_teams)
    app.router.add_post("/api/v1/campaigns/{campaign_id}/teams", start_team)
    app.router.add_get("/api/v1/teams/{team_ref}", get_team)
    app.router.add_post("/api/v1/teams/{team_ref}/join", join_team)
    app.router.add_get("/api/v1/me/teams", my_teams)
