"""Operator doors: a supplier's qualifications approved or rejected on a page, and a past
day's reconciliation started with a button."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient

from models.outbox import OutboxMessage
from models.supply import ReviewStatus, Supplier
from qunshop.clock import FrozenClock
from services import listings, reconciliation
from tests.support.factories import make_user
from tests.support.growth import now, principal_of
from tests.web.test_admin import _admin, _csrf, _post


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(tz=UTC))


async def _apply(name: str) -> Supplier:
    return await listings.apply(
        principal=principal_of(await make_user()),
        name=name,
        contact_name="刘",
        contact_phone="13800138000",
        business_licence="91360700MA35XXXX1A",
        food_licence=None,
        now=now(),
    )


async def test_an_operator_approves_and_rejects_suppliers(web_client: TestClient) -> None:
    _, cookies = await _admin(web_client)
    orchard = await _apply("果园")
    farm = await _apply("农场")
    page = await web_client.get("/admin/suppliers", headers={"Cookie": cookies})
    html = await page.text()
    assert page.status == 200 and "待审核（2）" in html and "91360700MA35XXXX1A" in html
    assert 'href="/admin/suppliers"' in html  # the nav's door
    html = await _post(
        web_client,
        cookies,
        "/admin/suppliers/approve",
        "/admin/suppliers",
        supplier_id=str(orchard.id),
    )
    assert "已通过：果园" in html and "待审核（1）" in html
    refused = await web_client.post(
        "/admin/suppliers/reject",
        data={"csrf_token": _csrf(html), "supplier_id": str(farm.id), "reason": ""},
        headers={"Cookie": cookies},
    )
    assert refused.status == 422  # a rejection says why
    html = await _post(
        web_client,
        cookies,
        "/admin/suppliers/reject",
        "/admin/suppliers",
        supplier_id=str(farm.id),
        reason="营业执照过期",
    )
    assert "已驳回：农场" in html
    assert (await Supplier.get(id=orchard.id)).status is ReviewStatus.APPROVED
    rejected = await web_client.get("/admin/suppliers?status=rejected", headers={"Cookie": cookies})
    assert "理由：营业执照过期" in await rejected.text()


async def test_an_operator_runs_a_past_days_reconciliation(web_client: TestClient) -> None:
    _, cookies = await _admin(web_client)
    html = await _post(
        web_client, cookies, "/admin/reconciliation/run", "/admin/reconciliation", date="2026-11-30"
    )
    assert "已开始对账：2026-11-30" in html
    (queued,) = await OutboxMessage.filter(kind=reconciliation.KIND)
    assert queued.payload["bill_date"] == "2026-11-30"
    form = await web_client.get("/admin/reconciliation", headers={"Cookie": cookies})
    bad = await web_client.post(
        "/admin/reconciliation/run",
        data={"csrf_token": _csrf(await form.text()), "date": "yesterday"},
        headers={"Cookie": cookies},
    )
    assert bad.status == 404 and "text/html" in bad.content_type
