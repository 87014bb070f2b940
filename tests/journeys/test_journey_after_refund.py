"""What a shopper and a leader are told about an order once money went back, or after its
pickup: a completed order a group claim refunds in full reads refunded; a refunded order has
nothing to pick up and takes no review (a partly refunded one still does); a paid order is
not cancelled but sent to after-sales. Through the JSON API, the chat and the console."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from models.catalog import Sku
from models.community import Community
from models.order import Order
from models.user import Role, User
from tests.journeys.doors import Doors
from tests.support.factories import auth, make_community, make_sku, make_user
from tests.web.test_console import _login

PRICE = 1500


class Shop:
    """A leader's community, one SKU, and a mini-program shopper's paid direct orders."""

    def __init__(self, doors: Doors, community: Community, sku: Sku, leader: User) -> None:
        self.doors, self.community, self.sku, self.leader_user = doors, community, sku, leader
        self.shopper: dict[str, str] = {}

    @classmethod
    async def open(cls, doors: Doors, community: Community | None = None) -> Shop:
        community = community or await make_community()
        sku = await make_sku(community, price=PRICE)
        shop = cls(doors, community, sku, await User.get(id=community.leader_id))
        await shop.log_in()
        return shop

    async def log_in(self) -> None:
        """The shopper opens the mini-program (wx.login): a fresh token."""
        self.shopper = await self.doors.log_in("code-after", "o-mini-after")

    @property
    def leader(self) -> dict[str, str]:
        return auth(self.leader_user, self.doors.settings, self.doors.clock.now())

    async def paid_order(self, quantity: int = 1) -> str:
        status, order = await self.doors.api(
            "POST",
            "/api/v1/orders",
            self.shopper,
            json={
                "sku_id": str(self.sku.id),
                "quantity": quantity,
                "community_id": str(self.community.id),
            },
        )
        assert status == 201, order
        await self.doors.prepay_and_pay(order["id"], self.shopper)
        return str(order["id"])

    async def order(self, order_id: str) -> dict[str, Any]:
        status, order = await self.doors.api("GET", f"/api/v1/orders/{order_id}", self.shopper)
        assert status == 200, order
        return dict(order)

    async def arrived(self) -> None:
        status, arrival = await self.doors.api(
            "POST",
            "/api/v1/pickups/arrived",
            self.leader,
            json={"community_id": str(self.community.id)},
        )
        assert status == 200, arrival

    async def act(self, order_id: str, action: str, **body: Any) -> tuple[int, Any]:
        """The shopper's POST /api/v1/orders/{id}/<action> (review, cancel, after-sales)."""
        path = f"/api/v1/orders/{order_id}/{action}"
        return await self.doors.api("POST", path, self.shopper, json=body)

    async def ticket(self, order_id: str) -> tuple[int, Any]:
        return await self.doors.api("GET", f"/api/v1/orders/{order_id}/pickup", self.shopper)

    async def picked_up(self, order_id: str) -> None:
        status, ticket = await self.ticket(order_id)
        assert status == 200, ticket
        status, handed = await self.doors.api(
            "POST", "/api/v1/pickups/verify", self.leader, json={"code": ticket["code"]}
        )
        assert status == 200, handed

    async def refunded(self, order_id: str, amount: int | None = None) -> None:
        """The shopper asks for ``amount`` back (None: all of it), the leader approves, and
        WeChat Pay refunds it."""
        ask: dict[str, Any] = {"kind": "refund_only", "reason": "quality"}
        if amount is not None:
            ask["amount"] = amount
        status, asked = await self.act(order_id, "after-sales", **ask)
        assert status == 201, asked
        status, approved = await self.doors.api(
            "POST", f"/api/v1/after-sales/{asked['id']}/approve", self.leader
        )
        assert status == 200, approved
        await self.doors.send()
        await self.doors.refunds_done()
        await self.doors.send()


async def _codes_of(doors: Doors, path: str, method: str) -> str:
    status, spec = await doors.api("GET", "/openapi.json")
    assert status == 200
    return str(spec["paths"][path][method]["responses"]["409"])


