"""Supply pages: the leader's batches with the pick list, the operators' review queue (a
listing approved through the form goes live) and the delivery day's route sheet."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient

from models.catalog import Product
from models.chat import ChatIdentity
from models.delivery import DeliveryPlan
from models.user import User
from qunshop.chat import Platform
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from services import batches, listings
from tests.support.factories import make_community, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.support.growth import now, paid_order, principal_of
from tests.web.admin_world import operator
from tests.web.test_console import _login, _say


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(tz=UTC))


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def test_batches_review_queue_and_delivery_day_pages(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    community = await make_community(name="幸福里社区")
    leader = await User.get(id=community.leader_id)
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id="liu", user=leader)
    buyer = await make_user(nickname="小李")
    await paid_order(settings, wechat, buyer, community)
    await batches.set_plan(
        principal=principal_of(leader),
        community_id=str(community.id),
        cutoff="20:00",
        home_delivery=False,
        delivery_fee=0,
        now=now(),
    )
    plan = await DeliveryPlan.get(community_id=community.id)
    assert plan.next_cutoff_at is not None
    (batch,) = await batches.cut_due(now=plan.next_cutoff_at)

    # The leader's batches page: the pick list of the batch on its way.
    link = re.search(r"http\S+/console/login\?token=\S+", await _say(web_client, "后台", "liu"))
    cookies = await _login(web_client, link.group(0))
    page = await web_client.get("/console/batches", headers={"Cookie": cookies})
    html = await page.text()
    assert page.status == 200 and "拣货单 · 幸福里社区" in html and "小李×1" in html
    assert f'data-batch="{batch.id}"' in html and "配送中" in html

    # A supplier's listing waits; the operator approves it on the review page.
    account = await make_user()
    supplier = await listings.apply(
        principal=principal_of(account),
        name="果园",
        contact_name="刘",
        contact_phone="13800138000",
        business_licence="91360700MA35XXXX1A",
        food_licence=None,
        now=now(),
    )
    ops = await operator()
    await listings.decide_supplier(
        principal=principal_of(ops),
        supplier_id=str(supplier.id),
        approve=True,
        reason="",
        now=now(),
    )
    review = await listings.submit_product(
        principal=principal_of(account),
        title="竹编果篮",
        description="",
        category="家居",
        images=["https://img.example.com/basket.jpg"],
        skus=[listings.SkuDraft("大号", 3900)],
        now=now(),
    )
    link = re.search(r"http\S+/console/login\?token=\S+", await _say(web_client, "后台", "ops"))
    admin_cookies = await _login(web_client, link.group(0), home="/admin")
    queue = await web_client.get("/admin/reviews", headers={"Cookie": admin_cookies})
    html = await queue.text()
    assert queue.status == 200 and f'data-review="{review.id}"' in html
    assert "新商品 · 竹编果篮" in html and "供应商：果园" in html and "大号 ¥39.00" in html
    assert 'src="https://img.example.com/basket.jpg"' in html and str(review.product_id) not in html
    approved = await web_client.post(
        "/admin/reviews/approve",
        data={"csrf_token": _csrf(html), "review_id": str(review.id)},
        headers={"Cookie": admin_cookies},
    )
    assert approved.status == 200 and "已通过：竹编果篮" in await approved.text()
    assert (await Product.get(id=review.product_id)).active

    # The delivery day: the purchasing totals and the route stop of the batch.
    day = await web_client.get(
        f"/admin/deliveries?date={batch.delivery_date}", headers={"Cookie": admin_cookies}
    )
    html = await day.text()
    assert day.status == 200 and "自营 · 1 件" in html and f'data-batch="{batch.id}"' in html
    refused = await web_client.get("/admin/reviews", headers={"Cookie": cookies})
    assert refused.status == 403


async def test_the_delivery_day_is_tomorrow_in_the_shops_time_zone(
    web_client: TestClient, clock: FrozenClock
) -> None:
    """At 01:00 in Shanghai it is still the day before in UTC: the page opens on the day after
    Shanghai's today, the day a batch cut today is delivered."""
    clock.set(datetime(2026, 12, 6, 17, 0, tzinfo=UTC))  # 2026-12-07 01:00 in Shanghai
    await operator()
    link = re.search(r"http\S+/console/login\?token=\S+", await _say(web_client, "后台", "ops"))
    cookies = await _login(web_client, link.group(0), home="/admin")
    page = await web_client.get("/admin/deliveries", headers={"Cookie": cookies})
    assert page.status == 200 and "配送日 2026-12-08" in await page.text()
