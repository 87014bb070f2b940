"""P1 at the database alone: joins per second through ``qunshop_join_team``, 16 connections,
each filling teams of its own, so the only row they share is their campaign's stock.

What it isolates is item 4 of issue #13 (joins queueing on the campaign row): the HTTP P1
replays joins in team order, so there its 64 connections also queue on two or three team rows.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

from bench import world
from bench.harness import Result, connect, fresh_database
from services import orders

CONNECTIONS = 16
SECONDS = 6
_JOIN = "SELECT team, ord, seat FROM qunshop_join_team($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"


async def run() -> list[Result]:
    await fresh_database()
    users = 20_000
    bench_world = await world.build(users=users, teams=users // (world.TEAM_SIZE - 1), senders=1)
    conns = [await connect() for _ in range(CONNECTIONS)]
    done = [0] * CONNECTIONS
    stop = time.perf_counter() + SECONDS

    async def worker(i: int) -> None:
        team, k = i, 0  # teams i, i + CONNECTIONS, ...: never another worker's
        while time.perf_counter() < stop:
            now = datetime.now(tz=UTC)
            user = bench_world.users[team * (world.TEAM_SIZE - 1) + k]
            await conns[i].fetch(
                _JOIN,
                None,
                bench_world.team_codes[team],
                user,
                now,
                now,
                uuid.uuid4(),
                uuid.uuid4(),
                orders.new_out_trade_no(now),
                None,
                False,  # no tier gives a discount in the bench's world
            )
            done[i] += 1
            k += 1
            if k == world.TEAM_SIZE - 1:
                team, k = team + CONNECTIONS, 0

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker(i) for i in range(CONNECTIONS)))
    finally:
        for conn in conns:
            await conn.close()
    rate = sum(done) / (time.perf_counter() - started)
    return [
        Result(
            "P1-SQL",
            round(rate),
            "joins/s at the database",
            0,
            "higher",
            {"connections": CONNECTIONS, "teams": "one per connection at a time"},
        )
    ]


if __name__ == "__main__":
    for result in asyncio.run(run()):
        print(result.line())  # noqa: T201
