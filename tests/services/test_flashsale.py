"""秒杀 through the HTTP door with real concurrency; the database's rows are the verdict."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from models.activity import Activity, ActivityKind, FlashSale
from models.catalog import Sku
from models.order import Order, OrderKind, OrderStatus
from models.outbox import OutboxMessage
from models.user import User
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from qunshop.errors import Invalid
from services import activities, checkout, flashsale, flashtake, payments
from services.activities import Draft
from services.flashsale import FlashSpec
from tests.services.flash_world import (
    buy_url,
    cancel_sale,
    gate_counts,
    place_sale,
    start_sale,
    who,
)
from tests.support.factories import auth, make_community, make_sku, make_user


async def _codes(responses: list[Any]) -> Counter[Any]:
    counts: Counter[Any] = Counter()
    for resp in responses:
        body = await resp.json()
        counts[resp.status if resp.status == 201 else body["code"]] += 1
    return counts


async def _verdict(sale: FlashSale, *, limit: int) -> Counter[Any]:
    held: Counter[Any] = Counter()
    for user_id, quantity in await Order.filter(kind=OrderKind.FLASH).values_list(
        "user_id", "quantity"
    ):
        held[user_id] += quantity
    assert max(held.values()) <= limit
    assert sum(held.values()) == sale.stock
    assert (await FlashSale.get(id=sale.id)).stock_left == 0
    return held


async def test_1000_buyers_for_100_units(
    api: TestClient, settings: Settings, clock: FrozenClock
) -> None:
    sale = await start_sale(clock, stock=100, limit=2)
    users = [await make_user() for _ in range(400)]
    headers = {u.id: auth(u, settings, clock.now()) for u in users}
    # everyone tries twice, half of them three times: 1000 requests released together
    attempts = [u for u in users for _ in range(2)] + users[:200]
    random.Random(7).shuffle(attempts)

    responses = await asyncio.gather(
        *(api.post(buy_url(sale), json={}, headers=headers[u.id]) for u in attempts)
    )
    counts = await _codes(responses)
    assert counts[201] == 100
    assert counts[201] + counts["out_of_stock"] + counts["user_limit_reached"] == 1000
    assert await Order.filter(kind=OrderKind.FLASH).count() == 100
    await _verdict(sale, limit=2)
    orders = await Order.filter(kind=OrderKind.FLASH)
    assert {o.status for o in orders} == {OrderStatus.PENDING_PAYMENT}
    assert all(o.amount == 990 and o.reserved_until is not None for o in orders)


async def test_a_flushed_redis_mid_sale_does_not_oversell(
    api: TestClient,
    settings: Settings,
    clock: FrozenClock,
    redis: Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="services.flashbuy")
    sale = await start_sale(clock, stock=100, limit=2)
    early = [await make_user() for _ in range(30)]
    late = [await make_user() for _ in range(200)]
    headers = {u.id: auth(u, settings, clock.now()) for u in early + late}

    def post(user: User) -> Any:
        return api.post(buy_url(sale), json={}, headers=headers[user.id])

    first = await asyncio.gather(*(post(u) for u in early for _ in range(2)))
    assert (await _codes(first))[201] == 60
    await redis.flushdb()

    async def flush_again() -> None:
        await asyncio.sleep(0.02)
        await redis.flushdb()

    wave = [u for u in early + late for _ in range(2)]
    random.Random(3).shuffle(wave)
    second = await asyncio.gather(*(post(u) for u in wave), flush_again())
    counts = await _codes(list(second[:-1]))
    assert counts[201] == 40
    held = await _verdict(sale, limit=2)
    assert all(held[u.id] == 2 for u in early)  # their orders were counted after each flush
    assert caplog.text.count("gate (re)built from the database") >= 2  # first use, flush


async def test_a_lost_gate_is_rebuilt_from_the_database(
    api: TestClient, settings: Settings, clock: FrozenClock, redis: Redis
) -> None:
    sale = await start_sale(clock, stock=10, limit=2)
    a, b = await make_user(), await make_user()
    for _ in range(2):
        assert (await api.post(buy_url(sale), json={}, headers=auth(a, settings))).status == 201
    await redis.flushdb()
    again = await api.post(buy_url(sale), json={}, headers=auth(a, settings))
    assert again.status == 409 and (await again.json())["code"] == "user_limit_reached"
    assert (await api.post(buy_url(sale), json={}, headers=auth(b, settings))).status == 201
    assert await gate_counts(redis, sale) == {"stock": 7, f"u:{a.id}": 2, f"u:{b.id}": 1}


async def test_when_the_database_refuses_the_gate_is_given_back(
    api: TestClient, settings: Settings, clock: FrozenClock, redis: Redis
) -> None:
    sale = await start_sale(clock, stock=10, limit=1)
    a = await make_user()
    assert (await api.post(buy_url(sale), json={}, headers=auth(a, settings))).status == 201
    await redis.hdel(f"flash:{{{sale.id}}}", f"u:{a.id}")  # the gate forgets a's order
    refused = await api.post(buy_url(sale), json={}, headers=auth(a, settings))
    assert refused.status == 409 and (await refused.json())["code"] == "user_limit_reached"
    assert await gate_counts(redis, sale) == {"stock": 9}  # the database refused; nothing kept
    assert await Order.filter(user_id=a.id).count() == 1
    assert (await FlashSale.get(id=sale.id)).stock_left == 9


async def test_quantities_and_refusals(
    api: TestClient, settings: Settings, clock: FrozenClock
) -> None:
    sale = await start_sale(clock, stock=5, limit=3)
    a, b = await make_user(), await make_user()
    resp = await api.post(buy_url(sale), json={"quantity": 3}, headers=auth(a, settings))
    assert resp.status == 201 and (await resp.json())["amount"] == 3 * 990
    over = await api.post(buy_url(sale), json={"quantity": 4}, headers=auth(b, settings))
    assert over.status == 422
    short = await api.post(buy_url(sale), json={"quantity": 3}, headers=auth(b, settings))
    assert short.status == 409 and (await short.json())["code"] == "out_of_stock"
    assert (
        await api.post(buy_url(sale), json={"quantity": 2}, headers=auth(b, settings))
    ).status == 201
    missing = await api.post("/api/v1/flash-sales/nope/buy", json={}, headers=auth(b, settings))
    assert missing.status == 404
    got = await api.get(f"/api/v1/flash-sales/{sale.id}")
    assert (await got.json())["stock_left"] == 0


async def test_only_while_it_runs(api: TestClient, settings: Settings, clock: FrozenClock) -> None:
    sale = await start_sale(clock, stock=5, limit=1)
    buyer = await make_user()
    clock.advance(timedelta(minutes=-1))
    early = await api.post(buy_url(sale), json={}, headers=auth(buyer, settings, clock.now()))
    assert early.status == 409 and (await early.json())["code"] == "flash_sale_not_running"
    clock.advance(timedelta(minutes=31))
    late = await api.post(buy_url(sale), json={}, headers=auth(buyer, settings, clock.now()))
    assert late.status == 409
    assert await Order.filter(kind=OrderKind.FLASH).count() == 0


async def test_cancelling_mid_sale_stops_it_and_returns_the_rest(
    api: TestClient, settings: Settings, clock: FrozenClock, redis: Redis
) -> None:
    sale = await start_sale(clock, stock=5, limit=1)
    buyer, late = await make_user(), await make_user()
    assert (await api.post(buy_url(sale), json={}, headers=auth(buyer, settings))).status == 201
    await cancel_sale(sale, clock, redis)
    refused = await api.post(buy_url(sale), json={}, headers=auth(late, settings))
    assert refused.status == 409
    assert (await Sku.get(id=sale.sku_id)).stock == 50 + 4
    assert (await FlashSale.get(id=sale.id)).stock_left == 0


async def test_a_cancelled_sold_out_sale_is_not_running(
    api: TestClient, settings: Settings, clock: FrozenClock, redis: Redis
) -> None:
    sale = await start_sale(clock, stock=1, limit=1)
    buyer, late = await make_user(), await make_user()
    assert (await api.post(buy_url(sale), json={}, headers=auth(buyer, settings))).status == 201
    sold_out = await api.post(buy_url(sale), json={}, headers=auth(late, settings))
    assert (await sold_out.json())["code"] == "out_of_stock"  # the gate answers alone
    await cancel_sale(sale, clock, redis)
    refused = await api.post(buy_url(sale), json={}, headers=auth(late, settings))
    assert refused.status == 409 and (await refused.json())["code"] == "flash_sale_not_running"


async def test_an_unpaid_order_lapses_to_the_sku_and_a_paid_one_is_confirmed(
    api: TestClient, settings: Settings, clock: FrozenClock
) -> None:
    sale = await start_sale(clock, stock=5, limit=1)
    payer, lapser = await make_user(), await make_user()
    paid_resp = await api.post(buy_url(sale), json={}, headers=auth(payer, settings))
    paid = await Order.get(id=(await paid_resp.json())["id"])
    await api.post(buy_url(sale), json={}, headers=auth(lapser, settings))
    body = await payments.simulated_notify(
        order=paid,
        api_key=settings.pay_api_key.get_secret_value(),
        appid=settings.wechat_appid,
        mch_id=settings.pay_mch_id,
        transaction_id="4200000000000000001",
        now=clock.now(),
    )
    outcome = await payments.handle_notify(
        body,
        api_key=settings.pay_api_key.get_secret_value(),
        appid=settings.wechat_appid,
        mch_id=settings.pay_mch_id,
        now=clock.now(),
    )
    assert outcome.honoured
    assert (await Order.get(id=paid.id)).status is OrderStatus.CONFIRMED

    assert await checkout.release_expired_direct(now=clock.now() + timedelta(minutes=9)) == 0
    assert await checkout.release_expired_direct(now=clock.now() + flashsale.RESERVATION) == 1
    lapsed = await Order.get(user_id=lapser.id)
    assert lapsed.status is OrderStatus.CANCELLED
    assert (await Sku.get(id=sale.sku_id)).stock == 50 + 1  # back to the SKU, not the sale
    assert (await FlashSale.get(id=sale.id)).stock_left == 3
    again = await api.post(buy_url(sale), json={}, headers=auth(lapser, settings))
    assert again.status == 409  # the lapsed order still counts towards the limit


async def test_an_order_stays_its_sales_when_the_next_sale_of_its_sku_holds_its_time(
    api: TestClient, settings: Settings, clock: FrozenClock, redis: Redis
) -> None:
    """The leader's cancel read its clock two seconds before a purchase committed, so the sale's
    window ends before the order's time; a new sale of the SKU placed from there holds that
    time. The order is still the first sale's (its answer says so): the buyer may buy once in
    the new sale, and when the first order lapses its buyer hears that its sale ended, not that
    the new sale's limit is used."""
    community = await make_community()
    sku = await make_sku(community, stock=60)
    first = await place_sale(community, sku, clock, stock=5, limit=1)
    clock.advance(timedelta(minutes=15))
    buyer = await make_user()
    bought = await api.post(buy_url(first), json={}, headers=auth(buyer, settings, clock.now()))
    assert bought.status == 201 and (await bought.json())["flash_sale_id"] == str(first.id)
    order = await Order.get(id=(await bought.json())["id"])
    clock.advance(timedelta(seconds=-2))
    await cancel_sale(first, clock, redis)
    second = await place_sale(
        community, sku, clock, stock=5, limit=1, starts_in=timedelta(seconds=1)
    )
    assert second.starts_at <= order.created_at < second.ends_at  # the window rule's pick

    clock.advance(timedelta(seconds=2))
    again = await api.post(buy_url(second), json={}, headers=auth(buyer, settings, clock.now()))
    assert again.status == 201, await again.text()
    assert (await again.json())["flash_sale_id"] == str(second.id)
    assert (await FlashSale.get(id=second.id)).stock_left == 4

    assert order.reserved_until is not None
    assert await checkout.release_expired_direct(now=order.reserved_until + timedelta(seconds=1))
    news = await OutboxMessage.get(dedupe_key=f"news:order_lapsed:{order.id}")
    assert news.payload["again"] == flashsale.ENDED


