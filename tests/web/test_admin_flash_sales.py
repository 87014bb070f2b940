"""Operators see every community's flash sales (running, upcoming, ended, with price, stock
left, units sold and the per-person limit) and stop one, asked once more first."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient

from models.activity import FlashSale
from models.audit import AuditEntry
from models.catalog import Sku
from models.order import Order
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from qunshop.keys import REDIS
from services import payments
from tests.services.flash_world import buy_url, cancel_sale, place_sale, start_sale
from tests.support.factories import auth, make_community, make_sku, make_user
from tests.web.test_admin import _admin, _csrf

PAGE = "/admin/flash-sales"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))


async def _pay(settings: Settings, order: Order, now: datetime) -> None:
    key = settings.pay_api_key.get_secret_value()
    ids = {"appid": settings.wechat_appid, "mch_id": settings.pay_mch_id}
    body = await payments.simulated_notify(
        order=order, api_key=key, transaction_id=f"42{order.id.hex[:20]}", now=now, **ids
    )
    assert (await payments.handle_notify(body, api_key=key, now=now, **ids)).honoured


def _section(page: str, state: str) -> str:
    return re.search(rf'data-state="{state}">(.*?)</section>', page, flags=re.S).group(1)


async def test_an_operator_sees_the_flash_sales_and_stops_a_running_one(
    web_client: TestClient, settings: Settings, clock: FrozenClock
) -> None:
    _, cookies = await _admin(web_client)
    running = await start_sale(clock, stock=5, limit=2)  # started, 50 units left on its SKU
    payer, holder = await make_user(), await make_user()
    bought = await web_client.post(
        buy_url(running), json={"quantity": 2}, headers=auth(payer, settings)
    )
    assert bought.status == 201, await bought.text()
    await _pay(settings, await Order.get(id=(await bought.json())["id"]), clock.now())
    held = await web_client.post(buy_url(running), json={}, headers=auth(holder, settings))
    assert held.status == 201  # unpaid: taken from the stock, not sold
    later_community = await make_community(name="幸福里")
    later = await place_sale(
        later_community,
        await make_sku(later_community),
        clock,
        stock=3,
        limit=1,
        starts_in=timedelta(hours=2),
    )
    gone = await start_sale(clock, stock=4, limit=1)
    await cancel_sale(gone, clock, web_client.app[REDIS])

    async def get(path: str) -> str:
        response = await web_client.get(path, headers={"Cookie": cookies})
        assert response.status == 200, path
        return await response.text()

    page = await get(PAGE)
    assert f'href="{PAGE}"' in page  # in the console's navigation
    now_selling = _section(page, "running")
    assert str(running.id) in now_selling and str(later.id) not in now_selling
    row = re.search(rf'<tr data-sale="{running.id}">(.*?)</tr>', now_selling, flags=re.S).group(1)
    cells = [
        re.sub(r"<[^>]+>", " ", c).split()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
    ]
    assert cells[2] == ["¥9.90"] and cells[3] == ["2", "/", "5"] and cells[4] == ["2"]
    assert cells[5] == ["2"] and "停止" in row
    assert str(later.id) in _section(page, "upcoming") and "幸福里" in _section(page, "upcoming")
    ended = _section(page, "ended")
    assert str(gone.id) in ended and "（已停止）" in ended and "停止</button>" not in ended

    # Stopping asks first; nothing changes until it is confirmed.
    form = {"csrf_token": _csrf(page), "sale_id": str(running.id)}
    asked = await web_client.post(f"{PAGE}/stop", data=form, headers={"Cookie": cookies})
    text = await asked.text()
    assert asked.status == 200 and "停止秒杀「" in text and 'name="confirm" value="yes"' in text
    assert (await FlashSale.get(id=running.id)).stock_left == 2
    done = await web_client.post(
        f"{PAGE}/stop", data={**form, "confirm": "yes"}, headers={"Cookie": cookies}
    )
    assert done.status == 200 and "已停止秒杀" in await done.text()
    assert (await FlashSale.get(id=running.id)).stock_left == 0
    assert (await Sku.get(id=running.sku_id)).stock == 50 + 2  # the unsold units back
    entry = await AuditEntry.get(action="flash_sale.stop")
    assert entry.target == f"flash_sale:{running.id}" and entry.before["stock_left"] == 2
    refused = await web_client.post(buy_url(running), json={}, headers=auth(holder, settings))
    assert refused.status == 409  # the gate is shut too
    page = await get(PAGE)
    assert str(running.id) in _section(page, "ended")
    log = await get("/admin/audit")
    assert "停止秒杀" in log and "秒杀 测试商品" in log
