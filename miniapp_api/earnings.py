"""Earnings, the growth rules, and pickup (提货, 核销) over HTTP: parse, call, render."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from miniapp_api.auth import staff
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
    WithdrawalList,
    WithdrawalOut,
    WithdrawIn,
)
from miniapp_api.spec import endpoint
from models.community import PickupPoint
from qunshop.config import Settings
from services import batches, earnings, growth_rules, pickup, withdrawals
from services.auth import Principal

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
async def my_earnings(*, principal: Principal, now: datetime, settings: Settings) -> EarningsOut:
    found = await earnings.summary(principal.user_id, now=now, timezone=settings.timezone)
    return EarningsOut(
        frozen=found.balance.frozen,
        available=found.balance.available,
        week_start=found.week_start,
        week=PeriodOut(**vars(found.week)),
        recent=[EarningEntryOut.of(e) for e in found.recent],
    )


@endpoint(
    summary="The caller's weekly earnings statements, newest first",
    tags=TAGS,
    response=StatementList,
    auth=True,
)
async def my_statements(*, principal: Principal) -> StatementList:
    found = await earnings.statements_of(principal.user_id)
    return StatementList(items=[StatementOut.of(s) for s in found])


@endpoint(
    summary="提现: withdraw available earnings (fen, at least 100; no amount: all) to the "
    "caller's WeChat 零钱. The amount leaves the available balance at once; an operator "
    "approves, then WeChat Pay pays it (企业付款到零钱). One open withdrawal at a time.",
    tags=TAGS,
    body=WithdrawIn,
    optional_body=True,
    response=WithdrawalOut,
    status=201,
    auth=True,
    errors=(409, 422),
)
async def withdraw(*, principal: Principal, body: WithdrawIn, now: datetime) -> WithdrawalOut:
    made = await withdrawals.request(principal=principal, amount=body.amount, now=now)
    return WithdrawalOut.of(made)


@endpoint(
    summary="The caller's withdrawals (提现), newest first, and what is available now",
    tags=TAGS,
    response=WithdrawalList,
    auth=True,
)
async def my_withdrawals(*, principal: Principal) -> WithdrawalList:
    found = await withdrawals.mine(principal.user_id)
    available = (await earnings.balance(principal.user_id)).available
    return WithdrawalList(items=[WithdrawalOut.of(w) for w in found], available=available)


@endpoint(summary="The growth rules in force", tags=TAGS, response=RulesOut, auth=True)
async def get_rules() -> RulesOut:
    return _rules(await growth_rules.current())


@endpoint(
    summary="Set the growth rules (admins): binding scope and days, leader share, commission",
    tags=TAGS,
    body=RulesIn,
    response=RulesOut,
    auth=True,
)
async def set_rules(*, principal: Principal, body: RulesIn, now: datetime) -> RulesOut:
    rules = await growth_rules.update(
        actor=principal,
        rules=growth_rules.Rules(
            leader_share_bps=body.leader_share_bps,
            invite_bps=tuple(body.invite_commission_bps),
            binding_scope=body.binding_scope,
            binding_days=body.binding_days,
        ),
        now=now,
    )
    return _rules(rules)


@endpoint(
    summary="The pickup code of one of the caller's orders",
    tags=TAGS,
    response=TicketOut,
    auth=True,
    errors=(404, 409),
)
async def pickup_ticket(*, principal: Principal, order_id: str) -> TicketOut:
    found = await pickup.ticket(principal=principal, order_id=order_id)
    return TicketOut(
        order_id=str(found.order.id),
        status=found.order.status.value,
        code=found.code,
        pickup_point=_point(found.pickup_point),
    )


@endpoint(
    summary="核销: verify a pickup code; the ready order is picked up (its leader, or an admin)",
    tags=TAGS,
    body=VerifyIn,
    response=PickupLineOut,
    auth=staff,
    errors=(404, 409),
)
async def verify(*, principal: Principal, body: VerifyIn, now: datetime) -> PickupLineOut:
    return _line(await pickup.verify(principal=principal, code=body.code, now=now))


@endpoint(
    summary="到货: the delivery (a community's batch) reached the pickup point; its orders "
    "become ready, SKUs counted short refund their newest orders",
    tags=TAGS,
    body=ArrivedIn,
    response=ArrivalOut,
    auth=staff,
    errors=(403, 404, 409, 422),
)
async def arrived(*, principal: Principal, body: ArrivedIn, now: datetime) -> ArrivalOut:
    delivery = await pickup.arrived(
        principal=principal,
        community_id=body.community_id,
        now=now,
        shortages=[batches.Shortage(sku=s.sku, short=s.short) for s in body.shortages],
    )
    return ArrivalOut(
        community_id=str(delivery.community.id),
        arrival_id=str(delivery.arrival.id) if delivery.arrival else None,
        orders=delivery.orders,
        pickup_point=_point(delivery.pickup_point),
        batch_id=str(delivery.batch.id) if delivery.batch else None,
        refunded_orders=delivery.refunded,
    )


@endpoint(
    summary="提货单: today's orders at the pickup point (leader, admin)",
    tags=TAGS,
    query=PickupDayQuery,
    response=PickupDayOut,
    auth=staff,
    errors=(404,),
)
async def pickup_day(*, principal: Principal, query: PickupDayQuery, now: datetime) -> PickupDayOut:
    day = await pickup.day_list(principal=principal, community_id=query.community_id, now=now)
    return PickupDayOut(
        community_id=str(day.community.id),
        day=day.day,
        pickup_point=_point(day.pickup_point),
        waiting=[_line(line) for line in day.waiting],
        arriving=[_line(line) for line in day.arriving],
        picked_up=[_line(line) for line in day.picked_up],
        waiting_count=day.waiting_count,
        arriving_count=day.arriving_count,
        picked_up_count=day.picked_up_count,
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/me/earnings", my_earnings)
    app.router.add_get("/api/v1/me/earnings/statements", my_statements)
    app.router.add_post("/api/v1/me/withdrawals", withdraw)
    app.router.add_get("/api/v1/me/withdrawals", my_withdrawals)
    app.router.add_get("/api/v1/growth/rules", get_rules)
    app.router.add_put("/api/v1/growth/rules", set_rules)
    app.router.add_get("/api/v1/orders/{order_id}/pickup", pickup_ticket)
    app.router.add_post("/api/v1/pickups/verify", verify)
    app.router.add_get("/api/v1/pickups/today", pickup_day)
    app.router.add_post("/api/v1/pickups/arrived", arrived)