async def test_two_overlapping_sales_of_one_sku_each_count_their_own_orders(
    api: TestClient, settings: Settings, clock: FrozenClock
) -> None:
    """Two sales of one SKU at once: rows the placing door refuses (``open_sale``) but the
    database allows, as a shop's older rows may have them. A buyer at one sale's limit may
    still buy once in the other, and each order's lapse reads its own sale."""
    first = await start_sale(clock, stock=5, limit=1)
    leader = await (await first.activity).created_by
    other = await Activity.create(
        community_id=(await first.activity).community_id,
        kind=ActivityKind.FLASH_SALE,
        created_by=leader,
    )
    second = await FlashSale.create(
        activity=other,
        sku_id=first.sku_id,
        price=990,
        stock=5,
        stock_left=5,
        per_user_limit=2,
        starts_at=first.starts_at - timedelta(minutes=1),
        ends_at=first.ends_at - timedelta(minutes=20),  # ends while the first runs on
    )
    buyer = await make_user()
    headers = auth(buyer, settings, clock.now())
    for sale in (first, second, second):
        bought = await api.post(buy_url(sale), json={}, headers=headers)
        assert bought.status == 201, await bought.text()
    assert (await api.post(buy_url(second), json={}, headers=headers)).status == 409
    assert await flashsale.orders_of(first).count() == 1
    assert await flashsale.orders_of(second).count() == 2

    lapse = clock.now() + flashsale.RESERVATION + timedelta(seconds=1)
    assert await checkout.release_expired_direct(now=lapse) == 3
    heard = {
        (await Order.get(id=row.payload["ref"])).flash_sale_id: row.payload["again"]
        for row in await OutboxMessage.filter(dedupe_key__startswith="news:order_lapsed:")
    }
    assert heard == {first.id: flashsale.LIMIT, second.id: flashsale.ENDED}


