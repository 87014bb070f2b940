"""A change to the join at the database, measured quietly: joins through ``qunshop_join_team``
one after another on ONE connection, that backend's CPU from /proc, alternated A/B.

    python -m bench.join_seq_ab --rounds 4 [--on FILE.sql ...] [--off FILE.sql ...] [--statements]

The world is P5's (one campaign, teams of 5 filled in turn by code). ``--off`` is applied
first (A is what it leaves; as migrated without it); each round runs a phase (A), applies
``--on``, runs a phase (B), applies ``--off``.
Each phase starts with joins that are not counted (the function's plans are made again after a
``CREATE OR REPLACE``). One backend, no lock waits: the CPU a join is the statement's work
alone, far steadier than a loaded run. ``--statements``: per statement of the last A and B
phase, from pg_stat_statements (track=all) snapshots of this database (never reset).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from bench import world
from bench.harness import connect, fresh_database
from services import orders

TEAM_SIZE = 5
PER_PHASE = 2000
WARM = 200
_JOIN = (
    "SELECT team, ord, seat, product, members "
    "FROM qunshop_join_team($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)
_STATEMENTS = """
SELECT queryid, query, calls, total_exec_time, shared_blks_hit + shared_blks_read AS blks
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """The backend's user and system CPU seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(stat[11]) / tick, int(stat[12]) / tick


async def _snapshot(admin: asyncpg.Connection) -> dict[int, asyncpg.Record]:
    return {r["queryid"]: r for r in await admin.fetch(_STATEMENTS)}


def _print_diff(label: str, before: dict, after: dict, joins: int) -> None:
    rows = []
    for qid, row in after.items():
        old = before.get(qid)
        calls = row["calls"] - (old["calls"] if old else 0)
        if calls <= 0:
            continue
        ms = row["total_exec_time"] - (old["total_exec_time"] if old else 0)
        blks = row["blks"] - (old["blks"] if old else 0)
        rows.append((ms, calls, blks, " ".join(row["query"].split())[:110]))
    print(f"--- {label}: µs a join, calls a join, buffers a call, statement")  # noqa: T201
    for ms, calls, blks, query in sorted(rows, reverse=True)[:25]:
        print(f"{ms * 1000 / joins:8.1f} {calls / joins:5.2f} {blks / calls:6.1f}  {query}")  # noqa: T201


async def run(
    rounds: int, on: list[str], off: list[str], statements: bool, async_commit: bool
) -> None:
    await fresh_database()
    per_round = 2 * (PER_PHASE + WARM)
    total = per_round * rounds + WARM
    bench_world = await world.build(users=total, teams=1, senders=1)
    codes = await world.add_order_teams(bench_world, size=TEAM_SIZE, teams=total // TEAM_SIZE + 1)
    conn, admin = await connect(), await connect()
    await admin.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    pid = await conn.fetchval("SELECT pg_backend_pid()")
    if async_commit:  # the lab's session only: the commit's flush is not what is compared
        await conn.execute("SET synchronous_commit = off")
    at = 0
    on_sql = [Path(f).read_text() for f in on]
    off_sql = [Path(f).read_text() for f in off]
    figures: dict[str, list[float]] = {"A": [], "B": []}

    async def joins(count: int) -> None:
        nonlocal at
        for _ in range(count):
            now = datetime.now(tz=UTC)
            code, user = codes[at // TEAM_SIZE], bench_world.users[at]
            at += 1
            args = (uuid.uuid4(), uuid.uuid4(), orders.new_out_trade_no(now), None, False)
            await conn.fetch(_JOIN, None, code, user, now, now, *args)

    async def phase(label: str) -> None:
        await joins(WARM)
        before = await _snapshot(admin) if statements else {}
        (user, system), started = _cpu_seconds(pid), time.perf_counter()
        await joins(PER_PHASE)
        wall = (time.perf_counter() - started) / PER_PHASE * 1e6
        user_after, system_after = _cpu_seconds(pid)
        user_us = (user_after - user) / PER_PHASE * 1e6
        system_us = (system_after - system) / PER_PHASE * 1e6
        figures[label].append(user_us + system_us)
        load = os.getloadavg()[0]
        print(  # noqa: T201
            f"{label}: PostgreSQL {user_us + system_us:.0f} µs a join (user {user_us:.0f}, "
            f"system {system_us:.0f}; wall {wall:.0f}), load {load:.1f}"
        )
        if statements:
            _print_diff(label, before, await _snapshot(admin), PER_PHASE)

    try:
        for sql in off_sql:  # A is what --off leaves, from the first round on
            await admin.execute(sql)
        await joins(WARM)
        for _ in range(rounds):
            await phase("A")
            for sql in on_sql:
                await admin.execute(sql)
            await phase("B")
            for sql in off_sql:
                await admin.execute(sql)
    finally:
        await conn.close()
        await admin.close()
    for label, values in figures.items():
        mean = sum(values) / len(values)
        print(f"{label}: {', '.join(f'{v:.0f}' for v in values)} (mean {mean:.0f})")  # noqa: T201


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--on", action="append", default=[], help="SQL file that makes B")
    parser.add_argument("--off", action="append", default=[], help="SQL file that undoes it")
    parser.add_argument("--statements", action="store_true")
    parser.add_argument(
        "--async-commit",
        action="store_true",
        help="this session only: commits do not wait for the WAL flush (less noise; measuring)",
    )
    o = parser.parse_args()
    asyncio.run(run(o.rounds, o.on, o.off, o.statements, o.async_commit))
