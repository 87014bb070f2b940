"""What an index of ``orders`` costs the writes of an order on a shop-sized table, alternated A/B.

    python -m bench.p6_dashboard                  # once: loads 1,000,000 orders (kept)
    python -m bench.orders_index_ab --on ON.sql --off OFF.sql [--rounds 4] [--orders 3000]

On P6's database, one connection inserts orders as a join writes them (awaiting payment, a
reservation deadline; the user, community, SKU and campaign of an existing order), then pays
as many unpaid orders as the pay notify's UPDATE does (status, paid_at, transaction_id: not a
heap-only update), all in a transaction rolled back at the end of the phase, so the table
stays as loaded. The backend's user and system CPU from /proc, per row. ``--off`` is applied
first (A is what it leaves); each round runs A, applies ``--on``, runs B, applies ``--off``.
Plans are prepared inside each phase, after the DDL. The join and the notify do more than
these statements: this isolates the index upkeep (one entry in a three-level btree a row).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid
from pathlib import Path

from bench.harness import connect

WARM = 200
_INSERT = """
INSERT INTO orders (id, out_trade_no, kind, user_id, community_id, sku_id, campaign_id,
                    quantity, unit_price, amount, status, reserved_until, created_at, updated_at)
SELECT $1, $2, 'group', user_id, community_id, sku_id, campaign_id, 1, 990, 990,
       'pending_payment', now() + interval '15 minutes', now(), now()
  FROM orders WHERE out_trade_no = $3
"""
_PAY = """
UPDATE orders SET status = 'confirmed', paid_at = now(), transaction_id = $2, updated_at = now()
 WHERE id = $1 AND status = 'pending_payment'
"""
# P6's group orders ('B' || even g), one of which each inserted order copies.
_SOURCES = 500_000


def _cpu_seconds(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


async def run(rounds: int, count: int, on: str, off: str) -> None:
    conn, admin = await connect(), await connect()
    pid = await conn.fetchval("SELECT pg_backend_pid()")
    unpaid = [
        r["id"]
        for r in await conn.fetch(
            "SELECT id FROM orders WHERE status = 'pending_payment' ORDER BY random() LIMIT $1",
            count * 2 * rounds,
        )
    ]
    if len(unpaid) < count:
        raise SystemExit("load P6's shop first: python -m bench.p6_dashboard")
    figures: dict[str, tuple[list[float], list[float]]] = {"A": ([], []), "B": ([], [])}
    phase_no = 0

    async def phase(label: str) -> None:
        nonlocal phase_no
        step = phase_no * 7919
        phase_no += 1
        transaction = conn.transaction()
        await transaction.start()
        try:
            insert, pay = await conn.prepare(_INSERT), await conn.prepare(_PAY)
            for i in range(WARM):
                source = f"B{2 * ((step + i) % _SOURCES + 1)}"
                await insert.fetch(uuid.uuid4(), f"W{uuid.uuid4().hex[:20]}", source)
            started = _cpu_seconds(pid)
            for i in range(count):
                source = f"B{2 * ((step + 31 * i) % _SOURCES + 1)}"
                await insert.fetch(uuid.uuid4(), f"X{uuid.uuid4().hex[:20]}", source)
            inserted = _cpu_seconds(pid)
            for i in range(count):
                order = unpaid[(phase_no * count + i) % len(unpaid)]
                await pay.fetch(order, f"T{uuid.uuid4().hex[:20]}")
            paid = _cpu_seconds(pid)
        finally:
            await transaction.rollback()  # the table stays as loaded for the next phase
        figures[label][0].append((inserted - started) / count * 1e6)
        figures[label][1].append((paid - inserted) / count * 1e6)
        print(  # noqa: T201
            f"{label}: insert {figures[label][0][-1]:.0f} µs, pay update "
            f"{figures[label][1][-1]:.0f} µs a row, load {os.getloadavg()[0]:.1f}",
            flush=True,
        )

    try:
        await admin.execute(off)
        for _ in range(rounds):
            await phase("A")
            await admin.execute(on)
            await phase("B")
            await admin.execute(off)
    finally:
        await conn.close()
        await admin.close()
    for label, (inserts, pays) in figures.items():
        print(  # noqa: T201
            f"{label}: insert {', '.join(f'{v:.0f}' for v in inserts)} "
            f"(mean {sum(inserts) / len(inserts):.0f}); pay update "
            f"{', '.join(f'{v:.0f}' for v in pays)} (mean {sum(pays) / len(pays):.0f})"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--orders", type=int, default=3000, help="rows a phase, each kind")
    parser.add_argument("--on", required=True, help="SQL file that makes B")
    parser.add_argument("--off", required=True, help="SQL file that undoes it")
    o = parser.parse_args()
    asyncio.run(run(o.rounds, o.orders, Path(o.on).read_text(), Path(o.off).read_text()))
