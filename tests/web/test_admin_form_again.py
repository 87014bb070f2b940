"""A form on the operator console filled wrongly comes back as it was typed, with what to fix
above it (web/page.py ``again``), not on an error page that loses it."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from models.bargain import BargainOffer
from models.coupon import CouponTemplate
from models.growth import GrowthRules
from tests.support.factories import make_sku
from tests.web.test_admin import _admin, _csrf


def _problem(html: str) -> str:
    found = re.search(r'role="alert" data-problem>(.*?)</div>', html, flags=re.S)
    return re.sub(r"<[^>]+>", "", found.group(1)) if found else ""


async def _send(client: TestClient, cookies: str, path: str, **fields: str) -> tuple[int, str]:
    form = await (await client.get(path, headers={"Cookie": cookies})).text()
    answer = await client.post(
        path, data={"csrf_token": _csrf(form), **fields}, headers={"Cookie": cookies}
    )
    return answer.status, await answer.text()


async def test_a_coupon_with_150_percent_off_comes_back_with_what_was_typed(
    web_client: TestClient,
) -> None:
    _, cookies = await _admin(web_client)
    typed = {"name": "周末折扣券", "kind": "percent", "threshold": "30", "percent_off": "150"}
    typed |= {"max_off": "20", "stock_total": "300", "per_user_limit": "2", "valid_days": "14"}
    status, html = await _send(web_client, cookies, "/admin/coupons", **typed, new_user_only="on")
    assert status == 400 and "<h1>新建优惠券</h1>" in html  # the form, not an error page
    assert _problem(html) == "填写的内容有误。 减百分之几：请填写 1 到 99 之间的整数"
    for name, value in typed.items():
        if name != "kind":
            assert re.search(f'name="{name}"[^>]* value="{value}"', html), name
    assert '<option value="percent" selected>' in html
    assert 'name="new_user_only" checked' in html
    assert await CouponTemplate.all().count() == 0
    # Fixed, it is made, and the form is empty again.
    status, html = await _send(
        web_client, cookies, "/admin/coupons", **typed | {"percent_off": "15"}
    )
    assert status == 200 and "已创建：周末折扣券" in html and not _problem(html)
    assert 'name="name" maxlength="64" value=""' in html
    assert (await CouponTemplate.get()).percent_off == 15


async def test_the_bargain_and_growth_forms_come_back_too(web_client: TestClient) -> None:
    _, cookies = await _admin(web_client)
    sku = await make_sku(price=9900)
    status, html = await _send(
        web_client,
        cookies,
        "/admin/bargains",
        sku_id=str(sku.id),
        floor_price="99",  # no room for five cuts above it: the service refuses
        helpers_needed="5",
        hours="12",
    )
    assert status == 422 and "<h2>上架砍价商品</h2>" in html and _problem(html)
    assert f'<option value="{sku.id}" selected>' in html and 'name="hours" value="12"' in html
    assert await BargainOffer.all().count() == 0

    status, html = await _send(
        web_client,
        cookies,
        "/admin/growth",
        leader_share_bps="12.345",
        invite1_bps="3",
        invite2_bps="1",
        binding_scope="new_users",
        binding_days="30",
    )
    assert status == 400 and "团长分成：请填写 0 到 100 之间的百分数" in _problem(html)
    assert 'name="leader_share_bps" value="12.345"' in html
    assert (
        '<option value="new_users" selected>' in html and 'name="binding_days" value="30"' in html
    )
    assert await GrowthRules.all().count() == 0
