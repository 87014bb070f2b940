"""The index entries a join no longer writes (migrations 0150, 0151): every query that read the
dropped or narrowed indexes still reads an index, on a large analysed table (the plan is asked
with sequential scans off, as a large table would choose); the indexes are gone or partial."""

from __future__ import annotations

import re

import pytest
from tortoise import connections

from tests.support.factories import make_campaign

pytestmark = pytest.mark.usefixtures("client")

# A shop's history, analysed: 3,000 people with three orders each in the campaign's community
# (finished, a few ready for pickup, a few unpaid) and a seat each in one of 300 teams.
HISTORY = """
WITH people AS (
    INSERT INTO users (id, openid, nickname, role, created_at)
    SELECT gen_random_uuid(), 'QSHIST' || i, '', 'shopper', now()
      FROM generate_series(1, 3000) AS i
    RETURNING id, openid
), made AS (
    INSERT INTO orders (id, out_trade_no, kind, user_id, community_id, sku_id, campaign_id,
                        quantity, unit_price, amount, status, reserved_until, paid_at,
                        created_at, updated_at)
    SELECT gen_random_uuid(), p.openid || '-' || n, 'group', p.id, $1, $2, $3, 1, 100, 100,
           CASE WHEN n = 1 AND p.openid LIKE '%7' THEN 'pending_payment'
                WHEN n = 1 AND p.openid LIKE '%3' THEN 'ready_for_pickup'
                ELSE 'completed' END,
           now() + interval '10 minutes',
           CASE WHEN n = 1 AND p.openid LIKE '%7' THEN NULL ELSE now() - n * interval '1 day' END,
           now() - n * interval '1 day', now()
      FROM people p, generate_series(1, 3) AS n
    RETURNING id, user_id, created_at
), teams_made AS (
    INSERT INTO teams (id, code, size, seats_held, seats_paid, status, deadline_at, created_at,
                       campaign_id, head_id)
    SELECT gen_random_uuid(), 'QSHIST' || i, 10, 0, 0, 'succeeded', now(), now(), $3, $4
      FROM generate_series(1, 300) AS i
    RETURNING id, code
)
INSERT INTO seats (id, team_id, campaign_id, user_id, order_id, is_head, status, in_open_team,
                   reserved_until, created_at)
SELECT gen_random_uuid(), t.id, $3, m.user_id, m.id, false, 'paid', false, now(), m.created_at
  FROM (SELECT *, row_number() OVER (PARTITION BY user_id ORDER BY created_at) AS k,
               row_number() OVER () AS r FROM made) m
  JOIN teams_made t ON t.code = 'QSHIST' || (m.r % 300 + 1)
 WHERE m.k = 1
"""

# Each reader as its caller writes it (the user and campaign are filled in), and the indexes
# its plan may use.
PLANS = (
    # rollups' member_stats and segments' counts: one member's orders in a community
    (
        "SELECT count(o.id), coalesce(sum(o.amount), 0) FROM orders o "
        "WHERE o.user_id = $U AND o.community_id = $C AND o.paid_at IS NOT NULL "
        "AND o.status NOT IN ('refunding', 'refunded')",
        {"idx_orders_user_created"},
    ),
    # segments' conversions: a delivery's person's paid orders within days
    (
        "SELECT count(o.id) FROM orders o WHERE o.user_id = $U AND o.community_id = $C "
        "AND o.paid_at >= now() - interval '7 days' AND o.paid_at < now()",
        {"idx_orders_user_created", "idx_orders_paid_at"},
    ),
    # the join's and a start's per-person limit
    (
        "SELECT count(*) FROM seats WHERE campaign_id = $K AND user_id = $U "
        "AND status IN ('reserved', 'paid')",
        {"idx_seats_user"},
    ),
    # already in an open team of the campaign
    (
        "SELECT 1 FROM seats WHERE campaign_id = $K AND user_id = $U AND in_open_team",
        {"uq_seat_open_team_per_user", "idx_seats_user"},
    ),
    # reminders.send_pickup_reminders
    (
        "SELECT id FROM orders WHERE (pickup_reminded_at IS NULL "
        "OR pickup_reminded_at <= now() - interval '24 hours') "
        "AND status = 'ready_for_pickup' LIMIT 500",
        {"idx_orders_status_33ec6d"},
    ),
    # services/due_rows.py: the first unpaid deadline, and the unpaid orders due
    (
        "SELECT min(reserved_until) FROM orders WHERE status = 'pending_payment' "
        "AND kind = ANY(ARRAY['group', 'direct'])",
        {"idx_orders_unpaid_until"},
    ),
    (
        "SELECT id FROM orders WHERE status = 'pending_payment' AND reserved_until <= now() "
        "LIMIT 500",
        {"idx_orders_unpaid_until"},
    ),
)


async def _history() -> dict[str, str]:
    campaign = await make_campaign()
    await campaign.fetch_related("community")
    db = connections.get("default")
    async with db.acquire_connection() as conn:
        await conn.execute(
            HISTORY,
            campaign.community_id,
            campaign.sku_id,
            campaign.id,
            campaign.community.leader_id,
        )
        await conn.execute("ANALYZE orders")
        await conn.execute("ANALYZE seats")
        user = await conn.fetchval("SELECT id FROM users WHERE openid = 'QSHIST42'")
    return {"$U": f"'{user}'", "$C": f"'{campaign.community_id}'", "$K": f"'{campaign.id}'"}


@pytest.mark.parametrize(("query", "indexes"), PLANS)
async def test_a_reader_still_reads_an_index(query: str, indexes: set[str]) -> None:
    for name, value in (await _history()).items():
        query = query.replace(name, value)
    db = connections.get("default")
    async with db.acquire_connection() as conn:
        await conn.execute("SET enable_seqscan = off")
        try:
            plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {query}"))
        finally:
            await conn.execute("RESET enable_seqscan")
    used = set(re.findall(r"(?:using|Index Scan on) (\w+)", plan))
    assert used & indexes, plan


async def test_a_new_order_and_seat_have_four_index_entries_fewer_to_write() -> None:
    db = connections.get("default")
    async with db.acquire_connection() as conn:
        found = {
            r["indexname"]: r["indexdef"]
            for r in await conn.fetch(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('orders', 'seats')"
            )
        }
    assert "idx_orders_user_community" not in found
    assert "idx_seats_campaign_user" not in found
    assert "idx_orders_campaign" not in found  # no reader at all (0151)
    assert "WHERE ((status)::text <> 'pending_payment'" in found["idx_orders_status_33ec6d"]
