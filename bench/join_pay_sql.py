"""A join asked to pay against a join and then a prepay, at PostgreSQL alone: ONE connection,
the backend's CPU read from /proc/<pid>/schedstat around each order's statements, the ways
taking turns block by block on P5's world (teams of 5 filled in turn, one person an order).

    python -m bench.join_pay_sql [--blocks N] [--block B]

The ways, each an order's database work before its notify:

- ``join+prepay``: ``qunshop_join_team`` as a join without pay, then prepay's statement
  (services/prepays.py ``_PREPAY_SQL``, its checks in migration 0210's functions) for the
  order: the three-step flow.
- ``join+prepay_c2d7f1a``: the same with prepay's statement as main c2d7f1a wrote it (the
  leader's check inline), to show what sharing the checks costs the ordinary prepay.
- ``join_pay``: ``qunshop_join_team`` asked to pay (0210): one statement.
- ``join``: a join without pay alone (the yardstick: what asking to pay adds to the join).

Prints the mean and median µs of backend CPU per order of each way, past the first blocks.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench import world
from bench.harness import connect, fresh_database
from services import orders, prepays

TEAM_SIZE = 5
_JOIN = (
    "SELECT ord, payer_openid, leader_verified "
    "FROM qunshop_join_team($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
)
# services/payments.py's _PREPAY_SQL at c2d7f1a: $2 is 'verified'.
_PREPAY_C2D7F1A = """
WITH o AS (
    SELECT o.*, u.openid AS payer_openid,
           c.id IS NULL OR EXISTS (
               SELECT 1 FROM leader_identities i WHERE i.user_id = c.leader_id AND i.status = $2
           ) AS leader_verified
    FROM orders o
    JOIN users u ON u.id = o.user_id
    LEFT JOIN communities c ON c.id = o.community_id
    WHERE o.id = $1
), fixed AS (
    UPDATE orders SET prepaid_at = $3
    FROM o
    WHERE orders.id = $1 AND ($4 OR o.user_id = $5)
      AND orders.status = 'pending_payment' AND orders.prepaid_at IS NULL
      AND (o.reserved_until IS NULL OR o.reserved_until > $3)
      AND (o.leader_verified OR NOT $6)
    RETURNING orders.prepaid_at
)
SELECT o.*, (SELECT prepaid_at FROM fixed) AS fixed_at FROM o
"""
WAYS = ("join+prepay", "join+prepay_c2d7f1a", "join_pay", "join")
WARM_BLOCKS = 2  # per way, not counted: the plans are made


def _cpu_ns(pid: int) -> int:
    """The backend's time on a CPU so far, in ns (the scheduler's own account)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])


async def run(blocks: int, block: int) -> None:
    await fresh_database()
    total = len(WAYS) * blocks * block
    bench_world = await world.build(users=total, teams=1, senders=1)
    codes = await world.add_order_teams(bench_world, size=TEAM_SIZE, teams=total // TEAM_SIZE)
    conn = await connect()
    pid = await conn.fetchval("SELECT pg_backend_pid()")
    spent: dict[str, list[int]] = {w: [] for w in WAYS}
    alone: dict[str, list[int]] = {w: [] for w in WAYS[:2]}  # the prepay statement alone
    refused = dict.fromkeys(WAYS, 0)

    async def order(way: str, k: int) -> None:
        now = datetime.now(tz=UTC)
        user = bench_world.users[k]
        pay = way == "join_pay"
        args = [
            None,
            codes[k // TEAM_SIZE],
            user,
            now,
            now,
            uuid.uuid4(),
            uuid.uuid4(),
            orders.new_out_trade_no(now),
            None,
            False,
            pay,
            True,
        ]
        before = _cpu_ns(pid)
        row = await conn.fetchrow(_JOIN, *args)
        joined = _cpu_ns(pid)
        if way == "join+prepay":
            prepaid = await conn.fetchrow(
                prepays._PREPAY_SQL,
                row["ord"]["id"],
                now,
                False,
                user,
                True,
            )
            fixed = prepaid["fixed_at"]
        elif way == "join+prepay_c2d7f1a":
            prepaid = await conn.fetchrow(
                _PREPAY_C2D7F1A,
                row["ord"]["id"],
                "verified",
                now,
                False,
                user,
                True,
            )
            fixed = prepaid["fixed_at"]
        elif way == "join_pay":
            fixed = row["ord"]["prepaid_at"]
        else:
            fixed = now
        after = _cpu_ns(pid)
        spent[way].append(after - before)
        if way in alone:
            alone[way].append(after - joined)
        refused[way] += fixed is None

    k = 0
    try:
        for b in range(blocks):
            for i in range(len(WAYS)):
                way = WAYS[(b + i) % len(WAYS)]  # each round starts with the next way
                for _ in range(block):
                    await order(way, k)
                    k += 1
    finally:
        await conn.close()
    for way in WAYS:
        xs = sorted(spent[way][WARM_BLOCKS * block :])
        mean = sum(xs) / len(xs) / 1000
        print(  # noqa: T201
            f"{way}: mean {mean:.0f} µs, median {xs[len(xs) // 2] / 1000:.0f} µs per order over "
            f"{len(xs)} ({refused[way]} not priced)"
        )
    for way, values in alone.items():
        xs = sorted(values[WARM_BLOCKS * block :])
        mean = sum(xs) / len(xs) / 1000
        print(  # noqa: T201
            f"  {way}, its prepay statement: mean {mean:.0f} µs, median "
            f"{xs[len(xs) // 2] / 1000:.0f} µs"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=20, help="blocks of each way")
    parser.add_argument("--block", type=int, default=50, help="orders a block (whole teams)")
    o = parser.parse_args()
    asyncio.run(run(o.blocks, o.block))
