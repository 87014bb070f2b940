"""Earnings, the growth rules, and pickup (提货, 核销) over HTTP: parse, call, render."""

from __future__ import annotations

from aiohttp import web

from miniapp_api.auth import principal, staff
from miniapp_api.growth_schemas import (
    ArrivalOut,
    ArrivedIn,
    EarningEntryOut,
    EarningsOut,
    PeriodOut,
    PickupDayOut,
    PickupDayQuery,
    PickupLineOut,
    PickupPointOut,
    RulesIn,
    RulesOut,
    StatementList,
    StatementOut,
    TicketOut,
    VerifyIn,
)
from miniapp_api.http import parse_body, parse_query, respond
from miniapp_api.spec import endpoint
from models.community import PickupPoint
from qunshop.keys import CLOCK, SETTINGS
from services import earnings, growth_rules, pickup

TAGS = ("earnings and pickup",)


def _point(point: PickupPoint | None) -> PickupPointOut | None:
    if point is None:
        return None
    return PickupPointOut(name=point.name, address=point.address, hours=point.hours)


def _line(line: pickup.Line) -> PickupLineOut:
    o = line.order
    return PickupLineOut(
        order_id=str(o.id),
        buyer=line.buyer,
        item=line.item,
        quantity=o.quantity,
        amount=o.amount,
        status=o.status.value,
        picked_up_at=o.picked_up_at,
    )


def _rules(rules: growth_rules.Rules) -> RulesOut:
    return RulesOut(
        leader_share_bps=rules.leader_share_bps,
        invite_commission_bps=list(rules.invite_bps),
        binding_scope=rules.binding_scope,
        binding_days=rules.binding_days,
    )


@endpoint(
    summary="The caller's earnings: balances, this week, latest entries",
    tags=TAGS,
    response=EarningsOut,
    auth=True,
)
async def my_earnings(request: web.Request) -> web.Response:
    who = principal(request)
    found = await earnings.summary(
        who.user_id,
        now=request.config_dict[CLOCK].now(),
        timezone=request.config_dict[SETTINGS].timezone,
    )
    return respond(
        EarningsOut(
            frozen=found.balance.frozen,
            available=found.balance.available,
            week_start=found.week_start,
            week=PeriodOut(**vars(found.week)),
            recent=[EarningEntryOut.of(e) for e in found.recent],
        )
    )


@endpoint(
    summary="The caller's weekly earnings statements, newest first",
    tags=TAGS,
    response=StatementList,
    auth=True,
)
async def my_statements(request: web.Request) -> web.Response:
    found = await earnings.statements_of(principal(request).user_id)
    return respond(StatementList(items=[StatementOut.of(s) for s in found]))


@endpoint(summary="The growth rules in force", tags=TAGS, response=RulesOut, auth=True)
async def get_rules(request: web.Request) -> web.Response:
    principal(request)
    return respond(_rules(await growth_rules.current()))


@endpoint(
    summary="Set the growth rules (admins): binding scope and days, leader share, commission",
    tags=TAGS,
    body=RulesIn,
    response=RulesOut,
    auth=True,
)
async def set_rules(request: web.Request) -> web.Response:
    who = principal(request)
    body = await parse_body(request, RulesIn)
    rules = await growth_rules.update(
        actor=who,
        rules=growth_rules.Rules(
            leader_share_bps=body.leader_share_bps,
            invite_bps=tuple(body.invite_commission_bps),
            binding_scope=body.binding_scope,
            binding_days=body.binding_days,
        ),
        now=request.config_dict[CLOCK].now(),
    )
    return respond(_rules(rules))


@endpoint(
    summary="The pickup code of one of the caller's orders",
    tags=TAGS,
    response=TicketOut,
    auth=True,
    errors=(404, 409),
)
async def pickup_ticket(request: web.Request) -> web.Response:
    found = await pickup.ticket(
        principal=principal(request), order_id=request.match_info["order_id"]
    )
    return respond(
        TicketOut(
            order_id=str(found.order.id),
            status=found.order.status.value,
            code=found.code,
            pickup_point=_point(found.pickup_point),
        )
    )


@endpoint(
    summary="核销: verify a pickup code; the ready order is picked up (its leader, or an admin)",
    tags=TAGS,
    body=VerifyIn,
    response=PickupLineOut,
    auth=True,
    errors=(404, 409),
)
async def verify(request: web.Request) -> web.Response:
    who = staff(request)
    body = await parse_body(request, VerifyIn)
    line = await pickup.verify(principal=who, code=body.code, now=request.config_dict[CLOCK].now())
    return respond(_line(line))


@endpoint(
    summary="到货: the delivery reached the pickup point; confirmed orders become ready",
    tags=TAGS,
    body=ArrivedIn,
    response=ArrivalOut,
    auth=True,
    errors=(403, 404),
)
async def arrived(request: web.Request) -> web.Response:
    who = staff(request)
    body = await parse_body(request, ArrivedIn)
    delivery = await pickup.arrived(
        principal=who, community_id=body.community_id, now=request.config_dict[CLOCK].now()
    )
    return respond(
        ArrivalOut(
            community_id=str(delivery.community.id),
            arrival_id=str(delivery.arrival.id) if delivery.arrival else None,
            orders=delivery.orders,
            pickup_point=_point(delivery.pickup_point),
        )
    )


@endpoint(
    summary="提货单: today's orders at the pickup point (leader, admin)",
    tags=TAGS,
    query=PickupDayQuery,
    response=PickupDayOut,
    auth=True,
    errors=(404,),
)
async def pickup_day(request: web.Request) -> web.Response:
    who = staff(request)
    query = parse_query(request, PickupDayQuery)
    day = await pickup.day_list(
        principal=who, community_id=query.community_id, now=request.config_dict[CLOCK].now()
    )
    return respond(
        PickupDayOut(
            community_id=str(day.community.id),
            day=day.day,
            pickup_point=_point(day.pickup_point),
            waiting=[_line(line) for line in day.waiting],
            picked_up=[_line(line) for line in day.picked_up],
        )
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/me/earnings", my_earnings)
    app.router.add_get("/api/v1/me/earnings/statements", my_statements)
    app.router.add_get("/api/v1/growth/rules", get_rules)
    app.router.add_put("/api/v1/growth/rules", set_rules)
    app.router.add_get("/api/v1/orders/{order_id}/pickup", pickup_ticket)
    app.router.add_post("/api/v1/pickups/verify", verify)
    app.router.add_get("/api/v1/pickups/today", pickup_day)
    app.router.add_post("/api/v1/pickups/arrived", arrived)
