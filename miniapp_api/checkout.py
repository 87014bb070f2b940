"""Checkout: one coupon and points on an order awaiting payment; the caller's points; the
prices a SKU really had."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from miniapp_api.commerce_schemas import OrderOut
from miniapp_api.marketing_schemas import (
    DiscountsIn,
    PointsEntryOut,
    PointsOut,
    SkuPriceList,
    SkuPriceOut,
)
from miniapp_api.shown import orders_out
from miniapp_api.spec import endpoint
from services import points, prices, pricing
from services.auth import Principal

TAGS = ("checkout",)


@endpoint(
    summary="Price an order awaiting payment with one coupon and points (before prepay); "
    "sending it again replaces them",
    tags=TAGS,
    body=DiscountsIn,
    response=OrderOut,
    auth=True,
    errors=(404, 409, 422),
)
async def set_discounts(
    *, principal: Principal, order_id: str, body: DiscountsIn, now: datetime
) -> OrderOut:
    order = await pricing.set_discounts(
        principal=principal,
        order_id=order_id,
        coupon_id=str(body.coupon_id) if body.coupon_id else None,
        points_to_use=body.points,
        now=now,
    )
    return (await orders_out([order]))[0]


@endpoint(
    summary="The caller's points and latest entries", tags=TAGS, response=PointsOut, auth=True
)
async def my_points(*, principal: Principal, now: datetime) -> PointsOut:
    found = await points.summary(principal.user_id, now=now, limit=20)
    return PointsOut(
        balance=found.balance,
        fen_per_point=points.FEN_PER_POINT,
        expiring=found.expiring,
        expiring_by=found.expiring_by,
        entries=[PointsEntryOut.of(e) for e in found.entries],
    )


@endpoint(
    summary="Every price a SKU had, and the one original price that may be shown beside a deal",
    tags=TAGS,
    response=SkuPriceList,
    errors=(404,),
)
async def sku_prices(*, sku_id: str, now: datetime) -> SkuPriceList:
    rows = await prices.history(sku_id)
    return SkuPriceList(
        items=[SkuPriceOut.of(r) for r in rows],
        reference_price=await prices.reference_price(sku_id, now=now),
    )


def setup(app: web.Application) -> None:
    app.router.add_put("/api/v1/orders/{order_id}/discounts", set_discounts)
    app.router.add_get("/api/v1/me/points", my_points)
    app.router.add_get("/api/v1/skus/{sku_id}/prices", sku_prices)
