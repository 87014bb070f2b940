"""Delivery plans (the order cut-off) and the batches cut at it, over HTTP."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from miniapp_api.auth import admin, staff
from miniapp_api.batch_schemas import (
    BatchList,
    BatchOut,
    BatchQuery,
    DeliveryDayOut,
    DeliveryDayQuery,
    PlanIn,
    PlanOut,
    SheetOut,
    purchase_out,
    stop_out,
)
from miniapp_api.spec import endpoint
from models.delivery import BatchStatus, DeliveryPlan
from services import batch_sheets, batches
from services.auth import Principal

TAGS = ("delivery batches",)


def _plan(plan: DeliveryPlan) -> PlanOut:
    return PlanOut(
        community_id=str(plan.community_id),
        cutoff=plan.cutoff,
        next_cutoff_at=plan.next_cutoff_at,
        home_delivery=plan.home_delivery,
        delivery_fee=plan.delivery_fee,
    )


@endpoint(
    summary="Set a community's order cut-off (its leader, an admin); batches are cut at it",
    tags=TAGS,
    body=PlanIn,
    response=PlanOut,
    auth=staff,
    errors=(403, 404, 422),
)
async def set_plan(
    *, principal: Principal, body: PlanIn, community_id: str, now: datetime
) -> PlanOut:
    plan = await batches.set_plan(
        principal=principal,
        community_id=community_id,
        cutoff=body.cutoff,
        home_delivery=body.home_delivery,
        delivery_fee=body.delivery_fee,
        now=now,
    )
    return _plan(plan)


@endpoint(
    summary="A community's order cut-off, next cut and home delivery fee",
    tags=TAGS,
    response=PlanOut,
    auth=True,
    errors=(404,),
)
async def get_plan(*, community_id: str) -> PlanOut:
    return _plan(await batches.plan_of(community_id))


@endpoint(
    summary="Delivery batches, newest first (a leader's own communities; admins all)",
    tags=TAGS,
    query=BatchQuery,
    response=BatchList,
    auth=staff,
    errors=(403, 404),
)
async def list_batches(*, principal: Principal, query: BatchQuery) -> BatchList:
    found = await batch_sheets.list_batches(
        principal=principal,
        community_id=str(query.community_id) if query.community_id else None,
        status=BatchStatus(query.status) if query.status else None,
    )
    return BatchList(items=[BatchOut.of(b) for b in found])


@endpoint(
    summary="A batch: its pick list, purchasing totals per supplier, route stop, shortages",
    tags=TAGS,
    response=SheetOut,
    auth=staff,
    errors=(404,),
)
async def get_batch(*, principal: Principal, batch_id: str) -> SheetOut:
    return SheetOut.of(await batch_sheets.batch_sheet(principal=principal, batch_id=batch_id))


@endpoint(
    summary="Close an arrived batch (its leader, an admin); the clock closes it when empty",
    tags=TAGS,
    response=BatchOut,
    auth=staff,
    errors=(404, 409),
)
async def close_batch(*, principal: Principal, batch_id: str, now: datetime) -> BatchOut:
    return BatchOut.of(await batches.close(principal=principal, batch_id=batch_id, now=now))


@endpoint(
    summary="A delivery day (admins): purchasing totals per supplier and the route sheet",
    tags=TAGS,
    query=DeliveryDayQuery,
    response=DeliveryDayOut,
    auth=admin,
    errors=(403,),
)
async def delivery_day(*, principal: Principal, query: DeliveryDayQuery) -> DeliveryDayOut:
    day = await batch_sheets.delivery_day(principal=principal, day=query.date)
    return DeliveryDayOut(
        date=day.day,
        purchases=[purchase_out(p) for p in day.purchases],
        route=[stop_out(s) for s in day.route],
    )


def setup(app: web.Application) -> None:
    app.router.add_put("/api/v1/communities/{community_id}/delivery-plan", set_plan)
    app.router.add_get("/api/v1/communities/{community_id}/delivery-plan", get_plan)
    app.router.add_get("/api/v1/batches", list_batches)
    app.router.add_get("/api/v1/batches/{batch_id}", get_batch)
    app.router.add_post("/api/v1/batches/{batch_id}/close", close_batch)
    app.router.add_get("/api/v1/admin/deliveries", delivery_day)
