"""Bargains through the HTTP door: admins open offers, shoppers start, cut and buy; the
database's rows are the verdict, under real concurrency."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from models.bargain import Bargain, BargainCut, BargainOffer, BargainStatus
from models.catalog import Sku
from models.order import Order, OrderKind, OrderStatus
from models.outbox import OutboxMessage
from models.user import Role, User
from qunshop.config import Settings
from services import bargains, checkout
from tests.support.factories import auth, make_sku, make_user
from tests.support.pages import every_page
from tests.support.statements import Statements


async def open_offer(
    client: TestClient,
    settings: Settings,
    *,
    price: int = 9900,
    floor: int = 100,
    helpers: int = 5,
    hours: int = 24,
    new_users_only: bool = False,
    stock: int = 10,
) -> tuple[dict[str, Any], Sku]:
    sku = await make_sku(price=price, stock=stock)
    boss = await make_user(Role.ADMIN)
    resp = await client.post(
        "/api/v1/admin/bargain-offers",
        json={
            "sku_id": str(sku.id),
            "floor_price": floor,
            "helpers_needed": helpers,
            "hours": hours,
            "new_users_only": new_users_only,
        },
        headers=auth(boss, settings),
    )
    assert resp.status == 201, await resp.text()
    return await resp.json(), sku


async def start(client: TestClient, settings: Settings, offer: dict[str, Any], user: User) -> Any:
    resp = await client.post(
        f"/api/v1/bargain-offers/{offer['id']}/bargains", headers=auth(user, settings)
    )
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def cut(client: TestClient, settings: Settings, code: str, user: User) -> Any:
    return await client.post(f"/api/v1/bargains/{code}/cuts", headers=auth(user, settings))


async def test_only_admins_open_offers_and_the_floor_must_leave_a_fen_per_helper(
    client: TestClient, settings: Settings
) -> None:
    sku = await make_sku(price=500)
    body = {"sku_id": str(sku.id), "floor_price": 100, "helpers_needed": 5, "hours": 24}
    shopper = await make_user()
    resp = await client.post(
        "/api/v1/admin/bargain-offers", json=body, headers=auth(shopper, settings)
    )
    assert resp.status == 403
    boss = await make_user(Role.ADMIN)
    too_many = {**body, "helpers_needed": 401}  # 400 fen above the floor
    resp = await client.post(
        "/api/v1/admin/bargain-offers", json=too_many, headers=auth(boss, settings)
    )
    assert resp.status == 422 and (await resp.json())["code"] == "bargain_offer_invalid"
    dear = {**body, "floor_price": 600}  # a floor above the SKU's own ¥5.00
    resp = await client.post(
        "/api/v1/admin/bargain-offers", json=dear, headers=auth(boss, settings)
    )
    assert resp.status == 422 and (await resp.json())["code"] == "price_above_list"
    assert await BargainOffer.filter(sku_id=sku.id).count() == 0
    resp = await client.post(
        "/api/v1/admin/bargain-offers", json=body, headers=auth(boss, settings)
    )
    assert resp.status == 201
    offer = await resp.json()
    assert (offer["list_price"], offer["floor_price"], offer["active"]) == (500, 100, True)
    listed = await (await client.get("/api/v1/bargain-offers")).json()
    assert [o["id"] for o in listed["items"]] == [offer["id"]]
    closed = await client.post(
        f"/api/v1/admin/bargain-offers/{offer['id']}/close", headers=auth(boss, settings)
    )
    assert (await closed.json())["active"] is False
    assert (await (await client.get("/api/v1/bargain-offers")).json())["items"] == []
    refused = await client.post(
        f"/api/v1/bargain-offers/{offer['id']}/bargains", headers=auth(shopper, settings)
    )
    assert refused.status == 409 and (await refused.json())["code"] == "bargain_offer_closed"


async def test_cuts_reach_the_floor_exactly_at_the_last_needed_cut(
    client: TestClient, settings: Settings
) -> None:
    offer, _ = await open_offer(client, settings, price=9900, floor=990, helpers=5)
    starter = await make_user(nickname="小李")
    bargain = await start(client, settings, offer, starter)
    assert (bargain["price_now"], bargain["cuts_needed"], bargain["state"]) == (9900, 5, "open")
    again = await start(client, settings, offer, starter)  # the same open bargain
    assert again["id"] == bargain["id"]

    own = await cut(client, settings, bargain["code"], starter)
    assert own.status == 409 and (await own.json())["code"] == "bargain_own_cut"
    friends = [await make_user(nickname=f"友{i}") for i in range(6)]
    amounts = []
    for i, friend in enumerate(friends[:5]):
        resp = await cut(client, settings, bargain["code"], friend)
        assert resp.status == 201, await resp.text()
        done = await resp.json()
        amounts.append(done["amount"])
        assert done["amount"] >= 1 and done["cuts_left"] == 4 - i
        assert done["reached"] is (i == 4)
    assert sum(amounts) == 9900 - 990
    twice = await cut(client, settings, bargain["code"], friends[0])
    assert (await twice.json())["code"] in ("bargain_floor_reached", "bargain_already_cut")
    past = await cut(client, settings, bargain["code"], friends[5])
    assert past.status == 409 and (await past.json())["code"] == "bargain_floor_reached"

    shown = await (await client.get(f"/api/v1/bargains/{bargain['code']}")).json()
    assert (shown["price_now"], shown["state"], shown["cuts_made"]) == (990, "reached", 5)
    assert [c["amount"] for c in shown["cuts"]] == amounts
    assert [c["nickname"] for c in shown["cuts"]] == [f"友{i}" for i in range(5)]
    assert await BargainCut.filter(bargain_id=bargain["id"]).count() == 5


async def test_one_cut_per_person_and_new_users_only(
    client: TestClient, settings: Settings
) -> None:
    offer, _ = await open_offer(client, settings, helpers=3, new_users_only=True)
    starter = await make_user()
    code = (await start(client, settings, offer, starter))["code"]
    old_customer = await make_user()
    sku = await make_sku()
    await Order.create(
        out_trade_no="QSOLDCUSTOMER1",
        kind=OrderKind.DIRECT,
        user=old_customer,
        sku=sku,
        unit_price=100,
        amount=100,
        status=OrderStatus.CONFIRMED,
        paid_at=datetime.now(tz=UTC),
    )
    refused = await cut(client, settings, code, old_customer)
    assert (await refused.json())["code"] == "bargain_new_users_only"
    newcomer = await make_user()
    responses = await asyncio.gather(*(cut(client, settings, code, newcomer) for _ in range(10)))
    statuses = Counter(r.status for r in responses)
    assert statuses == {201: 1, 409: 9}
    assert await BargainCut.filter(helper_id=newcomer.id).count() == 1
    assert (await Bargain.get(code=code)).cuts_made == 1


async def test_200_concurrent_cuts_stop_exactly_at_the_floor(
    client: TestClient, settings: Settings
) -> None:
    offer, _ = await open_offer(client, settings, price=20000, floor=500, helpers=150)
    starter = await make_user()
    code = (await start(client, settings, offer, starter))["code"]
    helpers = [await make_user() for _ in range(200)]
    # Ten of them press twice at once: still one cut each.
    calls = [cut(client, settings, code, h) for h in helpers] + [
        cut(client, settings, code, h) for h in helpers[:10]
    ]
    responses = await asyncio.gather(*calls)
    counts: Counter[Any] = Counter()
    for resp in responses:
        counts[resp.status if resp.status == 201 else (await resp.json())["code"]] += 1
    assert counts[201] == 150
    assert counts[201] + counts["bargain_floor_reached"] + counts["bargain_already_cut"] == 210
    bargain = await Bargain.get(code=code)
    assert (bargain.cuts_made, bargain.price_now) == (150, 500)
    rows = await BargainCut.filter(bargain_id=bargain.id).values_list("helper_id", "amount", "seq")
    assert len(rows) == 150
    assert len({helper for helper, _, _ in rows}) == 150  # one cut per helper
    assert sorted(seq for _, _, seq in rows) == list(range(1, 151))
    assert sum(amount for _, amount, _ in rows) == 20000 - 500
    assert all(amount >= 1 for _, amount, _ in rows)


async def test_the_starter_buys_at_the_price_reached_and_pays_through_wechat_pay(
    client: TestClient, settings: Settings, wechat: Any
) -> None:
    offer, sku = await open_offer(client, settings, price=5000, floor=1000, helpers=2, stock=3)
    starter = await make_user()
    code = (await start(client, settings, offer, starter))["code"]
    for _ in range(2):
        assert (await cut(client, settings, code, await make_user())).status == 201
    other = await make_user()
    stranger = await client.post(f"/api/v1/bargains/{code}/order", headers=auth(other, settings))
    assert (stranger.status, (await stranger.json())["code"]) == (403, "bargain_not_yours")
    resp = await client.post(f"/api/v1/bargains/{code}/order", headers=auth(starter, settings))
    assert resp.status == 201, await resp.text()
    order = await resp.json()
    assert (order["amount"], order["status"]) == (1000, "pending_payment")
    assert (await Sku.get(id=sku.id)).stock == 2
    twice = await client.post(f"/api/v1/bargains/{code}/order", headers=auth(starter, settings))
    assert (await twice.json())["code"] == "bargain_already_ordered"
    shown = await (await client.get(f"/api/v1/bargains/{code}")).json()
    assert (shown["state"], shown["order_id"]) == ("ordered", order["id"])
    # Starting again gives the bargain back, its order awaiting payment: nothing new.
    again = await start(client, settings, offer, starter)
    assert (again["code"], again["state"], again["order_id"]) == (code, "ordered", order["id"])
    assert await Bargain.filter(starter_id=starter.id).count() == 1

    prepay = await client.post(
        f"/api/v1/orders/{order['id']}/prepay", headers=auth(starter, settings)
    )
    assert prepay.status == 200, await prepay.text()
    row = await Order.get(id=order["id"])
    assert row.kind is OrderKind.BARGAIN
    notify = wechat.payment_notify(
        out_trade_no=row.out_trade_no, total_fee=1000, openid=(await User.get(id=starter.id)).openid
    )
    answer = await client.post("/pay/wechat/notify", data=notify)
    assert answer.status == 200 and "SUCCESS" in await answer.text()
    assert (await Order.get(id=order["id"])).status is OrderStatus.CONFIRMED
    shown = await (await client.get(f"/api/v1/bargains/{code}")).json()
    assert shown["state"] == "purchased"
    bought = await client.post(
        f"/api/v1/bargain-offers/{offer['id']}/bargains", headers=auth(starter, settings)
    )
    assert (bought.status, (await bought.json())["code"]) == (409, "bargain_already_started")
    mine = await (await client.get("/api/v1/me/bargains", headers=auth(starter, settings))).json()
    assert [b["code"] for b in mine["items"]] == [code]


async def test_a_lapsed_order_may_be_bought_again_and_the_clock_expires_the_rest(
    client: TestClient, settings: Settings
) -> None:
    offer, sku = await open_offer(client, settings, price=3000, floor=1000, helpers=2, hours=1)
    starter, idle = await make_user(), await make_user()
    code = (await start(client, settings, offer, starter))["code"]
    idle_code = (await start(client, settings, offer, idle))["code"]
    assert (await cut(client, settings, code, await make_user())).status == 201
    first = await (
        await client.post(f"/api/v1/bargains/{code}/order", headers=auth(starter, settings))
    ).json()
    now = datetime.now(tz=UTC)
    assert await checkout.release_expired_direct(now=now + timedelta(minutes=20)) == 1
    assert (await Order.get(id=first["id"])).status is OrderStatus.CANCELLED
    assert (await Sku.get(id=sku.id)).stock == 10
    shown = await (await client.get(f"/api/v1/bargains/{code}")).json()
    assert shown["state"] == "reached"  # cutting is over once ordered; buy again
    again = await client.post(f"/api/v1/bargains/{code}/order", headers=auth(starter, settings))
    assert again.status == 201 and (await again.json())["amount"] == shown["price_now"]
    await checkout.release_expired_direct(now=now + timedelta(minutes=40))

    assert await bargains.expire_due(now=now + timedelta(hours=2)) == 2
    assert (await Bargain.get(code=code)).status is BargainStatus.EXPIRED
    assert (await Bargain.get(code=idle_code)).status is BargainStatus.EXPIRED
    late = await cut(client, settings, idle_code, await make_user())
    assert (await late.json())["code"] == "bargain_closed"
    assert await bargains.expire_due(now=now + timedelta(hours=3)) == 0
    # Expired: the starter may start a new one on the same offer.
    fresh = await start(client, settings, offer, idle)
    assert fresh["code"] != idle_code and fresh["state"] == "open"


async def test_an_off_sale_product_is_not_bought_at_the_bargain_price(
    client: TestClient, settings: Settings
) -> None:
    """Taken off sale, the product is refused as a direct order refuses it (404
    sku_not_found), no unit taken; back on sale, the bargain running is bought at its price
    before its deadline (off sale pauses, where closing the offer ends it)."""
    offer, sku = await open_offer(client, settings, price=3000, floor=1000, helpers=1, stock=3)
    starter, boss = await make_user(), await make_user(Role.ADMIN)
    code = (await start(client, settings, offer, starter))["code"]
    assert (await cut(client, settings, code, await make_user())).status == 201
    off = await client.patch(
        f"/api/v1/products/{sku.product_id}", json={"active": False}, headers=auth(boss, settings)
    )
    assert off.status == 200, await off.text()
    resp = await client.post(f"/api/v1/bargains/{code}/order", headers=auth(starter, settings))
    refused = await resp.json()
    assert (resp.status, refused["code"]) == (404, "sku_not_found")
    assert refused["detail"] == "no such SKU"
    body = {"sku_id": str(sku.id), "quantity": 1}
    direct = await client.post("/api/v1/orders", json=body, headers=auth(starter, settings))
    assert (direct.status, (await direct.json())["code"]) == (404, "sku_not_found")
    assert (await Sku.get(id=sku.id)).stock == 3 and not await Order.exists(user_id=starter.id)

    back = await client.patch(
        f"/api/v1/products/{sku.product_id}", json={"active": True}, headers=auth(boss, settings)
    )
    assert back.status == 200
    resp = await client.post(f"/api/v1/bargains/{code}/order", headers=auth(starter, settings))
    assert resp.status == 201 and (await resp.json())["amount"] == 1000


async def _order(client: TestClient, settings: Settings, code: str, user: User) -> Any:
    resp = await client.post(f"/api/v1/bargains/{code}/order", headers=auth(user, settings))
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def _pay(
    client: TestClient, settings: Settings, wechat: Any, order: dict[str, Any], user: User
) -> None:
    prepay = await client.post(f"/api/v1/orders/{order['id']}/prepay", headers=auth(user, settings))
    assert prepay.status == 200, await prepay.text()
    row = await Order.get(id=order["id"])
    notify = wechat.payment_notify(
        out_trade_no=row.out_trade_no,
        total_fee=row.amount,
        openid=(await User.get(id=user.id)).openid,
    )
    answer = await client.post("/pay/wechat/notify", data=notify)
    assert answer.status == 200 and "SUCCESS" in await answer.text()


async def _closed_news() -> set[str]:
    """The bargains whose starters are to hear that the offer closed them."""
    rows = await OutboxMessage.filter(kind=bargains.NEWS).values_list("payload", flat=True)
    return {str(p["bargain_id"]) for p in rows if p.get("event") == bargains.CLOSED}


async def test_closing_an_offer_ends_its_bargains_and_keeps_the_orders_placed(
    client: TestClient, settings: Settings, wechat: Any
) -> None:
    """Closed, an offer starts, cuts and sells nothing more at its prices: an open bargain and
    one whose order lapsed end (their starters are told, once); an order already placed
    stays, paid or payable within its reservation."""
    offer, sku = await open_offer(client, settings, price=5000, floor=1000, helpers=2, stock=5)
    cutting, waiting, paid, lapsed = [await make_user() for _ in range(4)]
    codes = {
        u.id: (await start(client, settings, offer, u))["code"]
        for u in (cutting, waiting, paid, lapsed)
    }
    assert (await cut(client, settings, codes[cutting.id], await make_user())).status == 201
    first = await _order(client, settings, codes[lapsed.id], lapsed)
    now = datetime.now(tz=UTC)
    assert await checkout.release_expired_direct(now=now + timedelta(minutes=20)) == 1
    assert (await Order.get(id=first["id"])).status is OrderStatus.CANCELLED
    unpaid = await _order(client, settings, codes[waiting.id], waiting)
    await _pay(client, settings, wechat, await _order(client, settings, codes[paid.id], paid), paid)
    assert (await Sku.get(id=sku.id)).stock == 3

    boss = await make_user(Role.ADMIN)
    close = f"/api/v1/admin/bargain-offers/{offer['id']}/close"
    closed = await client.post(close, headers=auth(boss, settings))
    assert closed.status == 200 and (await closed.json())["active"] is False

    def refused_as_closed(resp: Any, body: dict[str, Any]) -> bool:
        return (resp.status, body["code"]) == (409, "bargain_offer_closed")

    for ref, who in ((codes[cutting.id], cutting), (codes[lapsed.id], lapsed)):
        resp = await cut(client, settings, ref, await make_user())
        assert refused_as_closed(resp, await resp.json())
        resp = await client.post(f"/api/v1/bargains/{ref}/order", headers=auth(who, settings))
        assert refused_as_closed(resp, await resp.json())
    for who in (cutting, await make_user()):
        resp = await client.post(
            f"/api/v1/bargain-offers/{offer['id']}/bargains", headers=auth(who, settings)
        )
        assert refused_as_closed(resp, await resp.json())

    async def state(user: User) -> str:
        return str((await (await client.get(f"/api/v1/bargains/{codes[user.id]}")).json())["state"])

    assert [await state(u) for u in (cutting, waiting, paid, lapsed)] == [
        "closed",
        "ordered",
        "purchased",
        "closed",
    ]
    rows = {b.starter_id: b.status for b in await Bargain.filter(offer_id=offer["id"])}
    assert rows == {
        cutting.id: BargainStatus.EXPIRED,
        waiting.id: BargainStatus.ORDERED,
        paid.id: BargainStatus.ORDERED,
        lapsed.id: BargainStatus.EXPIRED,
    }
    ended = {str(b.id) for b in await Bargain.filter(status=BargainStatus.EXPIRED)}
    assert await _closed_news() == ended and len(ended) == 2
    assert (await client.post(close, headers=auth(boss, settings))).status == 200
    assert await OutboxMessage.filter(kind=bargains.NEWS).count() == 2 + 1  # 1: the one cut

    # The order placed before the close is still paid at its price within its reservation.
    await _pay(client, settings, wechat, unpaid, waiting)
    assert (await Order.get(id=unpaid["id"])).status is OrderStatus.CONFIRMED
    assert await state(waiting) == "purchased"
    assert (await Sku.get(id=sku.id)).stock == 3
    assert await Order.filter(kind=OrderKind.BARGAIN).count() == 3

    spec = await (await client.get("/openapi.json")).json()
    for path in ("/api/v1/bargains/{bargain_ref}/cuts", "/api/v1/bargains/{bargain_ref}/order"):
        assert "bargain_offer_closed" in spec["paths"][path]["post"]["x-error-codes"], path


async def test_an_order_placed_before_the_close_that_lapses_is_not_placed_again(
    client: TestClient, settings: Settings
) -> None:
    offer, sku = await open_offer(client, settings, price=3000, floor=1000, helpers=1, stock=3)
    starter, boss = await make_user(), await make_user(Role.ADMIN)
    code = (await start(client, settings, offer, starter))["code"]
    placed = await _order(client, settings, code, starter)
    closed = await client.post(
        f"/api/v1/admin/bargain-offers/{offer['id']}/close", headers=auth(boss, settings)
    )
    assert closed.status == 200
    assert await _closed_news() == set()  # their order waits for payment: nothing ended
    later = datetime.now(tz=UTC) + timedelta(minutes=20)
    assert await checkout.release_expired_direct(now=later) == 1
    assert (await Order.get(id=placed["id"])).status is OrderStatus.CANCELLED
    assert (await Sku.get(id=sku.id)).stock == 3
    shown = await (await client.get(f"/api/v1/bargains/{code}")).json()
    assert shown["state"] == "closed"
    resp = await client.post(f"/api/v1/bargains/{code}/order", headers=auth(starter, settings))
    assert (resp.status, (await resp.json())["code"]) == (409, "bargain_offer_closed")
    assert (await Sku.get(id=sku.id)).stock == 3


async def test_a_close_racing_starts_cuts_and_buys_leaves_nothing_running(
    client: TestClient, settings: Settings
) -> None:
    """A close at once with starts, cuts and buys on its offer: whatever committed before the
    close is ended by it or kept as an order, nothing starts, cuts or sells after it."""
    offer, sku = await open_offer(client, settings, price=9000, floor=1000, helpers=3, stock=100)
    starters = [await make_user() for _ in range(15)]
    codes = [(await start(client, settings, offer, u))["code"] for u in starters]
    helpers = [await make_user() for _ in range(15)]
    newcomers = [await make_user() for _ in range(15)]
    boss = await make_user(Role.ADMIN)
    calls: list[Any] = [
        client.post(
            f"/api/v1/admin/bargain-offers/{offer['id']}/close", headers=auth(boss, settings)
        )
    ]
    for i, code in enumerate(codes):
        calls.append(cut(client, settings, code, helpers[i]))
        calls.append(
            client.post(f"/api/v1/bargains/{code}/order", headers=auth(starters[i], settings))
        )
        calls.append(
            client.post(
                f"/api/v1/bargain-offers/{offer['id']}/bargains",
                headers=auth(newcomers[i], settings),
            )
        )
    responses = await asyncio.gather(*calls)
    assert responses[0].status == 200
    seen: Counter[Any] = Counter()
    for resp in responses[1:]:
        seen[resp.status if resp.status == 201 else (await resp.json())["code"]] += 1
    assert set(seen) <= {201, "bargain_offer_closed", "bargain_closed"}, seen

    found = await Bargain.filter(offer_id=offer["id"]).prefetch_related("order")
    assert not [b for b in found if b.status is BargainStatus.OPEN]  # none runs on
    ordered = [b for b in found if b.status is BargainStatus.ORDERED]
    assert all(b.order.status is OrderStatus.PENDING_PAYMENT for b in ordered)
    ended = {str(b.id) for b in found if b.status is BargainStatus.EXPIRED}
    assert await _closed_news() == ended
    assert len(ordered) + len(ended) == len(found)
    assert (await Sku.get(id=sku.id)).stock == 100 - len(ordered)
    assert await Order.filter(kind=OrderKind.BARGAIN).count() == len(ordered)


async def test_share_card_and_page(client: TestClient, settings: Settings) -> None:
    offer, _ = await open_offer(client, settings, price=9900, floor=990, helpers=3)
    starter = await make_user()
    code = (await start(client, settings, offer, starter))["code"]
    share = await (await client.get(f"/api/v1/bargains/{code}/share")).json()
    assert share["path"] == f"/pages/bargain/index?code={code}"
    assert share["h5_url"].endswith(f"/h5/bargains/{code}")
    assert "9.90" in share["title"]
    page = await client.get(f"/h5/bargains/{code}")
    assert page.status == 200
    html = await page.text()
    assert "还差3刀" in html and "帮TA砍一刀" in html and "pages/bargain/index" in html
    # The page knows nobody, so it cuts nothing: it says where a friend cuts.
    assert f"「帮砍 {code}」" in html and "不能直接砍价" in html
    missing = await client.get("/h5/bargains/NOSUCH12")
    assert missing.status == 404


async def test_a_ref_that_cannot_be_a_code_is_not_found(
    client: TestClient, settings: Settings
) -> None:
    """A ref longer than a code's column (the fuzzer's ``Take one's like back``) is a 404 on
    every bargain door, not the column's refusal as a 500."""
    shopper = await make_user()
    headers = auth(shopper, settings)
    for ref in ("Take one's like back", "X" * 17, " "):
        for method, path in (
            ("GET", f"/api/v1/bargains/{ref}"),
            ("POST", f"/api/v1/bargains/{ref}/cuts"),
            ("POST", f"/api/v1/bargains/{ref}/order"),
        ):
            resp = await client.request(method, path, headers=headers)
            body = await resp.json()
            assert (resp.status, body["code"]) == (404, "bargain_not_found"), (method, ref, body)


