"""A supplier's contact erases their account: what the supplier sells stops being sold.

Through the doors: Liu's supplier lists a basket (approved, live) and a second product (still
waiting); a leader runs a campaign of the basket; one neighbour pays a team seat, another
buys the basket outright and pays. Liu erases their account. Nobody can buy the basket, start
a team or join one any more (``sku_not_found``, ``campaign_not_active``); the listing still
waiting is withdrawn (Liu decided it, the decision row says so), so no approval brings it
back; the paid orders are untouched, row for row.
"""

from __future__ import annotations

from datetime import timedelta

from models.catalog import Product, Sku
from models.groupbuy import Campaign
from models.order import Order
from models.supply import ListingReview, ReviewDecision, ReviewStatus
from services.privacy_roles import WITHDRAWN
from tests.journeys.doors import Doors
from tests.journeys.test_journey_privacy import books
from tests.journeys.test_journey_privacy_roles import _an_approved_supplier
from tests.support.factories import auth, make_community, verified_identity

BASKET = {
    "title": "竹编果篮",
    "description": "手工编织",
    "category": "家居",
    "images": ["https://img.example.com/basket.jpg"],
    "skus": [{"name": "大号", "price": 3990, "cost": 2000, "stock": 50}],
}


async def test_an_erased_suppliers_products_stop_selling_paid_orders_go_on(doors: Doors) -> None:
    liu, operator, _ = await _an_approved_supplier(doors)
    as_liu = auth(liu, doors.settings, doors.clock.now())
    as_operator = auth(operator, doors.settings, doors.clock.now())
    status, listed = await doors.api("POST", "/api/v1/me/supplier/products", as_liu, json=BASKET)
    assert (status, listed["status"]) == (201, "pending"), listed
    status, _ = await doors.api(
        "POST", f"/api/v1/admin/reviews/{listed['id']}/approve", as_operator
    )
    assert status == 200
    waiting_body = {**BASKET, "title": "竹编菜篮"}
    status, waiting = await doors.api(
        "POST", "/api/v1/me/supplier/products", as_liu, json=waiting_body
    )
    assert (status, waiting["status"]) == (201, "pending"), waiting

    # A leader's campaign of the basket; a neighbour pays a seat, another buys it outright.
    community = await make_community()
    leader = await community.leader
    await verified_identity(leader)
    status, product = await doors.api("GET", f"/api/v1/products/{listed['product_id']}")
    sku_id = product["skus"][0]["id"]
    now = doors.clock.now()
    as_leader = auth(leader, doors.settings, now)
    deal = {
        "community_id": str(community.id),
        "sku_id": sku_id,
        "title": "果篮拼团",
        "group_price": 2990,
        "team_size": 2,
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=2)).isoformat(),
        "stock_cap": 10,
    }
    status, campaign = await doors.api("POST", "/api/v1/campaigns", as_leader, json=deal)
    assert status == 201, campaign
    wang = await doors.log_in("code-wang", "o-wang-mini")
    seat = await doors.start_team(campaign["id"], wang)
    await doors.prepay_and_pay(seat["order"]["id"], wang)
    zhao = await doors.log_in("code-zhao", "o-zhao-mini")
    buy = {"sku_id": sku_id, "community_id": str(community.id)}
    status, bought = await doors.api("POST", "/api/v1/orders", zhao, json=buy)
    assert status == 201, bought
    await doors.prepay_and_pay(bought["id"], zhao)
    paid = {
        str(o.id): (o.status, o.amount, o.paid_at)
        for o in await Order.filter(sku_id=sku_id, paid_at__isnull=False)
    }
    assert set(paid) == {seat["order"]["id"], bought["id"]}
    before = await books()

    status, _ = await doors.api("DELETE", "/api/v1/me", as_liu)
    assert status == 200

    # Nothing more of the basket is sold: not outright, not by a new team, not by a join.
    sun = await doors.log_in("code-sun", "o-sun-mini")
    status, refused = await doors.api("POST", "/api/v1/orders", sun, json=buy)
    assert (status, refused["code"]) == (404, "sku_not_found"), refused
    status, refused = await doors.api("POST", f"/api/v1/campaigns/{campaign['id']}/teams", sun)
    assert (status, refused["code"]) == (409, "campaign_not_active"), refused
    code = seat["team"]["code"]
    status, refused = await doors.api("POST", f"/api/v1/teams/{code}/join", sun)
    assert (status, refused["code"]) == (409, "campaign_not_active"), refused
    status, _ = await doors.api("GET", f"/api/v1/products/{listed['product_id']}")
    assert status == 404
    status, refused = await doors.api("POST", "/api/v1/campaigns", as_leader, json=deal)
    assert (status, refused["code"]) == (404, "sku_not_found"), refused
    assert not (await Product.get(id=listed["product_id"])).active
    assert (await Campaign.get(id=campaign["id"])).ends_at == doors.clock.now()

    # The listing still waiting is withdrawn, by Liu, and stays so.
    review = await ListingReview.get(id=waiting["id"])
    assert (review.status, review.reason, review.decided_by_id) == (
        ReviewStatus.REJECTED,
        WITHDRAWN,
        liu.id,
    )
    (logged,) = await ReviewDecision.filter(subject=f"review:{waiting['id']}")
    assert (logged.actor_id, logged.reason) == (liu.id, WITHDRAWN)
    status, refused = await doors.api(
        "POST", f"/api/v1/admin/reviews/{waiting['id']}/approve", as_operator
    )
    assert (status, refused["code"]) == (409, "review_decided"), refused
    assert not (await Product.get(id=waiting["product_id"])).active
    unreviewed = {**deal, "sku_id": str((await Sku.get(product_id=waiting["product_id"])).id)}
    status, refused = await doors.api("POST", "/api/v1/campaigns", as_leader, json=unreviewed)
    assert (status, refused["code"]) == (404, "sku_not_found"), refused

    # The paid orders are as they were, row for row; no other order was made.
    after = {
        str(o.id): (o.status, o.amount, o.paid_at)
        for o in await Order.filter(sku_id=sku_id, paid_at__isnull=False)
    }
    assert after == paid
    assert await Order.filter(sku_id=sku_id).count() == 2
    assert await books() == before
