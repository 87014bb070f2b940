"""A refund whose notify WeChat Pay never delivered: the operator sees it on /admin, the clock
asks WeChat Pay (/pay/refundquery) and settles it once, as the notify would have."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web
from aiohttp.test_utils import TestClient

from models.order import Order, OrderStatus
from models.outbox import OutboxMessage
from models.payment import Refund, RefundStatus
from qunshop.assembly.background import outbox_handlers
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from qunshop.keys import CHAT_TEMPLATES, REDIS
from scheduler.jobs import Jobs
from services import outbox, refunds
from tests.support.aftersale_world import paid_order
from tests.support.fake_wechat import FakeWeChat
from tests.web.test_aftercare_pages import _admin_session


async def test_a_refund_whose_notify_was_lost_is_asked_after_and_settled_once(
    web_client: TestClient,
    web_app: web.Application,
    settings: Settings,
    wechat: FakeWeChat,
    clock: FrozenClock,
) -> None:
    order = await paid_order(settings, wechat, now=clock.now())
    refund = await refunds.refund_part(
        order_id=order.id,
        amount=order.amount,
        reason="after_sale",
        cause="after_sale:lost-notify",
        now=clock.now(),
    )
    handlers = outbox_handlers(web_app)

    async def send() -> None:
        while await outbox.run_once(handlers, now=clock.now()):
            pass

    await send()
    assert (await Refund.get(id=refund.id)).status is RefundStatus.SUBMITTED
    cookies = await _admin_session(web_client)
    home = await (await web_client.get("/admin", headers={"Cookie": cookies})).text()
    assert refund.out_refund_no not in home  # just submitted: the notify may yet come

    # The notify never comes. Half an hour on, the operator sees the refund waiting...
    clock.advance(timedelta(minutes=31))
    home = await (await web_client.get("/admin", headers={"Cookie": cookies})).text()
    assert "迟迟没有到账" in home and refund.out_refund_no in home
    assert "没有等你处理的事" not in home

    # ...and the clock asks WeChat Pay, which is still processing it: nothing changes.
    jobs = Jobs(settings=settings, templates=web_app[CHAT_TEMPLATES], redis=web_app[REDIS])
    wechat.refund_statuses[refund.out_refund_no] = "PROCESSING"
    await jobs.sweep(clock.now())
    await send()
    assert len(wechat.calls_to("/pay/refundquery")) == 1
    assert (await Refund.get(id=refund.id)).status is RefundStatus.SUBMITTED
    await jobs.sweep(clock.now())  # the same half hour: not asked twice
    await send()
    assert len(wechat.calls_to("/pay/refundquery")) == 1

    # Next half hour WeChat Pay says it is done: settled as the notify would have.
    del wechat.refund_statuses[refund.out_refund_no]
    clock.advance(timedelta(minutes=31))
    await jobs.sweep(clock.now())
    await send()
    settled = await Refund.get(id=refund.id)
    assert settled.status is RefundStatus.SUCCEEDED and settled.refund_id
    assert (await Order.get(id=order.id)).status is OrderStatus.REFUNDED
    assert await OutboxMessage.filter(dedupe_key=f"news:refunded:{refund.id}").count() == 1
    home = await (await web_client.get("/admin", headers={"Cookie": cookies})).text()
    assert refund.out_refund_no not in home

    # The notify arrives after all: a repeat, nothing moves twice.
    body = wechat.refund_done(refund.out_refund_no)
    resp = await web_client.post("/pay/wechat/refund-notify", data=body)
    assert resp.status == 200 and "SUCCESS" in await resp.text()
    clock.advance(timedelta(minutes=31))
    await jobs.sweep(clock.now())
    await send()
    assert len(wechat.calls_to("/pay/refundquery")) == 2
    assert await OutboxMessage.filter(dedupe_key=f"news:refunded:{refund.id}").count() == 1
