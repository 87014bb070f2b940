"""Orders: buy directly, read one's own, pay, cancel."""

from __future__ import annotations

from aiohttp import web

from miniapp_api.auth import principal
from miniapp_api.commerce_schemas import DirectOrderIn, OrderList, OrderOut, PayParams
from miniapp_api.http import parse_body, respond
from miniapp_api.idempotency import idempotent
from miniapp_api.remote import client_address
from miniapp_api.shown import orders_out
from miniapp_api.spec import endpoint
from qunshop.keys import CLOCK, PAY, SETTINGS
from services import checkout, orders, payments

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
async def create_order(request: web.Request) -> web.Response:
    who = principal(request)

    async def produce() -> web.Response:
        body = await parse_body(request, DirectOrderIn)
        order = await checkout.buy_direct(
            principal=who,
            sku_id=body.sku_id,
            quantity=body.quantity,
            community_id=body.community_id,
            now=request.config_dict[CLOCK].now(),
        )
        return respond((await orders_out([order]))[0], 201)

    return await idempotent(request, str(who.user_id), produce)


@endpoint(summary="The caller's orders, newest first", tags=TAGS, response=OrderList, auth=True)
async def list_orders(request: web.Request) -> web.Response:
    items = await orders.list_orders_for(principal(request))
    return respond(OrderList(items=await orders_out(items)))


@endpoint(
    summary="One of the caller's orders", tags=TAGS, response=OrderOut, auth=True, errors=(404,)
)
async def get_order(request: web.Request) -> web.Response:
    order = await orders.get_order_for(principal(request), request.match_info["order_id"])
    return respond((await orders_out([order]))[0])


@endpoint(
    summary="Prepay with WeChat Pay: the parameters for wx.requestPayment",
    tags=TAGS,
    response=PayParams,
    auth=True,
    idempotent_key=True,
    errors=(404, 409, 502),
)
async def prepay(request: web.Request) -> web.Response:
    who = principal(request)

    async def produce() -> web.Response:
        settings = request.config_dict[SETTINGS]
        params = await payments.prepay(
            principal=who,
            order_id=request.match_info["order_id"],
            pay=request.config_dict[PAY],
            notify_url=f"{settings.public_base_url}/pay/wechat/notify",
            client_ip=client_address(request) or "127.0.0.1",
            now=request.config_dict[CLOCK].now(),
        )
        return respond(PayParams.model_validate(params))

    return await idempotent(request, str(who.user_id), produce)


@endpoint(
    summary="Cancel an unpaid order", tags=TAGS, response=OrderOut, auth=True, errors=(404, 409)
)
async def cancel_order(request: web.Request) -> web.Response:
    order = await checkout.cancel(
        principal=principal(request),
        order_id=request.match_info["order_id"],
        now=request.config_dict[CLOCK].now(),
    )
    return respond((await orders_out([order]))[0])


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/orders", create_order)
    app.router.add_get("/api/v1/orders", list_orders)
    app.router.add_get("/api/v1/orders/{order_id}", get_order)
    app.router.add_post("/api/v1/orders/{order_id}/prepay", prepay)
    app.router.add_post("/api/v1/orders/{order_id}/cancel", cancel_order)
