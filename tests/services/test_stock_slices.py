"""Stock slices (migration 0020): joins take their unit from a few rows per campaign, not all
from the campaign's, and never oversell. Real concurrency on PostgreSQL; rows are the verdict.
"""

from __future__ import annotations

import asyncio
import importlib
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from tortoise import connections

from models.groupbuy import Campaign, Seat, SeatStatus, StockSlice, Team
from models.order import Order
from models.user import User
from qunshop.errors import Conflict
from services import campaigns, groupbuy
from services.auth import Principal
from tests.support.factories import make_campaign, make_user, stock_left

pytestmark = pytest.mark.usefixtures("client")

REFILL = importlib.import_module("migrations.0020_stock_slices").REFILL


def who(user: Any) -> Principal:
    return Principal(user_id=user.id, role=user.role)


async def _teams(campaign: Campaign, count: int, now: datetime) -> list[str]:
    codes = []
    for _ in range(count):
        head = await make_user()
        started = await groupbuy.start_team(
            principal=who(head), campaign_id=str(campaign.id), now=now
        )
        codes.append(started.team.code)
    return codes


async def _join(user: Any, code: str, now: datetime) -> str:
    try:
        await groupbuy.join_team(principal=who(user), team_ref=code, now=now)
    except Conflict as exc:
        return exc.code
    return "joined"


async def _slices(campaign_id: uuid.UUID) -> list[int]:
    return list(
        await StockSlice.filter(campaign_id=campaign_id).values_list("stock_left", flat=True)
    )


async def _check_rows(campaign: Campaign) -> int:
    """Reserve + slices + live seats is the stock cap; every count from the rows."""
    fresh = await Campaign.get(id=campaign.id)
    slices = await _slices(campaign.id)
    live = await Seat.filter(campaign_id=campaign.id).exclude(status=SeatStatus.RELEASED).count()
    assert fresh.stock_left >= 0 and all(n >= 0 for n in slices)
    assert fresh.stock_left + sum(slices) + live == fresh.stock_cap
    assert (
        await Order.filter(campaign_id=campaign.id).count()
        == await Seat.filter(campaign_id=campaign.id).count()
    )
    assert await stock_left(campaign.id) == fresh.stock_left + sum(slices)
    return live


async def test_joins_take_from_slices_and_the_campaign_row_is_refilled_in_steps() -> None:
    now = datetime.now(tz=UTC)
    campaign = await make_campaign(team_size=50, stock_cap=200)
    (code,) = await _teams(campaign, 1, now)
    for _ in range(10):
        assert await _join(await make_user(), code, now) == "joined"
    reserve = (await Campaign.get(id=campaign.id)).stock_left
    # Eleven units taken (the head's and ten joins), in whole refills from the reserve.
    assert (200 - reserve) % REFILL == 0 and reserve < 200 - 11 + REFILL
    assert await stock_left(campaign.id) == 200 - 11
    assert await _check_rows(campaign) == 11


async def test_the_last_units_spread_over_slices_sell_exactly_once() -> None:
    """Stock 40: joins one at a time until the reserve is under one refill (the rest is
    spread over several slices), then 120 joiners at once for what is left."""
    now = datetime.now(tz=UTC)
    campaign = await make_campaign(team_size=50, stock_cap=40)
    codes = await _teams(campaign, 3, now)  # 3 units: the heads'
    k = 0
    while (await Campaign.get(id=campaign.id)).stock_left >= REFILL:
        assert await _join(await make_user(), codes[k % 3], now) == "joined"
        k += 1
    assert len([n for n in await _slices(campaign.id) if n > 0]) >= 2
    left = await stock_left(campaign.id)
    assert left == 40 - 3 - k > 0

    users = [await make_user() for _ in range(120)]
    results = await asyncio.gather(*(_join(u, codes[i % 3], now) for i, u in enumerate(users)))
    assert Counter(results) == {"joined": left, "campaign_sold_out": 120 - left}
    assert await stock_left(campaign.id) == 0
    assert await _slices(campaign.id) and set(await _slices(campaign.id)) == {0}
    assert await _check_rows(campaign) == 40
    assert sum(t.seats_held for t in await Team.filter(campaign_id=campaign.id)) == 40


async def test_joins_across_many_teams_refill_and_run_dry_together_without_deadlock() -> None:
    """Sixteen teams, so up to twenty joins run at once (the pool) on different team rows:
    slices are refilled, emptied and scanned concurrently, and every join either gets a unit
    or is told sold out (a deadlock would surface here as a database error)."""
    now = datetime.now(tz=UTC)
    campaign = await make_campaign(team_size=50, stock_cap=100)
    codes = await _teams(campaign, 16, now)
    users = [await make_user() for _ in range(200)]
    results = await asyncio.gather(*(_join(u, codes[i % 16], now) for i, u in enumerate(users)))
    assert Counter(results) == {"joined": 100 - 16, "campaign_sold_out": 200 - 84}
    assert await stock_left(campaign.id) == 0
    assert await _check_rows(campaign) == 100