async def test_overlapping_sales_of_one_sku_are_refused(
    clock: FrozenClock, api: TestClient
) -> None:
    sale = await start_sale(clock, stock=5, limit=1)
    community = await (await sale.activity).community
    draft = Draft(
        kind=ActivityKind.FLASH_SALE,
        run_at=clock.now() + timedelta(minutes=10),
        flash=FlashSpec(sku_id=str(sale.sku_id), price=100, stock=1),
    )
    with pytest.raises(Invalid) as overlap:
        await activities.create_activity(
            principal=who(await community.leader),
            community_id=community.id,
            draft=draft,
            now=clock.now(),
        )
    assert overlap.value.extra["errors"][0]["type"] == "flash_sale_overlap"


async def test_sales_of_one_sku_placed_at_once_never_overlap(
    clock: FrozenClock, api: TestClient
) -> None:
    """Ten submissions of one SKU and window at once: one sale, nine refusals."""
    community = await make_community()
    sku = await make_sku(community, stock=100)
    leader = who(await community.leader)
    draft = Draft(
        kind=ActivityKind.FLASH_SALE,
        title="鸡蛋秒杀",
        run_at=clock.now() + timedelta(minutes=10),
        flash=FlashSpec(sku_id=str(sku.id), price=100, stock=5),
    )

    async def place() -> str:
        try:
            await activities.create_activity(
                principal=leader, community_id=community.id, draft=draft, now=clock.now()
            )
        except Invalid as exc:
            return str(exc.extra["errors"][0]["type"])
        return "placed"

    outcomes = Counter(await asyncio.gather(*(place() for _ in range(10))))

    assert outcomes == {"placed": 1, "flash_sale_overlap": 9}
    assert await FlashSale.filter(sku_id=sku.id).count() == 1
    assert (await Sku.get(id=sku.id)).stock == 95  # one sale's units carved out, once


