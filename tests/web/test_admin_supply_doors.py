"""Operator doors: a supplier's qualifications approved or rejected on a page, and a past
day's reconciliation started with a button."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient

from models.audit import AuditEntry
from models.outbox import OutboxMessage
from models.supply import ReviewStatus, Supplier
from models.user import Role
from qunshop.clock import FrozenClock
from services import listings, reconciliation
from tests.support.factories import auth, make_user
from tests.support.growth import now, principal_of
from tests.web.test_admin import _admin, _csrf, _post
from tests.web.test_console import _login, _say


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

    # Both decisions are in the audit log, with who made them, and on the audit page.
    entries = await AuditEntry.all().order_by("at", "action")
    assert [(e.action, e.target, e.actor_name) for e in entries] == [
        ("supplier.approve", f"supplier:{orchard.id}", "运营小张"),
        ("supplier.reject", f"supplier:{farm.id}", "运营小张"),
    ]
    assert entries[1].after == {"status": "rejected", "reason": "营业执照过期"}
    audit = await (await web_client.get("/admin/audit", headers={"Cookie": cookies})).text()
    assert "通过供应商" in audit and "驳回供应商" in audit and "营业执照过期" in audit


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
    # A mistyped date is the form's to fix, not a page that does not exist.
    assert bad.status == 400 and "text/html" in bad.content_type
    assert "日期：请按 2026-12-07 这样填写" in await bad.text()
    early = await web_client.post(
        "/admin/reconciliation/run",
        data={"csrf_token": _csrf(await form.text()), "date": "2099-01-01"},
        headers={"Cookie": cookies},
    )
    assert early.status == 422 and "这一天还没过完，账单要到第二天才有。" in await early.text()


async def test_an_admin_links_their_chat_with_a_code_then_reaches_the_console(
    web_client: TestClient, settings
) -> None:
    """The README's step: an admin's chat sender is a stranger until 认证 <code> links it."""
    boss = await make_user(Role.ADMIN, nickname="老板")
    assert "没听懂" in await _say(web_client, "后台", "boss")
    issued = await web_client.post("/api/v1/me/leader/chat-code", headers=auth(boss, settings))
    assert issued.status == 201, await issued.text()
    await _say(web_client, f"认证 {(await issued.json())['code']}", "boss")
    link = re.search(r"http\S+/console/login\?token=\S+", await _say(web_client, "后台", "boss"))
    assert link and await _login(web_client, link.group(0), home="/admin")
