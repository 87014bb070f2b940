"""P3, a flash-sale burst: 10,000 buyers released together on a sale of stock 1,000.

Each buyer, with their own token, posts ``/api/v1/flash-sales/{id}/buy`` once; wrk sends them
over CONNECTIONS open sockets (those beyond wait their turn in the client; bench/burst.py).
The goal: every buyer answered within 1.5 s, and exactly 1,000 flash orders in the database.

``python -m bench.p3_flash [--rounds N] [--source DIR ...] [--spy FILE]``

- ``--rounds``: how many bursts, each on a new sale of the same world (the last one's flash
  orders and sale are deleted first, so every buyer may buy again).
- ``--source``: serve the code of another checkout (``git archive`` of a commit, say) with
  this venv; given more than once, each round runs one burst per source in turn, so versions
  are compared on the same world, minutes apart, on a shared machine.
- ``--spy FILE``: sample the server with py-spy (if installed) during the first burst, as
  collapsed stacks (``python -m bench.spy_stages FILE``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import harness, world
from bench.burst import burst
from bench.harness import Result, Server, connect, fresh_database

BUYERS = 10_000
STOCK = 1_000
CONNECTIONS = 1_000  # the client's sockets; the buyers beyond them queue in the client


async def _sale(bench_world: world.World) -> uuid.UUID:
    now = datetime.now(tz=UTC)
    conn = await connect()
    try:
        # A round's sale replaces the last one's, whose orders go first (they name it:
        # orders.flash_sale_id, ON DELETE RESTRICT), so each burst starts on the same tables.
        await conn.execute("DELETE FROM orders WHERE kind = 'flash'")
        await conn.execute("DELETE FROM flash_sales")
        await conn.execute("DELETE FROM activities WHERE kind = 'flash_sale'")
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


def _user_system(server: Server) -> tuple[float, float]:
    assert server.proc is not None
    stat = Path(f"/proc/{server.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(stat[11]) / tick, int(stat[12]) / tick


async def _burst(bench_world: world.World, spy: Path | None) -> Result:
    sale = await _sale(bench_world)
    server = Server("--role", "web")
    await server.start()
    sampler = None
    try:
        url = f"/api/v1/flash-sales/{sale}/buy"
        lines = [
            f"POST\t{url}\tBearer {token}\tapplication/json\t{{}}"
            for token in bench_world.tokens[:BUYERS]
        ]
        if spy is not None:
            assert server.proc is not None
            sampler = subprocess.Popen(
                ["py-spy", "record", "--nonblocking", "--format", "raw", "--rate", "250"]
                + ["--pid", str(server.proc.pid), "--output", str(spy)],
                stdout=subprocess.DEVNULL,
            )
            await asyncio.sleep(1)  # py-spy attaches
        before, pg_before = _user_system(server), harness.postgres_cpu_seconds()
        run = await asyncio.to_thread(burst, server.url, lines, connections=CONNECTIONS)
        user, system = (b - a for a, b in zip(before, _user_system(server), strict=True))
        pg_after = harness.postgres_cpu_seconds()
        conn = await connect()
        try:
            sold = await conn.fetchval("SELECT count(*) FROM orders WHERE kind = 'flash'")
            left = await conn.fetchval("SELECT stock_left FROM flash_sales WHERE id = $1", sale)
        finally:
            await conn.close()
    finally:
        if sampler is not None:
            sampler.send_signal(2)  # SIGINT: py-spy writes what it has
            sampler.wait(30)
        server.stop()
    detail = {
        "sold": sold,
        "stock": STOCK,
        "stock_left": left,
        "answered_201": run.statuses[201],
        "answered_409": run.statuses[409],
        "other": run.answered - run.statuses[201] - run.statuses[409],
        "exactly_stock_sold": sold == STOCK,
        "server_cpu_us_per_buyer": round((user + system) / BUYERS * 1e6),
        "user_us": round(user / BUYERS * 1e6),
        "system_us": round(system / BUYERS * 1e6),
        "postgres_cpu_us_per_buyer": (
            round((pg_after - pg_before) / BUYERS * 1e6)
            if pg_before is not None and pg_after is not None
            else None
        ),
        "client": f"wrk, {CONNECTIONS} connections",
        "loadavg_1m": round(os.getloadavg()[0], 1),
    }
    return Result("P3", run.seconds, "s until all 10000 buyers answered", 1.5, "lower", detail)


async def run(
    rounds: int = 1, sources: list[Path] | None = None, spy: Path | None = None
) -> list[Result]:
    await fresh_database()
    bench_world = await world.build(users=BUYERS, teams=1, senders=1)
    results = []
    for n in range(rounds):
        for source in sources or [harness.ROOT]:
            harness.ROOT = source  # the server process runs from there
            result = await _burst(bench_world, spy if not results else None)
            results.append(result)
            if rounds > 1 or sources:
                print(f"round {n + 1} {source}: {result.line()}", flush=True)  # noqa: T201
    return results[-1:] if rounds == 1 and not sources else results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--source", type=Path, action="append", default=[])
    parser.add_argument("--spy", type=Path, default=None, help="py-spy's stacks of the first burst")
    args = parser.parse_args()
    results = asyncio.run(run(args.rounds, args.source, args.spy))
    if args.rounds == 1 and not args.source:
        print(results[0].line())  # noqa: T201


if __name__ == "__main__":
    main()
