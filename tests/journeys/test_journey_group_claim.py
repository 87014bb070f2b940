"""A crate arrives spoiled: the leader files one claim for the delivery's orders through the
API, an operator approves it once, and each buyer is refunded their share and told."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from models.community import Community
from models.order import Order
from models.payment import Refund
from models.user import Role, User
from tests.journeys.doors import Doors
from tests.support.factories import auth, make_community, make_sku, make_user


async def test_a_leaders_claim_refunds_each_buyer_their_share(doors: Doors) -> None:
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    sku = await make_sku(community, price=1500)

    # Two mini-program shoppers buy 2 and 3 of the oranges and pay.
    buyers = {}
    for name, quantity in (("qian", 2), ("sun", 3)):
        headers = await doors.log_in(f"code-{name}", f"o-mini-{name}")
        await doors.accept_news(headers)
        status, order = await doors.api(
            "POST",
            "/api/v1/orders",
            headers,
            json={"sku_id": str(sku.id), "quantity": quantity, "community_id": str(community.id)},
        )
        assert status == 201, order
        await doors.prepay_and_pay(order["id"], headers)
        buyers[name] = await Order.get(id=order["id"])
        doors.clock.advance(timedelta(seconds=1))  # a second apart: "newest first" reads

    # 到货, then the leader opens the crate: 4 oranges are spoiled.
    as_leader = auth(leader, doors.settings, doors.clock.now())
    status, arrival = await doors.api(
        "POST", "/api/v1/pickups/arrived", as_leader, json={"community_id": str(community.id)}
    )
    assert status == 200 and arrival["orders"] == 2, arrival
    day = doors.clock.now().astimezone(ZoneInfo(community.timezone)).date().isoformat()
    status, claim = await doors.api(
        "POST",
        f"/api/v1/communities/{community.id}/claims",
        as_leader,
        json={
            "sku_id": str(sku.id),
            "delivery_date": day,
            "units": 4,
            "reason": "一箱里 4 个烂了",
            "photos": ["https://img.example.com/crate.jpg"],
            "order_ids": [str(buyers["qian"].id), str(buyers["sun"].id)],
        },
    )
    assert status == 201, claim
    assert claim["amount"] == 6000 and claim["status"] == "pending"

    # The operator approves it, once.
    operator = auth(await make_user(Role.ADMIN), doors.settings, doors.clock.now())
    status, queue = await doors.api("GET", "/api/v1/admin/claims?status=pending", operator)
    assert [c["id"] for c in queue["items"]] == [claim["id"]]
    status, approved = await doors.api(
        "POST", f"/api/v1/admin/claims/{claim['id']}/approve", operator
    )
    assert status == 200 and approved["status"] == "approved"
    assert {line["status"] for line in approved["lines"]} == {"refunded"}
    status, twice = await doors.api("POST", f"/api/v1/admin/claims/{claim['id']}/approve", operator)
    assert status == 409 and twice["code"] == "claim_decided"

    # WeChat Pay refunds each share once, whatever the notifies do; each buyer hears of it.
    await doors.send()
    await doors.refunds_done()
    await doors.send()
    # The newest order (sun's) takes 3 spoiled units, the older one the fourth.
    shares = {line["order_id"]: line["amount"] for line in approved["lines"]}
    assert shares == {str(buyers["sun"].id): 4500, str(buyers["qian"].id): 1500}
    assert await Refund.all().count() == 2
    for name, order in buyers.items():
        (template, data) = doors.mini_user_receives(f"o-mini-{name}")[-1]
        assert template == doors.settings.subscribe_template_refunded
        assert data["amount2"] == f"¥{shares[str(order.id)] // 100}.00"
    assert await Community.exists(id=community.id)
