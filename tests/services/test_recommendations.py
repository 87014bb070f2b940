"""Recommendations by the clock: "bought together" counts distinct buyers within one
community (pairs of a single buyer are not shown), "popular" ranks paid orders; the API and
the H5 campaign page show them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from models.catalog import Product, Sku
from models.order import Order, OrderStatus
from qunshop.config import Settings
from qunshop.keys import CHAT_TEMPLATES, REDIS
from scheduler.jobs import Jobs
from tests.support.factories import make_campaign, make_community, make_user

_n = itertools.count(1)


async def product(community: Any, title: str) -> Sku:
    made = await Product.create(
        title=title, category="fresh", community=community, created_by_id=community.leader_id
    )
    return await Sku.create(product=made, name="默认", price=1000, stock=0)


async def buy(user: Any, community: Any, sku: Sku, *, refunded: bool = False) -> None:
    await Order.create(
        out_trade_no=f"QSREC{next(_n):06d}",
        kind="direct",
        user=user,
        community=community,
        sku=sku,
        unit_price=1000,
        amount=1000,
        paid_at=datetime.now(tz=UTC) - timedelta(days=3),
        status=OrderStatus.REFUNDED if refunded else OrderStatus.PICKED_UP,
    )


async def test_bought_together_and_popular_stay_in_their_community(
    client: TestClient, settings: Settings
) -> None:
    here, there = await make_community(name="这里"), await make_community(name="那里")
    campaign = await make_campaign(here)
    orange = await Sku.get(id=campaign.sku_id).prefetch_related("product")
    apple, pear, tea = [await product(here, t) for t in ("苹果", "梨", "茶")]
    far = await product(there, "远方的米")
    people = [await make_user() for _ in range(4)]
    for person in people[:3]:  # three people bought oranges and apples
        await buy(person, here, orange)
        await buy(person, here, apple)
    await buy(people[0], here, pear)  # one person's pear: no pair to show
    await buy(people[3], here, orange)
    await buy(people[3], here, tea, refunded=True)  # refunded: not bought
    for person in people[:3]:  # the same people buy elsewhere too
        await buy(person, there, far)

    app = client.server.app
    jobs = Jobs(settings=settings, templates=app[CHAT_TEMPLATES], redis=app[REDIS])
    await jobs.recommend(datetime.now(tz=UTC))

    together = await client.get(f"/api/v1/products/{orange.product.id}/bought-together")
    assert together.status == 200
    assert [(p["title"], p["score"]) for p in (await together.json())["items"]] == [("苹果", 3)]
    popular = await (await client.get(f"/api/v1/communities/{here.id}/popular")).json()
    assert [(p["title"], p["score"]) for p in popular["items"]] == [
        ("测试商品", 4),
        ("苹果", 3),
        ("梨", 1),
    ]
    far_popular = await (await client.get(f"/api/v1/communities/{there.id}/popular")).json()
    assert [p["title"] for p in far_popular["items"]] == ["远方的米"]

    page = await client.get(f"/h5/campaigns/{campaign.id}")
    assert page.status == 200
    html = await page.text()
    assert 'data-recommend="together"' in html and "苹果" in html
    assert f'href="/h5/products/{apple.product.id}"' in html  # each pick opens its product
    assert "远方的米" not in html

    missing = await client.get(
        "/api/v1/products/00000000-0000-4000-8000-000000000000/bought-together"
    )
    assert missing.status == 404
