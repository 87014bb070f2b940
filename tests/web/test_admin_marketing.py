"""The operator console's bargain and tier pages: forms that call the same verbs as the
admin API, audited."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from models.audit import AuditEntry
from models.bargain import Bargain, BargainOffer, BargainStatus
from models.tier import TierLevel, TierRules
from services import bargains
from services.auth import Principal
from tests.services.marketing_world import make_template
from tests.support.factories import make_sku, make_user
from tests.web.test_admin import _admin, _csrf, _post


async def test_an_operator_opens_and_closes_a_bargain_offer(web_client: TestClient) -> None:
    _, cookies = await _admin(web_client)
    sku = await make_sku(price=9900)
    html = await _post(
        web_client,
        cookies,
        "/admin/bargains",
        "/admin/bargains",
        sku_id=str(sku.id),
        floor_price="9.9",
        helpers_needed="5",
        hours="24",
        new_users_only="on",
    )
    assert "砍价商品已上架" in html and "底价 ¥9.90" in html and "仅限新人帮砍" in html
    offer = await BargainOffer.get()
    assert (offer.floor_price, offer.helpers_needed, offer.new_users_only) == (990, 5, True)
    shopper = await make_user()
    running = await bargains.start(
        principal=Principal(user_id=shopper.id, role=shopper.role),
        offer_id=str(offer.id),
        now=offer.created_at,
    )
    close = ("/admin/bargains/close", "/admin/bargains")
    html = await _post(web_client, cookies, *close, offer_id=str(offer.id))  # asked first
    assert "停止砍价「" in html and "正在进行的砍价立即结束" in html
    assert f'name="offer_id" value="{offer.id}"' in html and 'name="confirm"' in html
    assert (await BargainOffer.get()).active is True
    assert (await Bargain.get(id=running.bargain.id)).status is BargainStatus.OPEN
    html = await _post(web_client, cookies, *close, offer_id=str(offer.id), confirm="yes")
    assert "已停止" in html and (await BargainOffer.get()).active is False
    assert "进行中的砍价已结束并通知发起人" in html  # the console says what closing does
    assert (await Bargain.get(id=running.bargain.id)).status is BargainStatus.EXPIRED
    bad = await web_client.post(
        "/admin/bargains",
        data={
            "csrf_token": _csrf(html),
            "sku_id": str(sku.id),
            "floor_price": "99",  # no room for five cuts above it
            "helpers_needed": "5",
            "hours": "24",
        },
        headers={"Cookie": cookies},
    )
    assert bad.status == 422 and await BargainOffer.all().count() == 1
    actions = sorted(e.action for e in await AuditEntry.all())  # one frozen clock: same time
    assert actions == ["bargain_offer.close", "bargain_offer.open"]


async def test_an_operator_sets_the_tier_ladder(web_client: TestClient) -> None:
    _, cookies = await _admin(web_client)
    page = await (await web_client.get("/admin/tiers", headers={"Cookie": cookies})).text()
    assert 'name="rows" value="2"' in page
    html = await _post(
        web_client,
        cookies,
        "/admin/tiers",
        "/admin/tiers",
        rows="2",
        window_days="180",
        lower_mid_month="on",
        name_0="银卡",
        threshold_0="100",
        discount_bps_0="200",
        multiplier_0="120",
        name_1="金卡",
        threshold_1="500",
        discount_bps_1="500",
        multiplier_1="150",
        coupons_1="6f1c2a52-8c55-4e0f-9f4e-1f2a3b4c5d6e",
    )
    assert "会员等级已保存" in html and 'value="金卡"' in html
    levels = await TierLevel.all().order_by("threshold")
    assert [(lv.name, lv.threshold, lv.discount_bps) for lv in levels] == [
        ("银卡", 10000, 200),
        ("金卡", 50000, 500),
    ]
    assert levels[1].coupon_template_ids == ["6f1c2a52-8c55-4e0f-9f4e-1f2a3b4c5d6e"]
    rules = await TierRules.get()
    assert (rules.window_days, rules.lower_mid_month) == (180, True)
    entry = await AuditEntry.get(action="tiers.ladder")
    assert entry.before["levels"] == [] and len(entry.after["levels"]) == 2


async def test_the_ids_these_forms_ask_for_are_on_the_pages_they_name(
    web_client: TestClient,
) -> None:
    """The bargain form asks for a SKU 编号 "见「商品库存」", the tier form for 券模板编号:
    both pages show them, and the forms link there."""
    _, cookies = await _admin(web_client)
    sku = await make_sku(price=9900)
    template = await make_template()

    async def read(path: str) -> str:
        return await (await web_client.get(path, headers={"Cookie": cookies})).text()

    assert 'href="/admin/products"' in await read("/admin/bargains")
    assert f'<span class="token" data-sku-id>{sku.id}</span>' in await read("/admin/products")
    assert 'href="/admin/coupons"' in await read("/admin/tiers")
    shown = f'<span class="token" data-template-id>{template.id}</span>'
    assert shown in await read("/admin/coupons")