async def test_a_completed_order_refunded_in_full_by_a_claim_reads_refunded(doors: Doors) -> None:
    shop = await Shop.open(doors)
    order_id = await shop.paid_order(quantity=2)
    await shop.arrived()
    arrival_day = doors.clock.now().astimezone(ZoneInfo(shop.community.timezone)).date()
    await shop.picked_up(order_id)

    # The after-sale days pass: the clock completes the order.
    doors.clock.advance(timedelta(days=doors.settings.auto_complete_days, hours=1))
    await doors.jobs.sweep(doors.clock.now())
    await shop.log_in()
    assert (await shop.order(order_id))["status"] == "completed"

    # Both units were spoiled: the leader's claim, approved, refunds all the order paid.
    status, claim = await doors.api(
        "POST",
        f"/api/v1/communities/{shop.community.id}/claims",
        shop.leader,
        json={
            "sku_id": str(shop.sku.id),
            "delivery_date": arrival_day.isoformat(),
            "units": 2,
            "reason": "两个都坏了",
            "order_ids": [order_id],
        },
    )
    assert status == 201 and claim["amount"] == 2 * PRICE, claim
    operator = auth(await make_user(Role.ADMIN), doors.settings, doors.clock.now())
    status, approved = await doors.api(
        "POST", f"/api/v1/admin/claims/{claim['id']}/approve", operator
    )
    assert status == 200 and [line["status"] for line in approved["lines"]] == ["refunded"]
    assert (await shop.order(order_id))["status"] == "refunding"  # owed, not yet back
    await doors.send()
    await doors.refunds_done()
    await doors.send()

    order = await shop.order(order_id)
    assert order["status"] == "refunded", order
    assert [r["amount"] for r in order["refunds"]] == [2 * PRICE]
    status, mine = await doors.api("GET", "/api/v1/orders", shop.shopper)
    assert [o["status"] for o in mine["items"]] == ["refunded"], mine


async def test_a_refunded_order_has_nothing_to_pick_up(doors: Doors) -> None:
    shop = await Shop.open(doors, await doors.bound_community(sender="wang"))
    order_id = await shop.paid_order()
    await shop.arrived()
    status, ticket = await shop.ticket(order_id)
    assert status == 200, ticket

    # Refunded in full before pickup: the shopper's code answers why there is nothing to get.
    await shop.refunded(order_id)
    assert (await shop.order(order_id))["status"] == "refunded"
    status, refused = await shop.ticket(order_id)
    assert status == 409 and refused["code"] == "order_refunded_no_pickup", refused
    assert "refunded" in refused["detail"] and "nothing to pick up" in refused["detail"]
    assert "order_refunded_no_pickup" in await _codes_of(
        doors, "/api/v1/orders/{order_id}/pickup", "get"
    )

    # The leader who types the old code in the group (核销) or the console hears the same.
    said = await doors.say_in_group(f"核销 {ticket['code']}", sender="wang")
    assert "已经退款" in said and "没有可以提的货" in said and "到货" not in said, said
    link = re.search(r"http\S+/console/login\?token=\S+", await doors.say_alone("后台", "wang"))
    assert link is not None
    cookies = {"Cookie": await _login(doors.client, link.group(0))}
    page = await (await doors.client.get("/console/pickups", headers=cookies)).text()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf is not None, page
    resp = await doors.client.post(
        "/console/pickups/verify",
        data={"code": ticket["code"], "csrf_token": csrf.group(1)},
        headers=cookies,
    )
    page = await resp.text()
    assert "这个订单已经退款了，没有可以提的货。" in page, page
    assert (await Order.get(id=order_id)).picked_up_at is None


async def test_a_refunded_order_is_closed_to_reviews_a_partly_refunded_one_is_not(
    doors: Doors,
) -> None:
    shop = await Shop.open(doors)
    whole, part = await shop.paid_order(), await shop.paid_order(quantity=2)
    await shop.arrived()
    for order_id in (whole, part):
        await shop.picked_up(order_id)
    await shop.refunded(whole)
    await shop.refunded(part, amount=PRICE)  # one of the two back
    assert (await shop.order(whole))["status"] == "refunded"
    assert (await shop.order(part))["status"] == "picked_up"

    status, refused = await shop.act(whole, "review", rating=1)
    assert status == 409 and refused["code"] == "order_refunded_no_review", refused
    assert "refunded in full" in refused["detail"] and "after pickup" not in refused["detail"]
    assert "order_refunded_no_review" in await _codes_of(
        doors, "/api/v1/orders/{order_id}/review", "post"
    )
    status, written = await shop.act(part, "review", rating=3, text="一个坏了")
    assert status == 201, written


