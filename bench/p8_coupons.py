"""P8, a coupon burst: 10,000 claimers released together on a coupon of stock 1,000.

The coupon is made through the admin API (which primes the claim gate); the claimers, each
with their own token, are released together and post ``/api/v1/coupon-templates/{id}/claim``
over CONNECTIONS open sockets (those beyond wait their turn in the client), driven by wrk
(bench/burst.py), as P3 is. The goal: every claimer answered within 1.5 s, and exactly 1,000
coupons in the database.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import aiohttp

from bench import world
from bench.burst import burst
from bench.harness import BENCH_SECRETS, Result, Server, connect, fresh_database
from models.user import Role
from services.auth import issue_token

CLAIMERS = 10_000
STOCK = 1_000
CONNECTIONS = 1_000  # the client's sockets; the claimers beyond them queue in the client


async def _admin_token() -> str:
    now = datetime.now(tz=UTC)
    admin = uuid.uuid4()
    conn = await connect()
    try:
        await conn.execute(
            "INSERT INTO users (id, openid, nickname, role, created_at) "
            "VALUES ($1, 'bench-admin', 'admin', 'admin', $2)",
            admin,
            now,
        )
    finally:
        await conn.close()
    user = SimpleNamespace(id=admin, role=Role.ADMIN)
    return issue_token(user=user, secret=BENCH_SECRETS["secret_key"], now=now)[0]


async def run() -> list[Result]:
    await fresh_database()
    bench_world = await world.build(users=CLAIMERS, teams=1, senders=1)
    admin = await _admin_token()
    server = Server("--role", "web")
    await server.start()
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{server.url}/api/v1/admin/coupon-templates",
                json={
                    "name": "bench",
                    "kind": "amount",
                    "amount_off": 500,
                    "stock_total": STOCK,
                    "valid_days": 7,
                },
                headers={"Authorization": f"Bearer {admin}"},
            ) as made,
        ):
            assert made.status == 201, await made.text()
            template = (await made.json())["id"]
        lines = [
            f"POST\t/api/v1/coupon-templates/{template}/claim\tBearer {token}\tapplication/json\t"
            for token in bench_world.tokens[:CLAIMERS]
        ]
        cpu_before = server.cpu_seconds()
        run = await asyncio.to_thread(burst, server.url, lines, connections=CONNECTIONS)
        cpu = server.cpu_seconds() - cpu_before
        conn = await connect()
        try:
            issued = await conn.fetchval(
                "SELECT count(*) FROM coupons WHERE template_id = $1", uuid.UUID(template)
            )
            left = await conn.fetchval(
                "SELECT stock_left FROM coupon_templates WHERE id = $1", uuid.UUID(template)
            )
        finally:
            await conn.close()
    finally:
        server.stop()
    detail = {
        "issued": issued,
        "stock": STOCK,
        "stock_left": left,
        "answered_201": run.statuses[201],
        "answered_409": run.statuses[409],
        "other": run.answered - run.statuses[201] - run.statuses[409],
        "exactly_stock_issued": issued == STOCK,
        "server_cpu_us_per_claim": round(cpu / CLAIMERS * 1e6),
        "client": f"wrk, {CONNECTIONS} connections",
        "loadavg_1m": round(os.getloadavg()[0], 1),
    }
    return [Result("P8", run.seconds, "s until all 10000 claimers answered", 1.5, "lower", detail)]


if __name__ == "__main__":
    for result in asyncio.run(run()):
        print(result.line())  # noqa: T201
