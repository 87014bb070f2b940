"""A schema change at the database, in P1's shape: joins through ``qunshop_join_team`` with and
without it, alternated on one world, judged by the PostgreSQL backends' CPU per join.

    python -m bench.p1_sql_ab --rounds 4 --on "ALTER TABLE ..." --off "ALTER TABLE ..."

The world is P1's (eight campaigns, teams of 3 to 10 taking members in turns, each user once);
32 connections replay its joins in order. Each round runs a phase as migrated (A), applies
``--on``, runs a phase (B), applies ``--off``. The HTTP P1 moves 10-25 % between runs on a
shared machine; here both sides meet the same rows and the same load within a minute.
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
from bench.p1_sql import _JOIN
from services import orders

CONNECTIONS = 32
PER_PHASE = 3000


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(stat[11]) + int(stat[12])
    return total / os.sysconf("SC_CLK_TCK")


async def run(rounds: int, on: list[str], off: list[str]) -> None:
    await fresh_database()
    total = PER_PHASE * (2 * rounds + 1)
    bench_world = await world.build(users=total, teams=1, senders=1)
    groups = await world.add_groups(teams=total * len(world.GROUP_TEAM_SIZES) // 52 + 16)
    lines = world.group_join_lines(bench_world, groups, 0, total)
    # "POST\t/api/v1/teams/<code>/join\t...": the team's code, and the user in line order.
    joins = [
        (line.split("\t")[1].split("/")[4], bench_world.users[k]) for k, line in enumerate(lines)
    ]
    conns = [await connect() for _ in range(CONNECTIONS)]
    admin = await connect()
    pids = [await conn.fetchval("SELECT pg_backend_pid()") for conn in conns]
    at = 0

    async def phase(label: str) -> None:
        nonlocal at
        end = at + PER_PHASE

        async def worker(conn: asyncpg.Connection) -> None:
            nonlocal at
            while at < end:
                code, user = joins[at]
                at += 1
                now = datetime.now(tz=UTC)
                args = (uuid.uuid4(), uuid.uuid4(), orders.new_out_trade_no(now), None, False)
                await conn.fetch(_JOIN, None, code, user, now, now, *args)

        cpu, started = _cpu_seconds(pids), time.perf_counter()
        await asyncio.gather(*(worker(conn) for conn in conns))
        rate = PER_PHASE / (time.perf_counter() - started)
        cpu_us = (_cpu_seconds(pids) - cpu) / PER_PHASE * 1e6
        load = os.getloadavg()[0]
        print(f"{label}: {rate:.0f} joins/s, PostgreSQL {cpu_us:.0f} µs a join, load {load:.1f}")  # noqa: T201

    try:
        await phase("warm-up")
        for _ in range(rounds):
            await phase("A (as migrated)")
            for sql in on:
                await admin.execute(sql)
            await phase("B (--on)")
            for sql in off:
                await admin.execute(sql)
    finally:
        for conn in [*conns, admin]:
            await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--on", action="append", default=[], help="SQL that makes B (repeat)")
    parser.add_argument("--off", action="append", default=[], help="SQL that undoes it (repeat)")
    options = parser.parse_args()
    asyncio.run(run(options.rounds, options.on, options.off))
