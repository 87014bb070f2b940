"""A supplier from application to a live product, and the review that stands between.

The supplier and the operator use the API; the shopper buys what went live. The rules
refuse what they can on their own, with the reason the supplier reads; what passes waits
for the operator, whose decisions are all recorded with their reasons.
"""

from __future__ import annotations

from datetime import timedelta

from models.supply import ReviewDecision
from models.user import Role
from tests.journeys.doors import Doors
from tests.support.factories import auth, make_community, make_user

QUALIFIED = {
    "name": "赣南果园合作社",
    "contact_name": "刘经理",
    "contact_phone": "13800138000",
    "business_licence": "91360700MA35XXXX1A",
}
ORANGE = {
    "title": "赣南脐橙",
    "description": "当季现摘",
    "category": "水果",
    "images": ["https://img.example.com/orange.jpg"],
    "skus": [{"name": "5斤装", "price": 2990, "cost": 1800, "stock": 50}],
}


async def test_a_supplier_is_reviewed_lists_a_product_and_reprices_it(doors: Doors) -> None:
    supplier = await make_user(nickname="刘经理")
    operator = await make_user(Role.ADMIN, nickname="运营")
    as_supplier = auth(supplier, doors.settings, doors.clock.now())
    as_operator = auth(operator, doors.settings, doors.clock.now())

    # Not a supplier yet: nothing to list.
    status, refused = await doors.api(
        "POST", "/api/v1/me/supplier/products", as_supplier, json=ORANGE
    )
    assert (status, refused["code"]) == (404, "supplier_not_found")

    # The application, without a food licence; the operator approves the qualifications.
    status, applied = await doors.api("POST", "/api/v1/suppliers", as_supplier, json=QUALIFIED)
    assert (status, applied["status"]) == (201, "pending"), applied
    status, refused = await doors.api(
        "POST", "/api/v1/me/supplier/products", as_supplier, json=ORANGE
    )
    assert (status, refused["code"]) == (403, "supplier_not_approved")
    status, pending = await doors.api("GET", "/api/v1/admin/suppliers?status=pending", as_operator)
    assert [s["id"] for s in pending["items"]] == [applied["id"]]
    status, approved = await doors.api(
        "POST", f"/api/v1/admin/suppliers/{applied['id']}/approve", as_operator
    )
    assert (status, approved["status"]) == (200, "approved"), approved

    # The rules refuse fruit without a food licence, a banned word and a missing image.
    bad = {**ORANGE, "title": "全国第一赣南脐橙", "images": []}
    status, review = await doors.api("POST", "/api/v1/me/supplier/products", as_supplier, json=bad)
    assert (status, review["status"]) == (201, "rejected"), review
    assert review["flags"] == ["含违禁词「第一」", "缺少商品图片", "类目「水果」需要食品经营许可证"]
    assert "缺少商品图片" in review["reason"]

    # A clean listing of a non-food category goes to the manual queue, hidden until approved.
    basket = {**ORANGE, "title": "竹编果篮", "category": "家居"}
    status, review = await doors.api(
        "POST", "/api/v1/me/supplier/products", as_supplier, json=basket
    )
    assert (status, review["status"]) == (201, "pending"), review
    community = await make_community()
    status, page = await doors.api("GET", f"/api/v1/products/{review['product_id']}")
    assert status == 404  # not live
    status, queue = await doors.api("GET", "/api/v1/admin/reviews?status=pending", as_operator)
    assert [r["id"] for r in queue["items"]] == [review["id"]]
    status, refused = await doors.api(
        "POST", f"/api/v1/admin/reviews/{review['id']}/reject", as_operator, json={"reason": " "}
    )
    assert (status, refused["code"]) == (422, "review_reason_required")
    status, decided = await doors.api(
        "POST", f"/api/v1/admin/reviews/{review['id']}/approve", as_operator
    )
    assert (status, decided["status"]) == (200, "approved")
    status, again = await doors.api(
        "POST", f"/api/v1/admin/reviews/{review['id']}/reject", as_operator, json={"reason": "x"}
    )
    assert (status, again["code"]) == (409, "review_decided")

    # Live: a shopper sees it and buys it.
    status, product = await doors.api("GET", f"/api/v1/products/{review['product_id']}")
    assert status == 200 and product["title"] == "竹编果篮", product
    sku_id = product["skus"][0]["id"]
    shopper = await doors.log_in("code-buyer", "o-mini-buyer")
    status, order = await doors.api(
        "POST",
        "/api/v1/orders",
        shopper,
        json={"sku_id": sku_id, "community_id": str(community.id)},
    )
    assert (status, order["amount"]) == (201, 2990), order

    # Price changes: far above the last price is refused; a fair one waits, then holds.
    url = f"/api/v1/me/supplier/skus/{sku_id}/price"
    status, steep = await doors.api("POST", url, as_supplier, json={"price": 8990})
    assert (status, steep["status"], steep["flags"]) == (
        201,
        "rejected",
        ["「5斤装」新价格远高于上次价格"],
    )
    status, below = await doors.api("POST", url, as_supplier, json={"price": 800})
    assert below["flags"] == ["「5斤装」售价远低于成本"]
    doors.clock.advance(timedelta(minutes=5))
    status, fair = await doors.api("POST", url, as_supplier, json={"price": 3290})
    assert (status, fair["status"]) == (201, "pending")
    status, product = await doors.api("GET", f"/api/v1/products/{review['product_id']}")
    assert product["skus"][0]["price"] == 2990  # the old price holds until approved
    status, rejected = await doors.api(
        "POST",
        f"/api/v1/admin/reviews/{fair['id']}/reject",
        as_operator,
        json={"reason": "涨价需提前三天报备"},
    )
    assert rejected["status"] == "rejected"
    doors.clock.advance(timedelta(minutes=5))
    status, fair = await doors.api("POST", url, as_supplier, json={"price": 3190})
    await doors.api("POST", f"/api/v1/admin/reviews/{fair['id']}/approve", as_operator)
    status, product = await doors.api("GET", f"/api/v1/products/{review['product_id']}")
    assert product["skus"][0]["price"] == 3190

    # The supplier reads every decision and why; each is recorded.
    status, mine = await doors.api("GET", "/api/v1/me/supplier/reviews", as_supplier)
    assert [(r["kind"], r["status"]) for r in mine["items"]][:2] == [
        ("price", "approved"),
        ("price", "rejected"),
    ]
    assert mine["items"][1]["reason"] == "涨价需提前三天报备"
    # supplier approved; 3 by the rules; basket approved; fair rejected and approved
    assert await ReviewDecision.all().count() == 7
    assert await ReviewDecision.filter(actor_id=None).count() == 3
