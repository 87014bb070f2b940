"""The flash sale's Redis gate: refusals cost no database read, a lost gate is rebuilt exactly.

The database stays the authority: a gate that admits too many, a stale copy of the sale's
window, or a flush mid-sale never sells more than the stock. Counted in rows.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from models.activity import FlashSale
from models.order import Order, OrderKind
from models.user import User
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from qunshop.errors import Conflict
from qunshop.keys import FLASH_GATE
from services import flashbuy
from tests.services.flash_world import buy_url, cancel_sale, gate_counts, start_sale, who
from tests.support.factories import auth, make_user
from tests.support.statements import Statements


@pytest.fixture
def statements(caplog: pytest.LogCaptureFixture) -> Statements:
    return Statements(caplog)


class ScriptCalls:
    """How many times the app called a Lua script in Redis (one round trip each)."""

    def __init__(self, redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = redis.evalsha

        async def evalsha(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await real(*args, **kwargs)

        monkeypatch.setattr(redis, "evalsha", evalsha)


async def _post(api: TestClient, sale: FlashSale, headers: dict[str, str], **body: Any) -> Any:
    resp = await api.post(buy_url(sale), json=body, headers=headers)
    return resp.status, await resp.json()


async def _database_counts(sale: FlashSale) -> dict[str, int]:
    held: Counter[str] = Counter()
    for user_id, quantity in await Order.filter(kind=OrderKind.FLASH).values_list(
        "user_id", "quantity"
    ):
        held[f"u:{user_id}"] += quantity
    return {"stock": (await FlashSale.get(id=sale.id)).stock_left, **held}


async def _sold(sale: FlashSale, *, limit: int) -> Counter[Any]:
    """The verdict, from rows: never more than the stock, never more than the limit each."""
    held: Counter[Any] = Counter()
    for user_id, quantity in await Order.filter(kind=OrderKind.FLASH).values_list(
        "user_id", "quantity"
    ):
        held[user_id] += quantity
    assert sum(held.values()) + (await FlashSale.get(id=sale.id)).stock_left == sale.stock
    assert not held or max(held.values()) <= limit
    return held


async def test_refusals_are_answered_by_the_gate_without_the_database(
    api: TestClient,
    settings: Settings,
    clock: FrozenClock,
    redis: Redis,
    statements: Statements,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sale = await start_sale(clock, stock=4, limit=2)
    a, b, c, d = [await make_user() for _ in range(4)]
    assert (await _post(api, sale, auth(a, settings), quantity=2))[0] == 201
    assert (await _post(api, sale, auth(b, settings)))[0] == 201  # one left
    scripts = ScriptCalls(redis, monkeypatch)

    statements.start()
    limit = await _post(api, sale, auth(a, settings))
    short = await _post(api, sale, auth(c, settings), quantity=2)
    over = await _post(api, sale, auth(c, settings), quantity=3)  # the body allows up to 100
    assert statements.since() == []  # not one statement
    assert scripts.count == 3  # one round trip each

    assert limit[0] == 409 and limit[1]["code"] == "user_limit_reached"
    assert "at most 2 per person" in limit[1]["detail"]
    assert short[0] == 409 and short[1]["code"] == "out_of_stock"
    assert over[0] == 422 and over[1]["errors"][0]["type"] == "invalid_quantity"
    assert "1..2" in over[1]["detail"]

    assert (await _post(api, sale, auth(c, settings)))[0] == 201  # the last unit
    statements.start()
    sold_out = await _post(api, sale, auth(d, settings))
    assert sold_out[0] == 409 and sold_out[1]["code"] == "out_of_stock"
    assert statements.since() == []
    assert await gate_counts(redis, sale) == await _database_counts(sale)
    await _sold(sale, limit=2)


async def test_a_cold_gate_costs_the_database_one_read_per_burst(
    api: TestClient, settings: Settings, clock: FrozenClock, statements: Statements
) -> None:
    sale = await start_sale(clock, stock=10, limit=1)
    users = [await make_user() for _ in range(150)]
    headers = [auth(u, settings) for u in users]

    statements.start()
    answers = await asyncio.gather(*(_post(api, sale, h) for h in headers))
    sent = statements.since()

    assert Counter(s for s, _ in answers) == {201: 10, 409: 140}
    assert {b["code"] for s, b in answers if s == 409} == {"out_of_stock"}
    # The ten winners write; the 140 refused read nothing. Before the gate answered alone
    # every buyer read the sale and its activity: 300 statements at least.
    reads = [q for q in sent if q.lstrip().upper().startswith("SELECT") and "flash_sales" in q]
    # The sale for the burst, twice to (re)build the gate, and its row locked for the winners
    # admitted together (one batch here).
    assert len(reads) <= 4
    assert len(sent) <= 10 * 4 + 5
    await _sold(sale, limit=1)


async def test_a_flushed_gate_is_rebuilt_exactly_from_the_database(
    api: TestClient, settings: Settings, clock: FrozenClock, redis: Redis
) -> None:
    sale = await start_sale(clock, stock=40, limit=2)
    early = [await make_user() for _ in range(15)]
    late = [await make_user() for _ in range(60)]
    headers = {u.id: auth(u, settings) for u in early + late}

    first = await asyncio.gather(*(_post(api, sale, headers[u.id]) for u in early for _ in (1, 2)))
    assert Counter(s for s, _ in first) == {201: 30}
    before = await gate_counts(redis, sale)
    assert before == await _database_counts(sale)
    await redis.flushdb()

    wave = [u for u in early + late for _ in (1, 2)]
    random.Random(5).shuffle(wave)
    second = await asyncio.gather(*(_post(api, sale, headers[u.id]) for u in wave))
    codes = Counter(s if s == 201 else b["code"] for s, b in second)
    assert codes[201] == 10
    assert codes[201] + codes["out_of_stock"] + codes["user_limit_reached"] == len(wave)
    held = await _sold(sale, limit=2)
    assert sum(held.values()) == 40
    assert all(held[u.id] == 2 for u in early)  # their orders were counted after the flush
    assert await gate_counts(redis, sale) == await _database_counts(sale)  # rebuilt exactly


async def test_a_gate_that_admits_too_many_cannot_oversell(
    api: TestClient, settings: Settings, clock: FrozenClock, redis: Redis
) -> None:
    sale = await start_sale(clock, stock=20, limit=1)
    first = await make_user()
    assert (await _post(api, sale, auth(first, settings)))[0] == 201
    await redis.hset(f"flash:{{{sale.id}}}", "stock", 1000)  # a gate far off the truth
    users = [await make_user() for _ in range(80)]
    answers = await asyncio.gather(*(_post(api, sale, auth(u, settings)) for u in users))
    assert Counter(s for s, _ in answers) == {201: 19, 409: 61}
    assert {b["code"] for s, b in answers if s == 409} == {"out_of_stock"}
    assert await Order.filter(kind=OrderKind.FLASH).count() == 20
    assert (await FlashSale.get(id=sale.id)).stock_left == 0
    assert (await gate_counts(redis, sale))["stock"] == 1000 - 19  # the refused gave theirs back


async def test_a_stale_window_in_the_gate_is_corrected_from_the_database(
    api: TestClient, settings: Settings, clock: FrozenClock, redis: Redis
) -> None:
    sale = await start_sale(clock, stock=10, limit=1)
    a, b = await make_user(), await make_user()
    assert (await _post(api, sale, auth(a, settings)))[0] == 201  # the gate knows the window
    # The sale is extended behind the gate's back: past the old end the gate is unsure, so
    # the database answers, and the gate learns the new window.
    await FlashSale.filter(id=sale.id).update(ends_at=sale.ends_at + timedelta(minutes=30))
    clock.advance(timedelta(minutes=45))
    assert (await _post(api, sale, auth(b, settings, clock.now())))[0] == 201
    raw = await redis.hget(f"flash:{{{sale.id}}}", "ends")
    moved = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(raw))
    assert moved == sale.ends_at + timedelta(minutes=30)


async def test_a_cancelled_sale_is_not_running_though_the_gate_still_has_stock(
    api: TestClient, settings: Settings, clock: FrozenClock, redis: Redis
) -> None:
    sale = await start_sale(clock, stock=5, limit=1)
    buyer, late, later = await make_user(), await make_user(), await make_user()
    assert (await _post(api, sale, auth(buyer, settings)))[0] == 201
    await cancel_sale(sale, clock, redis)
    for user in (late, later):
        status, body = await _post(api, sale, auth(user, settings))
        assert status == 409 and body["code"] == "flash_sale_not_running"
    assert (await gate_counts(redis, sale))["stock"] == 4  # what the refused took, given back
    assert await Order.filter(kind=OrderKind.FLASH).count() == 1


async def test_buyers_arriving_together_share_one_trip_to_the_gate(
    api: TestClient,
    settings: Settings,
    clock: FrozenClock,
    redis: Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sale = await start_sale(clock, stock=5, limit=1)
    first = await make_user()
    assert (await _post(api, sale, auth(first, settings)))[0] == 201  # primes the gate
    users = [await make_user() for _ in range(60)]
    scripts = ScriptCalls(redis, monkeypatch)

    async def buy(user: User) -> str:
        try:
            await flashbuy.buy(
                principal=who(user),
                sale_id=str(sale.id),
                gate=api.server.app[FLASH_GATE],
                now=clock.now(),
            )
        except Conflict as exc:
            return exc.code.value
        return "ok"

    verdicts = Counter(await asyncio.gather(*(buy(u) for u in users)))
    assert verdicts == {"ok": 4, "out_of_stock": 56}
    assert scripts.count == 1  # all sixty judged in one script call
    await _sold(sale, limit=1)


async def test_exactly_the_stock_is_sold_to_a_concurrent_crowd_on_postgres(
    api: TestClient, settings: Settings, clock: FrozenClock, redis: Redis
) -> None:
    """A cold gate, 600 requests released together, some asking for two; counted in rows."""
    sale = await start_sale(clock, stock=60, limit=2)
    users = [await make_user() for _ in range(300)]
    headers = {u.id: auth(u, settings) for u in users}
    rng = random.Random(11)
    attempts = [(u, rng.choice((1, 1, 2))) for u in users for _ in (1, 2)]
    rng.shuffle(attempts)

    answers = await asyncio.gather(
        *(_post(api, sale, headers[u.id], quantity=q) for u, q in attempts)
    )
    codes = Counter(s if s == 201 else b["code"] for s, b in answers)
    assert codes["out_of_stock"] + codes["user_limit_reached"] + codes[201] == len(attempts)
    held = await _sold(sale, limit=2)
    assert sum(held.values()) == 60
    assert sum(await Order.filter(kind=OrderKind.FLASH).values_list("quantity", flat=True)) == 60
    assert (await FlashSale.get(id=sale.id)).stock_left == 0
    assert await gate_counts(redis, sale) == await _database_counts(sale)
