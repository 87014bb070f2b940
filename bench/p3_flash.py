"""P3, a flash-sale burst: 10,000 buyers released together on a sale of stock 1,000.

Each buyer, with their own token, posts ``/api/v1/flash-sales/{id}/buy`` once; wrk sends them
over CONNECTIONS open sockets (those beyond wait their turn in the client; bench/burst.py).
The goal: every buyer answered within 1.5 s, and exactly 1,000 flash orders in the database.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime, timedelta

from bench import world
from bench.burst import burst
from bench.harness import Result, Server, connect, fresh_database

BUYERS = 10_000
STOCK = 1_000
CONNECTIONS = 1_000  # the client's sockets; the buyers beyond them queue in the client


async def _sale(bench_world: world.World) -> uuid.UUID:
    now = datetime.now(tz=UTC)
    conn = await connect()
    try:
        row = await conn.fetchrow(
            "SELECT c.community_id, c.sku_id, c.created_by_id FROM campaigns c WHERE c.id = $1",
            bench_world.campaign_id,
        )
        activity, sale = uuid.uuid4(), uuid.uuid4()
        await conn.execute(
            "INSERT INTO activities (id, kind, title, payload, run_at, next_run_at, last_run_at, "
            "active, created_at, community_id, created_by_id) VALUES ($1, 'flash_sale', "
            "'bench', '{}', $2, NULL, $2, true, $2, $3, $4)",
            activity,
            now - timedelta(minutes=1),
            row["community_id"],
            row["created_by_id"],
        )
        await conn.execute(
            "INSERT INTO flash_sales (id, activity_id, sku_id, price, stock, stock_left, "
            "per_user_limit, starts_at, ends_at) VALUES ($1, $2, $3, 990, $4, $4, 1, $5, $6)",
            sale,
            activity,
            row["sku_id"],
            STOCK,
            now - timedelta(minutes=1),
            now + timedelta(hours=1),
        )
    finally:
        await conn.close()
    return sale


async def run() -> list[Result]:
    await fresh_database()
    bench_world = await world.build(users=BUYERS, teams=1, senders=1)
    sale = await _sale(bench_world)
    server = Server("--role", "web")
    await server.start()
    try:
        url = f"/api/v1/flash-sales/{sale}/buy"
        lines = [
            f"POST\t{url}\tBearer {token}\tapplication/json\t{{}}"
            for token in bench_world.tokens[:BUYERS]
        ]
        cpu_before = server.cpu_seconds()
        run = await asyncio.to_thread(burst, server.url, lines, connections=CONNECTIONS)
        cpu = server.cpu_seconds() - cpu_before
        conn = await connect()
        try:
            sold = await conn.fetchval("SELECT count(*) FROM orders WHERE kind = 'flash'")
            left = await conn.fetchval("SELECT stock_left FROM flash_sales WHERE id = $1", sale)
        finally:
            await conn.close()
    finally:
        server.stop()
    detail = {
        "sold": sold,
        "stock": STOCK,
        "stock_left": left,
        "answered_201": run.statuses[201],
        "answered_409": run.statuses[409],
        "other": run.answered - run.statuses[201] - run.statuses[409],
        "exactly_stock_sold": sold == STOCK,
        "server_cpu_us_per_buyer": round(cpu / BUYERS * 1e6),
        "client": f"wrk, {CONNECTIONS} connections",
        "loadavg_1m": round(os.getloadavg()[0], 1),
    }
    return [Result("P3", run.seconds, "s until all 10000 buyers answered", 1.5, "lower", detail)]


if __name__ == "__main__":
    for result in asyncio.run(run()):
        print(result.line())  # noqa: T201