async def test_a_paid_order_is_sent_to_after_sales_not_cancelled(doors: Doors) -> None:
    shop = await Shop.open(doors)
    order_id = await shop.paid_order()
    for expected in ("confirmed", "ready_for_pickup"):
        status, refused = await shop.act(order_id, "cancel")
        assert status == 409 and refused["code"] == "order_use_aftersales", refused
        assert "after-sales" in refused["detail"] and refused["status_now"] == expected
        assert (await shop.order(order_id))["status"] == expected
        await shop.arrived()
    assert "order_use_aftersales" in await _codes_of(
        doors, "/api/v1/orders/{order_id}/cancel", "post"
    )
    # What it points to works: the refund request is taken.
    status, asked = await shop.act(order_id, "after-sales", kind="refund_only", reason="other")
    assert status == 201, asked


async def test_a_picked_up_order_past_its_after_sale_days_says_so_when_cancelled(
    doors: Doors,
) -> None:
    shop = await Shop.open(doors)
    order_id = await shop.paid_order()
    await shop.arrived()
    await shop.picked_up(order_id)
    status, refused = await shop.act(order_id, "cancel")
    assert status == 409 and refused["code"] == "order_use_aftersales", refused

    # The after-sale days pass: refused as after-sales refuses it, before the clock completes
    # the order and after.
    doors.clock.advance(timedelta(days=doors.settings.auto_complete_days, hours=1))
    await shop.log_in()
    for expected in ("picked_up", "completed"):
        status, refused = await shop.act(order_id, "cancel")
        assert status == 409 and refused["code"] == "after_sale_window_closed", refused
        assert refused["status_now"] == expected and "after-sale days" in refused["detail"]
        assert "cannot be cancelled" in refused["detail"], refused
        status, asked = await shop.act(order_id, "after-sales", kind="refund_only", reason="other")
        assert status == 409 and asked["code"] == "after_sale_window_closed", asked
        await doors.jobs.sweep(doors.clock.now())
    assert (await shop.order(order_id))["status"] == "completed"
    assert "after_sale_window_closed" in await _codes_of(
        doors, "/api/v1/orders/{order_id}/cancel", "post"
    )


async def test_a_refunded_or_cancelled_order_says_so_when_cancelled(doors: Doors) -> None:
    shop = await Shop.open(doors)
    refunding, refunded = await shop.paid_order(), await shop.paid_order()
    await shop.refunded(refunded)
    status, asked = await shop.act(refunding, "after-sales", kind="refund_only", reason="other")
    assert status == 201, asked
    status, _ = await doors.api("POST", f"/api/v1/after-sales/{asked['id']}/approve", shop.leader)
    assert status == 200
    for order_id, expected in ((refunding, "refunding"), (refunded, "refunded")):
        assert (await shop.order(order_id))["status"] == expected
        status, refused = await shop.act(order_id, "cancel")
        assert status == 409 and refused["code"] == "order_already_refunded", refused
        assert refused["status_now"] == expected and "nothing to cancel" in refused["detail"]

    # An unpaid order cancelled: a second cancel, and its pickup code, say it was cancelled.
    status, unpaid = await doors.api(
        "POST", "/api/v1/orders", shop.shopper, json={"sku_id": str(shop.sku.id), "quantity": 1}
    )
    assert status == 201, unpaid
    status, cancelled = await shop.act(unpaid["id"], "cancel")
    assert status == 200 and cancelled["status"] == "cancelled", cancelled
    status, refused = await shop.act(unpaid["id"], "cancel")
    assert status == 409 and refused["code"] == "order_cancelled", refused
    assert "already cancelled" in refused["detail"] and refused["status_now"] == "cancelled"
    status, refused = await shop.ticket(unpaid["id"])
    assert status == 409 and refused["code"] == "order_cancelled", refused
    assert "cancelled" in refused["detail"] and "nothing to pick up" in refused["detail"]
    assert "yet" not in refused["detail"]
    for path, method, codes in (
        ("/api/v1/orders/{order_id}/cancel", "post", ("order_cancelled", "order_already_refunded")),
        ("/api/v1/orders/{order_id}/pickup", "get", ("order_cancelled",)),
    ):
        listed = await _codes_of(doors, path, method)
        assert all(code in listed for code in codes), (path, listed)
