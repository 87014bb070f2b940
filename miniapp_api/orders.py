"""Orders: buy directly, read one's own, pay, cancel."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from miniapp_api.cashier import cashier_of
from miniapp_api.commerce_schemas import (
    DirectOrderIn,
    OrderList,
    OrderOut,
    OrderQuery,
    PayParams,
)
from miniapp_api.shown import orders_out
from miniapp_api.spec import endpoint
from qunshop.config import Settings
from services import checkout, orders, prepays
from services.auth import Principal

TAGS = ("orders",)


@endpoint(
    summary="Buy a SKU directly, without a team",
    tags=TAGS,
    body=DirectOrderIn,
    response=OrderOut,
    status=201,
    auth=True,
    idempotent_key=True,
    errors=(404, 409),
)
async def create_order(*, principal: Principal, body: DirectOrderIn, now: datetime) -> OrderOut:
    order = await checkout.buy_direct(
        principal=principal,
        sku_id=body.sku_id,
        quantity=body.quantity,
        community_id=body.community_id,
        now=now,
    )
    return (await orders_out([order]))[0]


@endpoint(
    summary="The caller's orders, newest first, a page at a time",
    tags=TAGS,
    query=OrderQuery,
    response=OrderList,
    auth=True,
)
async def list_orders(*, principal: Principal, query: OrderQuery) -> OrderList:
    page, more = await orders.page_for(principal, limit=query.limit, cursor=query.cursor)
    return OrderList(items=await orders_out(page), next_cursor=more)


@endpoint(
    summary="One of the caller's orders", tags=TAGS, response=OrderOut, auth=True, errors=(404,)
)
async def get_order(*, principal: Principal, order_id: str) -> OrderOut:
    return (await orders_out([await orders.get_order_for(principal, order_id)]))[0]


@endpoint(
    summary="Prepay with WeChat Pay: the parameters for wx.requestPayment",
    tags=TAGS,
    response=PayParams,
    auth=True,
    idempotent_key=True,
    errors=(404, 409, 502),
)
async def prepay(
    *, request: web.Request, principal: Principal, order_id: str, now: datetime
) -> PayParams:
    params = await prepays.prepay(
        principal=principal, order_id=order_id, cashier=cashier_of(request), now=now
    )
    return PayParams.model_validate(params)


@endpoint(
    summary="Cancel an unpaid order", tags=TAGS, response=OrderOut, auth=True, errors=(404, 409)
)
async def cancel_order(
    *, principal: Principal, order_id: str, settings: Settings, now: datetime
) -> OrderOut:
    order = await checkout.cancel(
        principal=principal,
        order_id=order_id,
        now=now,
        after_sale_days=settings.auto_complete_days,
    )
    return (await orders_out([order]))[0]


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/orders", create_order)
    app.router.add_get("/api/v1/orders", list_orders)
    app.router.add_get("/api/v1/orders/{order_id}", get_order)
    app.router.add_post("/api/v1/orders/{order_id}/prepay", prepay)
    app.router.add_post("/api/v1/orders/{order_id}/cancel", cancel_order)