async def test_an_ended_sale_gives_unsold_stock_back(api: TestClient, clock: FrozenClock) -> None:
    sale = await start_sale(clock, stock=10, limit=1, extra=5)
    assert await flashsale.close_ended(now=clock.now()) == 0  # still running
    clock.advance(timedelta(minutes=31))
    assert await flashsale.close_ended(now=clock.now()) == 1
    assert await flashsale.close_ended(now=clock.now()) == 0  # idempotent
    assert (await Sku.get(id=sale.sku_id)).stock == 15
    assert (await FlashSale.get(id=sale.id)).stock_left == 0


async def test_buyers_taken_together_never_pass_the_stock_or_a_persons_limit(
    api: TestClient, clock: FrozenClock
) -> None:
    """Batches taken at once, as the gate hands them over: 120 buyers (one of them asking
    12 times, in one batch and across batches) on stock 30 with a limit of 2 a person."""
    sale = await start_sale(clock, stock=30, limit=2)
    read = await FlashSale.filter(id=sale.id).select_related("activity").get()
    users = [await make_user() for _ in range(120)]
    greedy = users[0].id

    def ask(user_id: Any) -> flashtake.Take:
        return flashtake.Take(sale=read, user_id=user_id, quantity=1, now=clock.now(), chat_id=None)

    batches = [
        [ask(u.id) for u in users[k : k + 30]] + [ask(greedy)] * 3 for k in range(0, 120, 30)
    ]
    answers = await asyncio.gather(*(flashtake.take_together(b) for b in batches))

    flat = [a for batch in answers for a in batch]
    assert [len(a) for a in answers] == [len(b) for b in batches]
    bought = [a for a in flat if isinstance(a, flashtake.Purchase)]
    assert len(bought) == 30
    assert {a.order.id for a in bought} == set(
        await Order.filter(kind=OrderKind.FLASH).values_list("id", flat=True)
    )  # each answer is the row it made
    assert {a.code.value for a in flat if not isinstance(a, flashtake.Purchase)} <= {
        "out_of_stock",
        "user_limit_reached",
    }
    assert await Order.filter(kind=OrderKind.FLASH).count() == 30
    assert await Order.filter(kind=OrderKind.FLASH, user_id=greedy).count() <= 2
    assert (await FlashSale.get(id=sale.id)).stock_left == 0


async def test_each_buyers_answer_is_their_order_as_read_back(
    api: TestClient, settings: Settings, clock: FrozenClock
) -> None:
    """Buyers taken together are answered from the rows their one insert returned and one
    read of the product: each answer is the order as reading it back shows it."""
    sale = await start_sale(clock, stock=5, limit=1)
    users = [await make_user() for _ in range(3)]
    responses = await asyncio.gather(
        *(
            api.post(
                buy_url(sale), json={"chat_id": f"g{k}"}, headers=auth(u, settings, clock.now())
            )
            for k, u in enumerate(users)
        )
    )
    for k, (user, resp) in enumerate(zip(users, responses, strict=True)):
        assert resp.status == 201
        answer = await resp.json()
        read = await api.get(
            f"/api/v1/orders/{answer['id']}", headers=auth(user, settings, clock.now())
        )
        assert answer == await read.json()
        assert answer["product"]["sku_id"] == str(sale.sku_id) and answer["list_price"] > 0
        assert (await Order.get(id=answer["id"])).chat_id == f"g{k}"
