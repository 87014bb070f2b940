"""P3, a flash-sale burst: 1000 buyers released together on stock 100."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import aiohttp

from bench import world
from bench.harness import Result, Server, connect, fresh_database

BUYERS = 1000
STOCK = 100


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
        connector = aiohttp.TCPConnector(limit=BUYERS)
        async with aiohttp.ClientSession(connector=connector) as http:
            # Open the connections first, so the burst measures the server, not TCP set-up.
            await asyncio.gather(*(http.get(f"{server.url}/healthz") for _ in range(200)))
            url = f"{server.url}/api/v1/flash-sales/{sale}/buy"
            go = asyncio.Event()

            async def buyer(token: str) -> int:
                await go.wait()
                async with http.post(
                    url, json={}, headers={"Authorization": f"Bearer {token}"}
                ) as r:
                    await r.read()
                    return r.status

            tasks = [asyncio.create_task(buyer(t)) for t in bench_world.tokens[:BUYERS]]
            await asyncio.sleep(0.2)
            started = time.perf_counter()
            go.set()
            statuses = await asyncio.gather(*tasks)
            elapsed = time.perf_counter() - started
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
        "answered_201": statuses.count(201),
        "answered_409": statuses.count(409),
        "other": len(statuses) - statuses.count(201) - statuses.count(409),
        "exactly_stock_sold": sold == STOCK,
    }
    return [
        Result("P3", round(elapsed, 3), "s until all 1000 buyers answered", 1.0, "lower", detail)
    ]


if __name__ == "__main__":
    for result in asyncio.run(run()):
        print(result.line())  # noqa: T201