async def test_my_bargains_cost_the_same_few_statements_however_many(
    client: TestClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """GET /api/v1/me/bargains reads each bargain's product, order, cuts and offer for all
    of them at once: one bargain or four (cut, ordered, its offer closed), the same count."""
    me, friend = await make_user(), await make_user()
    statements = Statements(caplog)
    seen = []
    for more in (1, 3):
        for _ in range(more):
            offer, _ = await open_offer(client, settings, helpers=2)
            started = await start(client, settings, offer, me)
            assert (await cut(client, settings, started["code"], friend)).status == 201
        ordered = await client.post(
            f"/api/v1/bargains/{started['code']}/order", headers=auth(me, settings)
        )
        assert ordered.status == 201, await ordered.text()
        statements.start()
        resp = await client.get("/api/v1/me/bargains", headers=auth(me, settings))
        assert resp.status == 200, await resp.text()
        items = (await resp.json())["items"]
        seen.append((len(items), len(statements.since())))
        assert all(len(i["cuts"]) == 1 for i in items) and items[0]["state"] == "ordered"
    # The bargains, then their SKUs with products, orders, cuts with helpers and open offers
    # (the principal comes from the token): it was five more for each bargain.
    assert seen == [(1, 5), (4, 5)], seen


async def test_my_bargains_page_newest_first_each_once(
    client: TestClient, settings: Settings
) -> None:
    """GET /api/v1/me/bargains stopped at 20 without saying so: now next_cursor leads on."""
    me = await make_user()
    codes = []
    for _ in range(5):
        offer, _ = await open_offer(client, settings, helpers=2)
        codes.append((await start(client, settings, offer, me))["code"])
    pages = [
        [b["code"] for b in page]
        for page in await every_page(
            client, "/api/v1/me/bargains", headers=auth(me, settings), limit="2"
        )
    ]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [c for p in pages for c in p] == codes[::-1]  # newest first, none twice or lost
    for bad in ({"cursor": "nope"}, {"limit": "0"}, {"limit": "101"}):
        refused = await client.get("/api/v1/me/bargains", params=bad, headers=auth(me, settings))
        assert refused.status == 422, bad
