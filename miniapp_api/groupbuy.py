"""Campaigns and teams: create a campaign, start a team, join one, read them."""

from __future__ import annotations

import json
from datetime import datetime

from aiohttp import web

from miniapp_api.auth import staff
from miniapp_api.cashier import cashier_of
from miniapp_api.commerce_schemas import (
    CampaignIn,
    CampaignList,
    CampaignOut,
    CampaignQuery,
    JoinTeamIn,
    MyTeamsQuery,
    OpenTeamList,
    Reservation,
    StartTeamIn,
    TeamList,
    TeamOut,
)
from miniapp_api.http import parse_optional_body
from miniapp_api.idempotency import REPLAYED, keyed
from miniapp_api.shown import campaigns_out, reservation_json, teams_out, with_payment
from miniapp_api.spec import endpoint
from qunshop.keys import CLOCK
from services import campaigns, groupbuy, join_pay
from services.auth import Principal
from services.campaigns import CampaignDraft

TAGS = ("group buys",)


@endpoint(
    summary="Create a group-buy campaign (leader of the community, or admin)",
    tags=TAGS,
    body=CampaignIn,
    response=CampaignOut,
    status=201,
    auth=staff,
    errors=(404, 409),
)
async def create_campaign(*, principal: Principal, body: CampaignIn, now: datetime) -> CampaignOut:
    draft = CampaignDraft(
        **body.model_dump(exclude={"price_tiers"}),
        price_tiers=[(t.min_members, t.price) for t in body.price_tiers],
    )
    campaign = await campaigns.create_campaign(principal=principal, draft=draft, now=now)
    return (await campaigns_out([campaign]))[0]


@endpoint(
    summary="Campaigns running now, soonest ending first, a page at a time",
    tags=TAGS,
    query=CampaignQuery,
    response=CampaignList,
)
async def list_campaigns(*, query: CampaignQuery, now: datetime) -> CampaignList:
    items, more = await campaigns.page_campaigns(
        community_id=query.community_id, now=now, limit=query.limit, cursor=query.cursor
    )
    return CampaignList(items=await campaigns_out(items), next_cursor=more)


@endpoint(summary="One campaign", tags=TAGS, response=CampaignOut, errors=(404,))
async def get_campaign(*, campaign_id: str) -> CampaignOut:
    return (await campaigns_out([await campaigns.get_campaign(campaign_id)]))[0]


@endpoint(
    summary="Pause a campaign: no new teams or members until resumed (its leader, or admin)",
    tags=TAGS,
    response=CampaignOut,
    auth=staff,
    errors=(403, 404, 409),
)
async def pause_campaign(*, principal: Principal, campaign_id: str, now: datetime) -> CampaignOut:
    campaign = await campaigns.pause(principal=principal, campaign_id=campaign_id, now=now)
    return (await campaigns_out([campaign]))[0]


@endpoint(
    summary="Resume a paused campaign (its leader, or admin)",
    tags=TAGS,
    response=CampaignOut,
    auth=staff,
    errors=(403, 404, 409),
)
async def resume_campaign(*, principal: Principal, campaign_id: str, now: datetime) -> CampaignOut:
    campaign = await campaigns.resume(principal=principal, campaign_id=campaign_id, now=now)
    return (await campaigns_out([campaign]))[0]


@endpoint(
    summary="Close a campaign now; open teams close at their own deadlines (its leader, or admin)",
    tags=TAGS,
    response=CampaignOut,
    auth=staff,
    errors=(403, 404),
)
async def close_campaign(*, principal: Principal, campaign_id: str, now: datetime) -> CampaignOut:
    campaign = await campaigns.close(principal=principal, campaign_id=campaign_id, now=now)
    return (await campaigns_out([campaign]))[0]


