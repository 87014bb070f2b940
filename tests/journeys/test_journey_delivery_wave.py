"""A day's wave: orders until the cut-off, the batch the clock cuts, 到货 with a shortage,
refunds and news to the buyers not filled, pickup, and the batch closed.

The leader sets the cut-off through the API and speaks in the WeCom group; shoppers use the
mini-program (subscribe messages accepted); WeChat Pay notifies; the clock cuts the batch at
20:00 Shanghai time and closes it when nothing waits. Every assertion is what a person sees.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models.catalog import Product, Sku
from models.community import Community
from models.delivery import BatchStatus, DeliveryBatch
from models.order import Order, OrderStatus
from models.user import Role, User
from services import deadlines
from tests.journeys.doors import Doors
from tests.support.factories import auth, make_community, make_user

# 2026-12-07 10:00 in Shanghai; the cut-off is 20:00 there (12:00 UTC).
MORNING = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
CUTOFF = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


async def _bound_community(doors: Doors) -> tuple[Community, User]:
    """The leader's community, bound to the journey's group chat with its robot."""
    community = await make_community()
    await Community.filter(id=community.id).update(chat_id=None)
    leader = await User.get(id=community.leader_id)
    await doors.leader_binds_chat(leader, sender="wang")
    await doors.leader_binds_group(community, sender="wang")
    return community, leader


async def _sku(community: Community, title: str, name: str, price: int) -> Sku:
    product = await Product.create(
        title=title, category="fresh", community=community, created_by_id=community.leader_id
    )
    return await Sku.create(product=product, name=name, price=price, stock=100)


async def _buys(doors: Doors, name: str, sku: Sku, quantity: int, community: Community) -> str:
    """Shopper ``name`` opens the mini-program (a fresh log-in), orders and pays."""
    who = await doors.log_in(f"code-{name}", f"o-mini-{name}")
    status, order = await doors.api(
        "POST",
        "/api/v1/orders",
        who,
        json={"sku_id": str(sku.id), "quantity": quantity, "community_id": str(community.id)},
    )
    assert status == 201, order
    await doors.prepay_and_pay(order["id"], who)
    return str(order["id"])


async def test_a_days_wave_from_orders_to_cutoff_to_batch_to_shortage_to_pickup(
    doors: Doors,
) -> None:
    doors.clock.set(MORNING)
    community, leader = await _bound_community(doors)
    orange = await _sku(community, "赣南脐橙", "5斤装", 2990)
    apple = await _sku(community, "烟台苹果", "3斤装", 1990)

    # The leader sets the daily cut-off: 20:00 in the community's time zone.
    status, plan = await doors.api(
        "PUT",
        f"/api/v1/communities/{community.id}/delivery-plan",
        auth(leader, doors.settings, doors.clock.now()),
        json={"cutoff": "20:00"},
    )
    assert status == 200, plan
    assert plan["next_cutoff_at"].startswith("2026-12-07T12:00:00")
    assert await deadlines.next_due(doors.clock.now()) == CUTOFF  # the clock will wake for it

    # The day's orders: oldest first a, b, c; d orders after the cut-off.
    for name, nickname in zip("abcd", ("阿兰", "小白", "陈姐", "老丁"), strict=True):
        who = await doors.log_in(f"code-{name}", f"o-mini-{name}")
        await doors.accept_news(who)
        status, _ = await doors.api("PATCH", "/api/v1/me/profile", who, json={"nickname": nickname})
        assert status == 200
    a_orange = await _buys(doors, "a", orange, 2, community)
    doors.clock.advance(timedelta(hours=1))
    b_orange = await _buys(doors, "b", orange, 1, community)
    doors.clock.advance(timedelta(hours=1))
    c_orange = await _buys(doors, "c", orange, 1, community)
    c_apple = await _buys(doors, "c", apple, 1, community)

    # 20:00: the clock cuts the batch (twice, as two schedulers might); d is too late.
    doors.clock.set(CUTOFF)
    await doors.jobs.due(doors.clock.now())
    await doors.jobs.due(doors.clock.now())
    doors.clock.advance(timedelta(minutes=30))
    d_orange = await _buys(doors, "d", orange, 1, community)
    (batch,) = await DeliveryBatch.filter(community_id=community.id)
    assert (batch.orders, batch.units, batch.status) == (4, 5, BatchStatus.DISPATCHED)
    assert str(batch.delivery_date) == "2026-12-08"

    # The leader reads the pick list in the group, numbered for 到货.
    listed = await doors.say_in_group("批次")
    assert listed == (
        "「测试社区」12月8日配送批次 · 配送中\n"
        "4 份订单，共 5 件：\n"
        "1. 烟台苹果 3斤装 ×1（陈姐×1）\n"
        "2. 赣南脐橙 5斤装 ×4（阿兰×2、小白×1、陈姐×1）\n"
        "货到后发「到货」；有缺货发「到货 序号缺件数」，如「到货 1缺2」。"
    )

    as_leader = auth(leader, doors.settings, doors.clock.now())
    # The API gives the pick list per order, the purchasing totals and the route stop.
    status, sheet = await doors.api("GET", f"/api/v1/batches/{batch.id}", as_leader)
    assert status == 200, sheet
    assert [(p["number"], p["title"], p["quantity"]) for p in sheet["picks"]] == [
        (1, "烟台苹果 3斤装", 1),
        (2, "赣南脐橙 5斤装", 4),
    ]
    assert [o["order_id"] for o in sheet["picks"][1]["orders"]] == [a_orange, b_orange, c_orange]
    assert sheet["purchases"] == [
        {
            "supplier": "自营",
            "supplier_id": None,
            "units": 5,
            "lines": [["烟台苹果 3斤装", 1], ["赣南脐橙 5斤装", 4]],
        }
    ]
    assert sheet["stop"]["pickup_point"] == "门口小店" and sheet["stop"]["orders"] == 4
    operator = await make_user(Role.ADMIN)
    status, day = await doors.api(
        "GET",
        "/api/v1/admin/deliveries?date=2026-12-08",
        auth(operator, doors.settings, doors.clock.now()),
    )
    assert status == 200, day
    assert [s["batch_id"] for s in day["route"]] == [str(batch.id)]
    assert day["purchases"][0]["units"] == 5

    # Next morning the van arrives two oranges short: the newest orange orders go back.
    doors.clock.set(CUTOFF + timedelta(hours=14))
    arrived = await doors.say_in_group("到货 2缺2")
    assert arrived.startswith("已确认到货：「测试社区」2 份订单可以提货了。"), arrived
    assert "缺货：赣南脐橙 5斤装 缺 2 件（共 4 件），2 份订单原路退款，已通知买家。" in arrived
    status_of = {o.id: o.status for o in await Order.all()}
    assert [
        status_of[x] for x in map(_uuid, (a_orange, b_orange, c_orange, c_apple, d_orange))
    ] == [
        OrderStatus.READY_FOR_PICKUP,
        OrderStatus.REFUNDING,
        OrderStatus.REFUNDING,
        OrderStatus.READY_FOR_PICKUP,
        OrderStatus.CONFIRMED,  # in the next batch
    ]
    again = await doors.say_in_group("到货 2缺2")  # said twice: nothing more is on its way
    assert "不用报缺货" in again

    await doors.send()
    refunded_news = (
        doors.settings.subscribe_template_refunded,
        {"thing1": "赣南脐橙 5斤装", "amount2": "¥29.90", "thing3": "到货缺货，原路退款"},
    )
    assert doors.mini_user_receives("o-mini-b") == [refunded_news]
    assert refunded_news in doors.mini_user_receives("o-mini-c")
    assert doors.mini_user_receives("o-mini-a")[0][0] == doors.settings.subscribe_template_arrived
    assert doors.mini_user_receives("o-mini-d") == []
    assert sorted(int(r["refund_fee"]) for r in doors.wechat.refunds.values()) == [2990, 2990]
    assert "2 份订单已到" in doors.group_sees()[-1]

    # WeChat Pay settles the refunds (each notified twice): the orders are refunded.
    await doors.refunds_done()
    assert await Order.filter(status=OrderStatus.REFUNDED).count() == 2

    # The buyers pick up; with nothing left waiting the clock closes the batch.
    for order_id in (a_orange, c_apple):
        code = (await Order.get(id=order_id)).pickup_code
        assert "核销成功" in await doors.say_in_group(f"核销 {code}")
    await doors.jobs.sweep(doors.clock.now())
    as_leader = auth(leader, doors.settings, doors.clock.now())
    status, sheet = await doors.api("GET", f"/api/v1/batches/{batch.id}", as_leader)
    assert sheet["batch"]["status"] == "closed"
    assert [o["short"] for o in sheet["picks"][1]["orders"]] == [False, True, True]
    assert sheet["shortages"][0]["refunded_orders"] == 2

    # The next cut-off takes d's order into the next batch.
    doors.clock.set(CUTOFF + timedelta(days=1))
    await doors.jobs.due(doors.clock.now())
    as_leader = auth(leader, doors.settings, doors.clock.now())
    latest = await DeliveryBatch.filter(community_id=community.id).order_by("-cutoff_at").first()
    assert latest is not None and latest.id != batch.id and latest.orders == 1
    status, listed_api = await doors.api("GET", f"/api/v1/batches/{latest.id}", as_leader)
    assert listed_api["picks"][0]["orders"][0]["order_id"] == d_orange


def _uuid(text: str) -> object:
    import uuid

    return uuid.UUID(text)


async def test_an_order_delivered_home_with_its_fee_and_tracking_number(doors: Doors) -> None:
    doors.clock.set(MORNING)
    community, leader = await _bound_community(doors)
    orange = await _sku(community, "赣南脐橙", "5斤装", 2990)
    shopper = await doors.log_in("code-home", "o-mini-home")
    status, address = await doors.api(
        "POST",
        "/api/v1/me/addresses",
        shopper,
        json={"recipient": "李四", "phone": "13700137000", "detail": "翠湖 3 栋 501"},
    )
    assert status == 201, address

    # Without home delivery in the plan, an order cannot go home.
    status, order = await doors.api(
        "POST",
        "/api/v1/orders",
        shopper,
        json={"sku_id": str(orange.id), "community_id": str(community.id)},
    )
    home = f"/api/v1/orders/{order['id']}/home-delivery"
    status, refused = await doors.api("POST", home, shopper, json={"address_id": address["id"]})
    assert (status, refused["code"]) == (409, "home_delivery_unavailable")

    as_leader = auth(leader, doors.settings, doors.clock.now())
    status, plan = await doors.api(
        "PUT",
        f"/api/v1/communities/{community.id}/delivery-plan",
        as_leader,
        json={"cutoff": "20:00", "home_delivery": True, "delivery_fee": 500},
    )
    assert status == 200 and plan["delivery_fee"] == 500
    status, chosen = await doors.api("POST", home, shopper, json={"address_id": address["id"]})
    assert (status, chosen["fee"], chosen["status"]) == (201, 500, "pending"), chosen
    status, again = await doors.api("POST", home, shopper, json={"address_id": address["id"]})
    assert status == 409  # the fee is added once
    status, mine = await doors.api("GET", f"/api/v1/orders/{order['id']}", shopper)
    assert (mine["amount"], mine["delivery_fee"]) == (3490, 500)  # a line of its breakdown
    await doors.prepay_and_pay(order["id"], shopper)  # WeChat Pay charges goods and fee

    # It rides the day's batch; after 到货 the leader sends it with a tracking number.
    doors.clock.set(CUTOFF)
    await doors.jobs.due(doors.clock.now())
    doors.clock.set(CUTOFF + timedelta(hours=14))
    assert "1 份订单可以提货了" in await doors.say_in_group("到货")
    as_leader = auth(leader, doors.settings, doors.clock.now())
    shopper = await doors.log_in("code-home", "o-mini-home")
    dispatch = f"/api/v1/home-deliveries/{order['id']}/dispatch"
    stranger = auth(await make_user(Role.LEADER), doors.settings, doors.clock.now())
    status, refused = await doors.api("POST", dispatch, stranger, json={"tracking_no": "SF1234"})
    assert (status, refused["code"]) == (403, "not_community_leader")
    status, sent = await doors.api(
        "POST", dispatch, as_leader, json={"tracking_no": "SF1234567890"}
    )
    assert (status, sent["status"]) == (200, "dispatched"), sent
    status, seen = await doors.api("GET", home, shopper)
    assert (seen["status"], seen["tracking_no"]) == ("dispatched", "SF1234567890")
    status, done = await doors.api(
        "POST", f"/api/v1/home-deliveries/{order['id']}/delivered", as_leader
    )
    assert (status, done["status"]) == (200, "delivered")
    status, mine = await doors.api("GET", f"/api/v1/orders/{order['id']}", shopper)
    assert mine["status"] == "picked_up"
