"""WeChat Pay's notify endpoints (XML), and the development-only simulated payment."""

from __future__ import annotations

import logging
import secrets

from aiohttp import web

from miniapp_api.auth import principal
from miniapp_api.commerce_schemas import SimulatedPayment
from miniapp_api.spec import endpoint
from qunshop.config import Mode
from qunshop.errors import ErrorCode, Forbidden
from qunshop.keys import CLOCK, HTTP, SETTINGS, Resources
from services import orders, payments, refunds
from services.auth import Principal
from wechat.pay import SUCCESS_REPLY, fail_reply

logger = logging.getLogger(__name__)

MAX_NOTIFY_BYTES = 64 * 1024


def _xml(body: bytes, status: int = 200) -> web.Response:
    return web.Response(status=status, body=body, content_type="application/xml")


async def _body(request: web.Request) -> bytes | None:
    """The whole body, or None when it is over the limit (reading no further than that)."""
    if request.content_length is not None and request.content_length > MAX_NOTIFY_BYTES:
        return None
    # One read() returns only what has arrived so far: read until EOF or past the limit.
    body = bytearray()
    while len(body) <= MAX_NOTIFY_BYTES:
        chunk = await request.content.read(MAX_NOTIFY_BYTES + 1 - len(body))
        if not chunk:
            break
        body += chunk
    return None if len(body) > MAX_NOTIFY_BYTES else bytes(body)


async def pay_notify(request: web.Request) -> web.Response:
    body = await _body(request)
    if body is None:
        return _xml(fail_reply("body too large"), 413)
    settings = request.config_dict[SETTINGS]
    try:
        outcome = await payments.handle_notify(
            body,
            api_key=settings.pay_api_key.get_secret_value(),
            appid=settings.wechat_appid,
            mch_id=settings.pay_mch_id,
            now=request.config_dict[CLOCK].now(),
        )
    except payments.NotifyRefused as exc:
        logger.warning("pay notify refused: %s", exc)
        return _xml(fail_reply(str(exc)))
    logger.info(
        "pay notify for order %s: applied=%s honoured=%s",
        outcome.order_id,
        outcome.applied,
        outcome.honoured,
    )
    return _xml(SUCCESS_REPLY)


async def refund_notify(request: web.Request) -> web.Response:
    body = await _body(request)
    if body is None:
        return _xml(fail_reply("body too large"), 413)
    settings = request.config_dict[SETTINGS]
    try:
        await refunds.settle_from_notify(
            body,
            api_key=settings.pay_api_key.get_secret_value(),
            appid=settings.wechat_appid,
            mch_id=settings.pay_mch_id,
            now=request.config_dict[CLOCK].now(),
        )
    except refunds.RefundNotifyRefused as exc:
        logger.warning("refund notify refused: %s", exc)
        return _xml(fail_reply(str(exc)))
    return _xml(SUCCESS_REPLY)


def developer(request: web.Request) -> Principal:
    """Anyone logged in, in development only: refused to everyone before the token is read."""
    if request.config_dict[SETTINGS].mode is not Mode.DEVELOPMENT:
        raise Forbidden(
            ErrorCode.SIMULATION_DISABLED, "simulated payments exist only in development"
        )
    return principal(request)


@endpoint(
    summary="Development only: pay an order as WeChat Pay would (signed notify to the real "
    "endpoint)",
    tags=("development",),
    response=SimulatedPayment,
    auth=developer,
    errors=(403, 404, 409),
)
async def simulate_payment(
    *, request: web.Request, principal: Principal, order_id: str, config: Resources
) -> SimulatedPayment:
    settings = config[SETTINGS]
    order = await orders.get_order_for(principal, order_id)
    body = await payments.simulated_notify(
        order=order,
        api_key=settings.pay_api_key.get_secret_value(),
        appid=settings.wechat_appid,
        mch_id=settings.pay_mch_id,
        transaction_id=f"SIM{secrets.token_hex(12)}",
        now=config[CLOCK].now(),
    )
    # Our own listening socket, not the Host header a client chose.
    host, port = (
        request.transport.get_extra_info("sockname")[:2]
        if request.transport
        else ("127.0.0.1", settings.port)
    )
    url = f"http://{host}:{port}/pay/wechat/notify"
    async with config[HTTP].post(
        url, data=body, headers={"Content-Type": "application/xml"}
    ) as resp:
        reply = await resp.text()
        status = resp.status
    return SimulatedPayment(order_id=str(order.id), notify_status=status, notify_reply=reply)


def setup(app: web.Application) -> None:
    app.router.add_post("/pay/wechat/notify", pay_notify)
    app.router.add_post("/pay/wechat/refund-notify", refund_notify)
    app.router.add_post("/api/v1/dev/orders/{order_id}/simulate-payment", simulate_payment)
