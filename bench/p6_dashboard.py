"""P6: a leader's dashboard (funnel by day and by campaign, cohorts, top products over 30
days) with 1,000,000 orders over 10,000 communities loaded: p99 of GET
/api/v1/communities/{id}/dashboard?days=30 under a little concurrency.

The shop is written straight into PostgreSQL (INSERT ... SELECT generate_series): 10,000
leaders and communities, each with a product, two SKUs and a campaign, 100,000 members
joined over 60 days, 1,000,000 orders over those days (90 % paid, 60 % picked up),
300,000 visits and 100,000 share codes. The clock's rollup step (services.rollups) then runs
once per day of those 60, as the scheduler would have day after day; its time is reported.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import aiohttp

from bench.harness import (
    BENCH_SECRETS,
    ROOT,
    Result,
    Server,
    connect,
    database_url,
    fresh_database,
    server_env,
)
from models.user import Role
from qunshop.assembly.db import open_orm
from services import rollups
from services.auth import issue_token

COMMUNITIES = 10_000
MEMBERS_EACH = 10
ORDERS = 1_000_000
DAYS = 60
REQUESTS = 3_000
CONCURRENCY = 4
GOAL_P99_MS = 50.0
TZ = ZoneInfo("Asia/Shanghai")

_SEED = [
    f"""INSERT INTO users (id, openid, nickname, role, created_at)
    SELECT md5('l' || i)::uuid, 'bl' || i, 'leader' || i, 'leader', now()
    FROM generate_series(1, {COMMUNITIES}) i""",
    f"""INSERT INTO communities (id, name, leader_id, chat_id, timezone, created_at)
    SELECT md5('c' || i)::uuid, '社区' || i, md5('l' || i)::uuid, 'chat' || i,
           'Asia/Shanghai', now()
    FROM generate_series(1, {COMMUNITIES}) i""",
    f"""INSERT INTO products (id, title, description, category, images, community_id,
                           created_by_id, active, created_at, updated_at)
    SELECT md5('p' || i)::uuid, '商品' || i, '', 'fresh', '[]', md5('c' || i)::uuid,
           md5('l' || i)::uuid, true, now(), now()
    FROM generate_series(1, {COMMUNITIES}) i""",
    f"""INSERT INTO skus (id, product_id, name, price, stock)
    SELECT md5('s' || i || '-' || k)::uuid, md5('p' || i)::uuid, '规格' || k, 990, 0
    FROM generate_series(1, {COMMUNITIES}) i, generate_series(0, 1) k""",
    f"""INSERT INTO campaigns (id, community_id, sku_id, title, group_price, price_tiers,
                            team_size, team_hours, reservation_minutes, starts_at, ends_at,
                            stock_cap, stock_left, per_user_limit, guaranteed, created_by_id,
                            created_at, reminder_minutes)
    SELECT md5('k' || i)::uuid, md5('c' || i)::uuid, md5('s' || i || '-0')::uuid, '拼团' || i,
           990, '[]', 3, 24, 15, now() - interval '{DAYS} days', now() + interval '2 days',
           1000000, 1000000, 100, false, md5('l' || i)::uuid, now(), '[]'
    FROM generate_series(1, {COMMUNITIES}) i""",
    f"""INSERT INTO users (id, openid, nickname, role, created_at)
    SELECT md5('u' || i)::uuid, 'bu' || i, '', 'shopper', now()
    FROM generate_series(1, {COMMUNITIES * MEMBERS_EACH}) i""",
    f"""INSERT INTO memberships (id, user_id, community_id, joined_at)
    SELECT gen_random_uuid(), md5('u' || i)::uuid,
           md5('c' || ((i - 1) / {MEMBERS_EACH} + 1))::uuid,
           now() - make_interval(days => i % {DAYS}, mins => i % 1440)
    FROM generate_series(1, {COMMUNITIES * MEMBERS_EACH}) i""",
    # Order g: community c = g % N + 1, one of its members, a day in the last DAYS.
    f"""INSERT INTO orders (id, out_trade_no, kind, user_id, community_id, sku_id, campaign_id,
                         quantity, unit_price, amount, status, paid_at, picked_up_at,
                         created_at, updated_at)
    SELECT gen_random_uuid(), 'B' || g,
           CASE WHEN g % 2 = 0 THEN 'group' ELSE 'direct' END,
           md5('u' || ((g % {COMMUNITIES}) * {MEMBERS_EACH} + (g / {COMMUNITIES}) % {MEMBERS_EACH}
                       + 1))::uuid,
           md5('c' || (g % {COMMUNITIES} + 1))::uuid,
           md5('s' || (g % {COMMUNITIES} + 1) || '-' || (g / 7) % 2)::uuid,
           CASE WHEN g % 2 = 0 THEN md5('k' || (g % {COMMUNITIES} + 1))::uuid END,
           1, 990 + (g % 50) * 100, 990 + (g % 50) * 100,
           CASE WHEN g % 10 = 0 THEN 'pending_payment'
                WHEN g % 10 < 7 AND placed < now() - interval '2 days' THEN 'picked_up'
                ELSE 'confirmed' END,
           CASE WHEN g % 10 <> 0 THEN placed + interval '5 minutes' END,
           CASE WHEN g % 10 BETWEEN 1 AND 6 AND placed < now() - interval '2 days'
                THEN placed + interval '2 days' END,
           placed, placed
    FROM (SELECT g, now() - make_interval(days => (g / 7) % {DAYS}, mins => g % 1440) AS placed
          FROM generate_series(1, {ORDERS}) g) AS o""",
    f"""INSERT INTO visits (id, user_id, source, community_id, campaign_id, outcome, created_at)
    SELECT gen_random_uuid(), md5('u' || (v % {COMMUNITIES * MEMBERS_EACH} + 1))::uuid, 'entry',
           md5('c' || ((v % {COMMUNITIES * MEMBERS_EACH}) / {MEMBERS_EACH} + 1))::uuid,
           md5('k' || ((v % {COMMUNITIES * MEMBERS_EACH}) / {MEMBERS_EACH} + 1))::uuid,
           'bound', now() - make_interval(days => v % {DAYS}, mins => v % 1440)
    FROM generate_series(1, {ORDERS * 3 // 10}) v""",
    f"""INSERT INTO share_codes (id, key, target, kind, sharer_id, community_id, campaign_id,
                              created_at)
    SELECT gen_random_uuid(), 'S' || s, 'campaign:' || s, 'campaign',
           md5('u' || (s % {COMMUNITIES * MEMBERS_EACH} + 1))::uuid,
           md5('c' || ((s % {COMMUNITIES * MEMBERS_EACH}) / {MEMBERS_EACH} + 1))::uuid,
           md5('k' || ((s % {COMMUNITIES * MEMBERS_EACH}) / {MEMBERS_EACH} + 1))::uuid,
           now() - make_interval(days => s % {DAYS}, mins => s % 1440)
    FROM generate_series(1, {ORDERS // 10}) s""",
]


async def _load() -> float:
    started = time.perf_counter()
    conn = await connect()
    try:
        for statement in _SEED:
            await conn.execute(statement)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def _roll_up(now: datetime) -> tuple[float, float]:
    """The clock's step once per past day (as it ran day after day), then today's."""
    ctx = await open_orm(database_url(), pool_size=2)
    try:
        today = now.astimezone(TZ).date()
        started = time.perf_counter()
        for back in range(DAYS + 1, -1, -1):
            await rollups.refresh_day(today - timedelta(days=back), tz=TZ)
        backfill = time.perf_counter() - started
        started = time.perf_counter()
        await rollups.refresh(now=now, tz=TZ)
        step = time.perf_counter() - started
    finally:
        await ctx.close_connections()
    conn = await connect()
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return backfill, step


async def _measure(server: Server, now: datetime, concurrency: int) -> list[float]:
    secret = BENCH_SECRETS["secret_key"]
    conn = await connect()
    try:
        rows = await conn.fetch("SELECT id, leader_id FROM communities")
    finally:
        await conn.close()
    rng = random.Random(6)
    picks = [rng.choice(rows) for _ in range(REQUESTS)]
    latencies: list[float] = []
    queue: asyncio.Queue[tuple[object, object]] = asyncio.Queue()
    for row in picks:
        queue.put_nowait((row["id"], row["leader_id"]))

    async def worker(http: aiohttp.ClientSession) -> None:
        while not queue.empty():
            community, leader = queue.get_nowait()
            token, _ = issue_token(
                user=SimpleNamespace(id=leader, role=Role.LEADER), secret=secret, now=now
            )
            started = time.perf_counter()
            async with http.get(
                f"{server.url}/api/v1/communities/{community}/dashboard?days=30",
                headers={"Authorization": f"Bearer {token}"},
            ) as response:
                body = await response.json()
                if response.status != 200 or "totals" not in body:
                    raise RuntimeError(f"dashboard: {response.status} {body}")
            latencies.append((time.perf_counter() - started) * 1000)

    async with aiohttp.ClientSession() as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
    return latencies


def _migrate() -> None:
    subprocess.run(
        [sys.executable, "-m", "qunshop", "migrate"],
        cwd=ROOT,
        env=server_env(),
        check=True,
        stdout=subprocess.DEVNULL,
    )


async def run(*, reuse: bool = False, concurrency: int = CONCURRENCY) -> list[Result]:
    """``reuse``: the shop loaded by an earlier run stays (migrated to the current code);
    only the clock's last step is timed again."""
    now = datetime.now(tz=UTC)
    if reuse:
        _migrate()
        load_s, backfill_s = 0.0, 0.0
        started = time.perf_counter()
        ctx = await open_orm(database_url(), pool_size=2)
        try:
            await rollups.refresh(now=now, tz=TZ)
        finally:
            await ctx.close_connections()
        step_s = time.perf_counter() - started
    else:
        await fresh_database()
        load_s = await _load()
        backfill_s, step_s = await _roll_up(now)
    server = Server("--role", "web", database_pool_size=5)
    await server.start()
    try:
        latencies = await _measure(server, now, concurrency)
    finally:
        server.stop()
    ordered = sorted(latencies)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    return [
        Result(
            "P6",
            round(p99, 1),
            "ms p99 (dashboard, 30 days)",
            GOAL_P99_MS,
            "lower",
            {
                "orders": ORDERS,
                "communities": COMMUNITIES,
                "requests": REQUESTS,
                "concurrency": concurrency,
                "p50_ms": round(statistics.median(latencies), 1),
                "max_ms": round(ordered[-1], 1),
                "load_s": round(load_s, 1),
                "rollup_backfill_s": round(backfill_s, 1),
                "rollup_step_s": round(step_s, 2),
            },
        )
    ]


if __name__ == "__main__":
    wanted = [int(a.split("=")[1]) for a in sys.argv if a.startswith("--concurrency=")]
    for result in asyncio.run(run(reuse="--reuse" in sys.argv, concurrency=(wanted or [4])[0])):
        print(result.line())  # noqa: T201
