"""The operator console's coupons over HTTP: an operator makes a coupon and stops it; both
changes are audited, and a shopper can claim it until it is stopped."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from models.audit import AuditEntry
from models.coupon import CouponKind, CouponTemplate
from tests.web.test_admin import _admin, _post


async def test_an_operator_makes_a_coupon_and_stops_it(web_client: TestClient) -> None:
    _, cookies = await _admin(web_client)
    html = await _post(
        web_client,
        cookies,
        "/admin/coupons",
        "/admin/coupons",
        name="周末满30减5",
        kind="amount",
        threshold="30",
        amount_off="5",
        stock_total="200",
        per_user_limit="1",
        valid_days="3",
    )
    assert "已创建：周末满30减5" in html and "剩 200 / 200 张" in html
    template = await CouponTemplate.get(name="周末满30减5")
    assert (template.kind, template.threshold, template.amount_off) == (
        CouponKind.AMOUNT,
        3000,
        500,
    )
    listed = await (await web_client.get("/api/v1/coupon-templates")).json()
    assert [t["name"] for t in listed["items"]] == ["周末满30减5"]

    close = ("/admin/coupons/close", "/admin/coupons")
    html = await _post(web_client, cookies, *close, template_id=str(template.id))  # asked first
    assert "停发「周末满30减5」？" in html and "已经领到的券照常可用" in html
    assert (await CouponTemplate.get(id=template.id)).active is True
    html = await _post(web_client, cookies, *close, template_id=str(template.id), confirm="yes")
    assert "已停发：周末满30减5" in html and "（已停发）" in html
    assert (await web_client.get("/api/v1/coupon-templates")).status == 200
    assert (await (await web_client.get("/api/v1/coupon-templates")).json())["items"] == []
    actions = await AuditEntry.filter(target=f"coupon_template:{template.id}").values_list(
        "action", flat=True
    )
    assert sorted(actions) == ["coupon_template.close", "coupon_template.create"]


async def test_a_bad_form_is_refused_and_makes_nothing(web_client: TestClient) -> None:
    _, cookies = await _admin(web_client)
    form = await web_client.get("/admin/coupons", headers={"Cookie": cookies})
    token = re.search(r'name="csrf_token" value="([^"]+)"', await form.text())
    response = await web_client.post(
        "/admin/coupons",
        data={
            "csrf_token": token.group(1),
            "name": "x",
            "kind": "amount",
            "amount_off": "abc",
            "stock_total": "1",
            "valid_days": "1",
        },
        headers={"Cookie": cookies},
    )
    assert response.status == 400
    page = await response.text()
    assert "减多少：请填写金额（元）" in page  # which field to fix, as the form labels it
    assert await CouponTemplate.all().count() == 0


async def test_a_number_python_calls_a_digit_but_cannot_read_is_refused(
    web_client: TestClient,
) -> None:
    """``²`` passes str.isdigit but not int(): the form says so (400), not a 500."""
    _, cookies = await _admin(web_client)
    form = await web_client.get("/admin/coupons", headers={"Cookie": cookies})
    token = re.search(r'name="csrf_token" value="([^"]+)"', await form.text())
    response = await web_client.post(
        "/admin/coupons",
        data={
            "csrf_token": token.group(1),
            "name": "x",
            "kind": "amount",
            "amount_off": "5",
            "stock_total": "²",
            "valid_days": "1",
        },
        headers={"Cookie": cookies},
    )
    assert response.status == 400
    assert await CouponTemplate.all().count() == 0
