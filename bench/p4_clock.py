"""P4, the clock: 100,000 pending team deadlines; start-up time and settlement lag."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

import redis.asyncio as redis_asyncio

from bench.harness import Result, Server, connect, fresh_database, redis_url

PENDING = 100_000
DUE_SOON = 1_500  # these fall due during the run, spread over WINDOW
LEAD = timedelta(seconds=20)
WINDOW = timedelta(seconds=40)


async def _seed(now: datetime) -> None:
    conn = await connect()
    try:
        user, community, product, sku, campaign = (uuid.uuid4() for _ in range(5))
        await conn.execute(
            "INSERT INTO users (id, openid, nickname, role, created_at) "
            "VALUES ($1, 'bench-head', 'head', 'leader', $2)",
            user,
            now,
        )
        await conn.execute(
            "INSERT INTO communities (id, name, leader_id, timezone, created_at) "
            "VALUES ($1, 'bench', $2, 'Asia/Shanghai', $3)",
            community,
            user,
            now,
        )
        await conn.execute(
            "INSERT INTO products (id, title, description, category, images, community_id, "
            "created_by_id, active, created_at, updated_at) "
            "VALUES ($1, 'p', '', '', '[]', $2, $3, true, $4, $4)",
            product,
            community,
            user,
            now,
        )
        await conn.execute(
            "INSERT INTO skus (id, product_id, name, price, stock) VALUES ($1, $2, 's', 100, 0)",
            sku,
            product,
        )
        await conn.execute(
            "INSERT INTO campaigns (id, community_id, sku_id, title, group_price, price_tiers, "
            "team_size, team_hours, reservation_minutes, starts_at, ends_at, stock_cap, "
            "stock_left, per_user_limit, guaranteed, created_by_id, created_at, "
            "reminder_minutes) VALUES ($1, $2, $3, 'bench', 100, '[]', 3, 24, 15, $4, $5, "
            "$6, $6, 1, false, $7, $4, '[]')",
            campaign,
            community,
            sku,
            now - timedelta(hours=1),
            now + timedelta(days=2),
            PENDING * 3,
            user,
        )
        rows = []
        rng = random.Random(7)
        for i in range(PENDING):
            if i < DUE_SOON:
                deadline = now + LEAD + WINDOW * (i / DUE_SOON)
            else:
                deadline = now + timedelta(hours=1) + timedelta(seconds=rng.randrange(23 * 3600))
            rows.append(
                (
                    uuid.uuid4(),
                    f"B{i:07d}",
                    3,
                    0,
                    0,
                    "open",
                    deadline,
                    None,
                    None,
                    None,
                    now,
                    campaign,
                    user,
                )
            )
        await conn.copy_records_to_table(
            "teams",
            records=rows,
            columns=[
                "id",
                "code",
                "size",
                "seats_held",
                "seats_paid",
                "status",
                "deadline_at",
                "closed_at",
                "final_price",
                "chat_id",
                "created_at",
                "campaign_id",
                "head_id",
            ],
        )
        await conn.execute("ANALYZE teams")
    finally:
        await conn.close()


async def run() -> list[Result]:
    await fresh_database()
    now = datetime.now(tz=UTC)
    await _seed(now)
    redis = redis_asyncio.Redis.from_url(redis_url())
    server = Server("--role", "scheduler", scheduler_refresh_seconds=1, sweep_interval_seconds=30)
    try:
        started = time.perf_counter()
        await server.start()
        while not await redis.get("qunshop:scheduler:snapshot"):
            await asyncio.sleep(0.02)
        startup = time.perf_counter() - started
        snapshot = json.loads(await redis.get("qunshop:scheduler:snapshot"))
        end = now + LEAD + WINDOW + timedelta(seconds=20)
        conn = await connect()
        try:
            while datetime.now(tz=UTC) < end:
                settled = await conn.fetchval(
                    "SELECT count(*) FROM teams WHERE closed_at IS NOT NULL"
                )
                if settled >= DUE_SOON:
                    break
                await asyncio.sleep(1)
            lags = [
                r["lag"]
                for r in await conn.fetch(
                    "SELECT EXTRACT(EPOCH FROM closed_at - deadline_at) * 1000 AS lag "
                    "FROM teams WHERE closed_at IS NOT NULL ORDER BY lag"
                )
            ]
            pending = await conn.fetchval("SELECT count(*) FROM teams WHERE status = 'open'")
        finally:
            await conn.close()
        rss = server.peak_rss_mb()
    finally:
        server.stop()
        await redis.aclose()
    lags = [float(x) for x in lags]
    p50 = lags[len(lags) // 2] if lags else float("inf")
    p99 = lags[min(int(len(lags) * 0.99), len(lags) - 1)] if lags else float("inf")
    detail = {
        "pending_at_start": PENDING,
        "settled": len(lags),
        "due_in_window": DUE_SOON,
        "still_open": pending,
        "lag_p50_ms": round(p50, 1),
        "next_deadline_at_start": snapshot.get("next_deadline"),
        "peak_rss_mb": rss,
    }
    return [
        Result("P4", round(p99 / 1000, 3), "s settlement lag p99", 1.0, "lower", detail),
        Result(
            "P4-startup",
            round(startup, 2),
            "s to schedule 100k deadlines",
            10.0,
            "lower",
            {"includes": "process start, migrations check, first refresh"},
        ),
    ]


if __name__ == "__main__":
    for result in asyncio.run(run()):
        print(result.line())  # noqa: T201