@endpoint(
    summary="A campaign's open teams: seats left, deadlines, members",
    tags=TAGS,
    response=OpenTeamList,
    errors=(404,),
)
async def campaign_teams(*, campaign_id: str, now: datetime) -> OpenTeamList:
    teams = await groupbuy.open_teams(campaign_id, now=now)
    return OpenTeamList(items=await teams_out(teams))


async def pay_after_record(
    request: web.Request, principal: Principal, answer: web.StreamResponse
) -> web.StreamResponse:
    """A join or a start asked to pay under an Idempotency-Key: its seat and recorded answer
    committed first, so WeChat Pay is asked with no team or stock lock held, on a replay too
    (the same out_trade_no: WeChat Pay answers the same prepay_id). The recorded answer is
    the Reservation; the payment is added to it."""
    body = await parse_optional_body(request, JoinTeamIn)  # a start's body has the same fields
    if answer.status != 201 or not body.pay or not isinstance(answer, web.Response):
        return answer
    reservation = answer.text or ""
    payment, refused = await join_pay.pay_held(
        principal,
        json.loads(reservation)["order"]["id"],
        cashier=cashier_of(request),
        now=request.config_dict[CLOCK].now(),
    )
    replayed = {k: v for k, v in answer.headers.items() if k == REPLAYED}
    return web.Response(
        status=201,
        body=with_payment(reservation, payment, refused),
        content_type="application/json",
        headers=replayed,
    )


@endpoint(
    summary="Start a team as its head; holds the head's seat until payment "
    "(with pay: and prepares it)",
    tags=TAGS,
    body=StartTeamIn,
    optional_body=True,
    response=Reservation,
    status=201,
    auth=True,
    idempotent_key=True,
    after_record=pay_after_record,
    errors=(404, 409),
)
async def start_team(
    *,
    request: web.Request,
    principal: Principal,
    body: StartTeamIn,
    campaign_id: str,
    now: datetime,
) -> bytes:
    if body.pay and not keyed(request):  # keyed: paid once the seat committed (below)
        paying = await join_pay.start_team(
            principal=principal,
            campaign_id=campaign_id,
            now=now,
            cashier=cashier_of(request),
            chat_id=body.chat_id,
        )
        return reservation_json(paying.held, paying)
    result = await groupbuy.start_team(
        principal=principal, campaign_id=campaign_id, now=now, chat_id=body.chat_id
    )
    return reservation_json(result)


@endpoint(
    summary="Join a team by id or code; holds a seat until payment (with pay: and prepares it)",
    tags=TAGS,
    body=JoinTeamIn,
    optional_body=True,
    response=Reservation,
    status=201,
    auth=True,
    idempotent_key=True,
    after_record=pay_after_record,
    errors=(404, 409),
)
async def join_team(
    *, request: web.Request, principal: Principal, body: JoinTeamIn, team_ref: str, now: datetime
) -> bytes:
    if body.pay and not keyed(request):  # keyed: paid once the seat committed (below)
        paying = await join_pay.join_team(
            principal=principal,
            team_ref=team_ref,
            now=now,
            cashier=cashier_of(request),
            chat_id=body.chat_id,
        )
        return reservation_json(paying.held, paying)
    result = await groupbuy.join_team(
        principal=principal, team_ref=team_ref, now=now, chat_id=body.chat_id
    )
    return reservation_json(result)


@endpoint(summary="A team as its share link shows it", tags=TAGS, response=TeamOut, errors=(404,))
async def get_team(*, team_ref: str) -> TeamOut:
    (out,) = await teams_out([await groupbuy.find_team(team_ref)])
    return out


@endpoint(
    summary="The teams the caller has a seat in, each once, newest team first, a page at a time",
    tags=TAGS,
    query=MyTeamsQuery,
    response=TeamList,
    auth=True,
)
async def my_teams(*, principal: Principal, query: MyTeamsQuery) -> TeamList:
    teams, more = await groupbuy.teams_of(principal, limit=query.limit, cursor=query.cursor)
    return TeamList(items=await teams_out(teams), next_cursor=more)


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
