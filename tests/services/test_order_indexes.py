"""The indexes a join no longer maintains (migration 0121) still serve the queries that read
them: each partial index is in the plan of a query shaped as the code writes it (the plan is
asked with sequential scans off, as a large table would choose), and the two partial unique
indexes still refuse a duplicate."""

from __future__ import annotations

import pytest
from tortoise import connections
from tortoise.exceptions import IntegrityError

from models.order import Order
from services import prepays
from tests.support.factories import make_campaign, make_user

pytestmark = pytest.mark.usefixtures("client")

# Each query as a caller writes it, and the index its plan should use.
PLANS = (
    # rollups, statements: a day's payments
    (
        "SELECT count(*) FROM orders WHERE paid_at >= now() - interval '1 day' AND paid_at < now()",
        "idx_orders_paid_at",
    ),
    # rollups: a day's pickups
    (
        "SELECT count(*) FROM orders "
        "WHERE picked_up_at >= now() - interval '1 day' AND picked_up_at < now()",
        "idx_orders_picked_up_at",
    ),
    # pickup: the code shown at the pickup point
    ("SELECT id FROM orders WHERE pickup_code = 'ABC123'", "uq_order_pickup_code"),
    ("SELECT id FROM orders WHERE transaction_id = '4200000001'", "orders_transaction_id_key"),
    # reminders.warn_lapsing (the full reserved_until index is gone)
    (
        "SELECT id FROM orders WHERE status = 'pending_payment' AND lapse_warned_at IS NULL "
        "AND reserved_until > now() AND reserved_until <= now() + interval '1 hour' LIMIT 500",
        "idx_orders_unpaid_until",
    ),
)


# A year of finished orders (paid, picked up, coded) and a few awaiting payment, analysed: the
# planner then weighs the indexes as it does on a shop's table.
HISTORY = """
INSERT INTO orders (id, out_trade_no, kind, user_id, sku_id, quantity, unit_price, amount,
                    status, reserved_until, paid_at, picked_up_at, pickup_code, transaction_id,
                    created_at, updated_at)
SELECT gen_random_uuid(), 'QSHIST' || i, 'direct', $1, $2, 1, 100, 100,
       CASE WHEN i <= 10 THEN 'pending_payment' ELSE 'completed' END,
       now() - (i - 20) * interval '1 hour',
       CASE WHEN i > 10 THEN now() - i * interval '1 hour' END,
       CASE WHEN i > 10 THEN now() - i * interval '1 hour' END,
       CASE WHEN i > 10 THEN 'C' || i END,
       CASE WHEN i > 10 THEN '42' || i END,
       now() - i * interval '1 hour', now()
  FROM generate_series(1, 3000) AS i
"""


@pytest.mark.parametrize(("query", "index"), PLANS)
async def test_a_query_still_reads_its_partial_index(query: str, index: str) -> None:
    campaign = await make_campaign()
    user = await make_user()
    db = connections.get("default")
    async with db.acquire_connection() as conn:
        await conn.execute(HISTORY, user.id, campaign.sku_id)
        await conn.execute("ANALYZE orders")
        await conn.execute("SET enable_seqscan = off")
        try:
            plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {query}"))
        finally:
            await conn.execute("RESET enable_seqscan")
    assert index in plan, plan


async def test_unpaid_orders_share_a_null_code_and_a_code_stays_unique() -> None:
    campaign = await make_campaign()
    user = await make_user()
    made = [
        await Order.create(
            out_trade_no=f"QSINDEX{i}",
            kind="direct",
            user=user,
            sku_id=campaign.sku_id,
            unit_price=100,
            amount=100,
        )
        for i in range(3)
    ]
    await Order.filter(id=made[0].id).update(pickup_code="P1", transaction_id="T1")
    with pytest.raises(IntegrityError):
        await Order.filter(id=made[1].id).update(pickup_code="P1")
    with pytest.raises(IntegrityError):
        await Order.filter(id=made[1].id).update(transaction_id="T1")
    assert await Order.filter(pickup_code__isnull=True).count() == 2


# A new shop: a table never analysed. A connection keeps the generic plan it makes then until
# the next ANALYZE, while the table grows (a burst of unpaid orders before autovacuum runs): a
# look-up by id must read the primary key, not walk the clock's partial index. A temporary copy
# of the table (same columns and indexes, never analysed) stands for the new shop's.
BY_ID = (
    (
        "orders",  # prepay's read that fixes the price (services/prepays.py)
        prepays._PREPAY_SQL.replace("FROM orders o", "FROM {table} o").replace(
            "UPDATE orders SET", "UPDATE {table} AS orders SET"
        ),
        "uuid, timestamptz, boolean, uuid, boolean",
    ),
    ("seats", "UPDATE {table} SET status = 'paid' WHERE id = $1 AND status = 'reserved'", "uuid"),
    (
        "teams",
        "UPDATE {table} SET seats_held = seats_held + 1 WHERE id = $1 AND status = 'open'",
        "uuid",
    ),
)


@pytest.mark.parametrize(("table", "statement", "types"), BY_ID)
async def test_an_update_by_id_reads_the_primary_key_on_a_new_table(
    table: str, statement: str, types: str
) -> None:
    db = connections.get("default")
    async with db.acquire_connection() as conn, conn.transaction():
        await conn.execute(
            f"CREATE TEMP TABLE new_{table} (LIKE {table} INCLUDING ALL) ON COMMIT DROP"
        )
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        await conn.execute(f"PREPARE by_id ({types}) AS {statement.format(table=f'new_{table}')}")
        args = ", ".join("NULL" for _ in types.split(","))
        plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN EXECUTE by_id ({args})"))
        await conn.execute("DEALLOCATE by_id")
    assert "pkey" in plan, plan
    # The new table is never walked; the joined small tables (a community, its leader's
    # identity) may be, as the planner likes for a few rows, in the database the suite left.
    assert f"Seq Scan on new_{table}" not in plan, plan
