"""P4, the clock: 1,000,000 pending team deadlines; start-up time, settlement lag, memory.

The million teams are written by the database itself (``generate_series``), so seeding takes
seconds; the teams that fall due during the run are written last, relative to the moment the
scheduler is started, so a slow seed cannot make them overdue before the clock is up.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import UTC, datetime, timedelta

import redis.asyncio as redis_asyncio

from bench.harness import Result, Server, connect, fresh_database, redis_url
from bench.world import seed_campaign

PENDING = 1_000_000
DUE_SOON = 1_500  # these fall due during the run, spread over WINDOW
LEAD = timedelta(seconds=20)
WINDOW = timedelta(seconds=40)

TEAM_COLUMNS = (
    "id, code, size, seats_held, seats_paid, status, deadline_at, created_at, campaign_id, head_id"
)


async def _seed(now: datetime) -> tuple[object, object]:
    """The teams that do not fall due during the run: from an hour to a day ahead."""
    conn = await connect()
    try:
        # team size 3, no reminders: the clock only settles
        user, campaign = await seed_campaign(conn, now, team_size=3, stock_cap=PENDING * 3)
        await conn.execute(
            f"INSERT INTO teams ({TEAM_COLUMNS}) "
            "SELECT gen_random_uuid(), 'B' || lpad(i::text, 7, '0'), 3, 0, 0, 'open', "
            "  $1::timestamptz + interval '1 hour' + (hashint4(i) & 65535) * interval '1.26 s', "
            "  $1::timestamptz, $2::uuid, $3::uuid "
            "FROM generate_series($4::int, $5::int) AS i",
            now,
            campaign,
            user,
            DUE_SOON,
            PENDING - 1,
        )
        await conn.execute("VACUUM ANALYZE teams")
    finally:
        await conn.close()
    return user, campaign


async def _seed_due_soon(start: datetime, user: object, campaign: object) -> None:
    conn = await connect()
    try:
        await conn.execute(
            f"INSERT INTO teams ({TEAM_COLUMNS}) "
            "SELECT gen_random_uuid(), 'B' || lpad(i::text, 7, '0'), 3, 0, 0, 'open', "
            "  $1::timestamptz + $2::interval + $3::interval * i / $4::int, "
            "  $1::timestamptz, $5::uuid, $6::uuid "
            "FROM generate_series(0, $4::int - 1) AS i",
            start,
            LEAD,
            WINDOW,
            DUE_SOON,
            campaign,
            user,
        )
    finally:
        await conn.close()


async def run() -> list[Result]:
    await fresh_database()
    seeded = time.perf_counter()
    user, campaign = await _seed(datetime.now(tz=UTC))
    seed_seconds = time.perf_counter() - seeded
    start = datetime.now(tz=UTC)
    await _seed_due_soon(start, user, campaign)
    redis = redis_asyncio.Redis.from_url(redis_url())
    server = Server("--role", "scheduler", scheduler_refresh_seconds=1, sweep_interval_seconds=30)
    try:
        started = time.perf_counter()
        await server.start()
        while not await redis.get("qunshop:scheduler:snapshot"):
            await asyncio.sleep(0.02)
        startup = time.perf_counter() - started
        snapshot = json.loads(await redis.get("qunshop:scheduler:snapshot"))
        rss_at_start = server.peak_rss_mb()
        cpu_at_start = server.cpu_seconds()
        end = start + LEAD + WINDOW + timedelta(seconds=20)
        conn = await connect()
        try:
            while datetime.now(tz=UTC) < end:
                settled = await conn.fetchval(
                    "SELECT count(*) FROM teams WHERE closed_at IS NOT NULL"
                )
                if settled >= DUE_SOON:
                    break
                await asyncio.sleep(1)
            cpu_settling = server.cpu_seconds() - cpu_at_start
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
        "rss_after_start_mb": rss_at_start,
        "cpu_s_settling": round(cpu_settling, 2),
        "seed_s": round(seed_seconds, 1),
        "load": os.getloadavg()[0],
    }
    return [
        Result("P4", round(p99 / 1000, 3), "s settlement lag p99", 1.0, "lower", detail),
        Result(
            "P4-startup",
            round(startup, 2),
            f"s to schedule {PENDING:,} deadlines",
            10.0,
            "lower",
            {"includes": "process start, migrations check, first sweep and refresh"},
        ),
    ]


if __name__ == "__main__":
    for result in asyncio.run(run()):
        print(result.line())  # noqa: T201