async def test_starts_and_joins_at_once_share_the_stock_without_overselling() -> None:
    now = datetime.now(tz=UTC)
    campaign = await make_campaign(team_size=50, stock_cap=60)
    codes = await _teams(campaign, 2, now)
    joiners = [await make_user() for _ in range(80)]
    starters = [await make_user() for _ in range(40)]
    results = await asyncio.gather(
        *(_join(u, codes[i % 2], now) for i, u in enumerate(joiners)),
        *(
            groupbuy.start_team(principal=who(u), campaign_id=str(campaign.id), now=now)
            for u in starters
        ),
        return_exceptions=True,
    )
    for result in results:  # every refusal is the sold-out one
        if isinstance(result, BaseException):
            assert isinstance(result, Conflict) and result.code == "campaign_sold_out"
        elif isinstance(result, str):
            assert result in ("joined", "campaign_sold_out")
    assert await stock_left(campaign.id) == 0
    assert await _check_rows(campaign) == 60


async def test_closing_a_campaign_while_members_join_leaves_the_rows_adding_up() -> None:
    now = datetime.now(tz=UTC)
    campaign = await make_campaign(team_size=50, stock_cap=100)
    codes = await _teams(campaign, 2, now)
    for i in range(20):  # slices hold stock when the close comes
        assert await _join(await make_user(), codes[i % 2], now) == "joined"
    leader = who(await User.get(id=campaign.created_by_id))
    users = [await make_user() for _ in range(40)]
    results = await asyncio.gather(
        *(_join(u, codes[i % 2], now) for i, u in enumerate(users)),
        campaigns.close(principal=leader, campaign_id=campaign.id, now=now),
    )
    assert set(results[:-1]) <= {"joined", "campaign_not_active"}
    live = await _check_rows(campaign)
    assert live == 22 + results.count("joined")
    # Closed: nobody else gets in, and nothing moves.
    before = (await stock_left(campaign.id), await _slices(campaign.id))
    assert await _join(await make_user(), codes[0], now) == "campaign_not_active"
    assert (await stock_left(campaign.id), await _slices(campaign.id)) == before
    # A seat given back after the close returns its unit to the stock.
    seat = await Seat.filter(campaign_id=campaign.id, is_head=False).first()
    assert seat is not None
    assert await groupbuy.release_seat(seat.id, now=now, force=True)
    assert await stock_left(campaign.id) == before[0] + 1
    assert await _check_rows(campaign) == live - 1


async def _blocked(observer: Any, waiting: Any) -> None:
    """Until ``waiting``'s statement waits for a lock, as ``observer`` (outside any
    transaction: pg_stat_activity is read once per transaction) sees it."""
    pid = waiting.get_server_pid()
    for _ in range(200):
        event = await observer.fetchval(
            "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pid
        )
        if event == "Lock":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"backend {pid} never waited for a lock")


async def test_a_join_that_found_a_slice_empty_holds_no_lock_on_it() -> None:
    """The deadlock the subtransactions prevent, step by step on three connections: B waits
    for A's last unit of slice 0 and finds it gone; C, refilling slice 0 from the campaign row,
    must not then wait for B, which next asks for the campaign row C holds."""
    campaign = await make_campaign(stock_cap=40)
    pool = connections.get("default")._pool
    take_slice = "SELECT qunshop_take_slice($1, 0::smallint)"
    take_reserve = "SELECT qunshop_take_reserve($1, 0::smallint)"
    async with pool.acquire() as a, pool.acquire() as b, pool.acquire() as c, pool.acquire() as d:
        assert await a.fetchval(take_reserve, campaign.id)  # slice 0: 15 units
        for _ in range(14):
            assert await a.fetchval(take_slice, campaign.id)
        for conn in (a, b, c):
            await conn.execute("BEGIN")
        assert await a.fetchval(take_slice, campaign.id)  # the last unit, not committed
        b_waits = asyncio.create_task(b.fetchval(take_slice, campaign.id))
        await _blocked(d, b)  # B waits for A
        # C takes the campaign row and waits for slice 0 (A still holds it).
        c_refills = asyncio.create_task(c.fetchval(take_reserve, campaign.id))
        await _blocked(d, c)
        await a.execute("COMMIT")  # A's unit is gone
        # Whichever of B and C then locks slice 0 first, C finishes while B's transaction is
        # still open: B, rechecking slice 0 and finding it empty, keeps no lock on it.
        assert await asyncio.wait_for(c_refills, 10) is True
        await c.execute("COMMIT")
        # B found slice 0 empty (False), or, locking it after C, one of C's fifteen (True).
        assert await asyncio.wait_for(b_waits, 10) in (False, True)
        await b.execute("ROLLBACK")
    # A: one refill (16) then 15 units; C: one refill, one unit for itself, 15 set aside.
    assert await stock_left(campaign.id) == 40 - 16 - 1
    assert await _slices(campaign.id) == [15]
