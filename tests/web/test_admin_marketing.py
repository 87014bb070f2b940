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
    gift = await make_template(name="金卡月礼")
    page = await (await web_client.get("/admin/tiers", headers={"Cookie": cookies})).text()
    assert 'name="rows" value="2"' in page
    # The monthly coupons are chosen by name, one checkbox per coupon, on every level's row.
    box = f'<input type="checkbox" name="coupon_1_0" value="{gift.id}"> 金卡月礼'
    assert box in page and "券模板编号" not in page
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
        discount_bps_0="2",
        multiplier_0="120",
        name_1="金卡",
        threshold_1="500",
        discount_bps_1="5",
        multiplier_1="150",
        coupon_1_0=str(gift.id),
    )
    assert "会员等级已保存" in html and 'value="金卡"' in html
    assert f'name="coupon_1_0" value="{gift.id}" checked> 金卡月礼' in html
    assert 'name="discount_bps_1" value="5"' in html  # 500 万分之一 shown as 5 (%)
    levels = await TierLevel.all().order_by("threshold")
    assert [(lv.name, lv.threshold, lv.discount_bps) for lv in levels] == [
        ("银卡", 10000, 200),
        ("金卡", 50000, 500),
    ]
    assert levels[1].coupon_template_ids == [str(gift.id)]
    rules = await TierRules.get()
    assert (rules.window_days, rules.lower_mid_month) == (180, True)
    entry = await AuditEntry.get(action="tiers.ladder")
    assert entry.before["levels"] == [] and len(entry.after["levels"]) == 2


async def test_the_bargain_form_offers_the_skus_by_name_and_coupons_show_no_ids(
    web_client: TestClient,
) -> None:
    """The bargain form offers the products' SKUs to choose from (no id copied by hand); the
    coupon list shows no template id, which no form asks for any more."""
    _, cookies = await _admin(web_client)
    sku = await make_sku(price=9900)
    template = await make_template()

    async def read(path: str) -> str:
        return await (await web_client.get(path, headers={"Cookie": cookies})).text()

    form = await read("/admin/bargains")
    option = f'<option value="{sku.id}">测试商品（原价 ¥99.00，库存 100）</option>'  # 默认 unsaid
    assert '<select id="sku" name="sku_id" required>' in form and option in form
    assert "SKU 编号" not in form
    coupons = await read("/admin/coupons")
    assert template.name in coupons and "券模板编号" not in coupons
    assert f">{template.id}<" not in coupons  # only in the 停发 form's hidden field
