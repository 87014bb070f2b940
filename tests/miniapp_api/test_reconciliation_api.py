"""The operators' reconciliation endpoints: a day's run queued, read and resolved."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient

from models.user import Role
from qunshop.assembly.app import create_app
from qunshop.assembly.background import outbox_handlers
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from services import outbox
from tests.support.aftersale_world import paid_order
from tests.support.factories import auth, make_user
from tests.support.fake_wechat import FakeWeChat


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(tz=UTC).replace(microsecond=0))


@pytest.fixture
async def api(settings: Settings, clock: FrozenClock, start_client: Any) -> TestClient:
    return await start_client(create_app(settings, clock=clock, background=False))


async def test_an_operator_reruns_reads_and_resolves_a_day(
    api: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    order = await paid_order(settings, wechat, now=clock.now(), price=1234)
    (trade,) = wechat.trades.values()
    day = trade["time"].date()
    trade["total_fee"] = 1200  # WeChat Pay's bill says 12.00
    clock.set(datetime.combine(day + timedelta(days=1), time(11), tzinfo=ZoneInfo("Asia/Shanghai")))
    operator = auth(await make_user(Role.ADMIN), settings, clock.now())

    missing = await api.get(f"/api/v1/admin/reconciliation/{day.isoformat()}", headers=operator)
    assert missing.status == 404 and (await missing.json())["code"] == "bill_run_not_found"
    bad_day = await api.get("/api/v1/admin/reconciliation/yesterday", headers=operator)
    assert bad_day.status == 404

    queued = await api.post(f"/api/v1/admin/reconciliation/{day.isoformat()}/run", headers=operator)
    assert queued.status == 202 and (await queued.json())["queued"] is True
    await outbox.run_once(outbox_handlers(api.server.app), now=clock.now())

    runs = await (await api.get("/api/v1/admin/reconciliation", headers=operator)).json()
    assert [(r["bill_date"], r["differences"]) for r in runs["items"]] == [(day.isoformat(), 1)]
    detail = await (
        await api.get(f"/api/v1/admin/reconciliation/{day.isoformat()}", headers=operator)
    ).json()
    (item,) = detail["differences"]
    assert (item["kind"], item["out_trade_no"], item["bill_amount"], item["our_amount"]) == (
        "amount_mismatch",
        order.out_trade_no,
        1200,
        1234,
    )
    path = f"/api/v1/admin/reconciliation/differences/{item['id']}/resolve"
    resolved = await api.post(path, json={"note": "优惠券抵扣，已核对"}, headers=operator)
    assert resolved.status == 200 and (await resolved.json())["resolved_at"] is not None
    again = await api.post(path, json={"note": "again"}, headers=operator)
    assert again.status == 409 and (await again.json())["code"] == "bill_difference_resolved"
    still_open = await (
        await api.get(f"/api/v1/admin/reconciliation/{day.isoformat()}?open=true", headers=operator)
    ).json()
    assert still_open["differences"] == []
