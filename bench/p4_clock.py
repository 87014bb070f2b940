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
from bench.world import seed_campaign

PENDING = 100_000
DUE_SOON = 1_500  # these fall due during the run, spread over WINDOW
LEAD = timedelta(seconds=20)
WINDOW = timedelta(seconds=40)


async def _seed(now: datetime) -> None:
    conn = await connect()
    try:
        # team size 3, no reminders: the clock only settles
        user, campaign = await seed_campaign(conn, now, team_size=3, stock_cap=PENDING * 3)
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
