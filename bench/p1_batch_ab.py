"""P1 at the database, A/B: PostgreSQL CPU per join when each join is its own statement and
transaction (as the server does now) against N joins in ONE statement and ONE transaction, a
loop over ``qunshop_join_team`` with an EXCEPTION block per join (a subtransaction each, so one
buyer's refusal does not fail the others), and the same loop without that block (the most
batching could give). Issue #13 item 4: is batching the joins of one event-loop turn worth it?

``python -m bench.p1_batch_ab`` (QUNSHOP_BENCH_DATABASE_URL): alternated rounds, one line each.
The loops are bench-only functions created here, not migrations.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, datetime

from bench import world
from bench.harness import connect, fresh_database, postgres_cpu_seconds
from services import orders

CONNECTIONS = int(os.environ.get("AB_CONNECTIONS", "1"))  # more than one: batches deadlock
JOINS = 2_000  # per run
ROUNDS = int(os.environ.get("AB_ROUNDS", "3"))
SIZES = (8, 32)

_ONE = (
    "SELECT team, ord, seat, product, members "
    "FROM qunshop_join_team(NULL, $1, $2, $3, $3, $4, $5, $6, NULL, false)"
)
_LOOP = """
CREATE OR REPLACE FUNCTION ab_join_{name}(
    p_codes varchar[], p_users uuid[], p_now timestamptz, p_orders uuid[], p_seats uuid[],
    p_trades varchar[],
    OUT k int, OUT team teams, OUT ord orders, OUT seat seats, OUT product qunshop_brief,
    OUT members qunshop_member[], OUT refused text
) RETURNS SETOF record LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR i IN 1 .. array_length(p_codes, 1) LOOP
        k := i; refused := NULL;
        {begin}
            SELECT * INTO r FROM qunshop_join_team(
                NULL, p_codes[i], p_users[i], p_now, p_now, p_orders[i], p_seats[i], p_trades[i],
                NULL, false);
            team := r.team; ord := r.ord; seat := r.seat; product := r.product;
            members := r.members;
        {handler}
        RETURN NEXT;
    END LOOP;
END
$$
"""
_SAVE = _LOOP.format(
    name="save",
    begin="BEGIN",
    handler="EXCEPTION WHEN SQLSTATE 'QS404' OR SQLSTATE 'QS409' THEN refused := SQLERRM;\n"
    "        team := NULL; ord := NULL; seat := NULL; product := NULL; members := NULL;\n"
    "        END;",
)
_PLAIN = _LOOP.format(name="plain", begin="", handler="")
_BATCH = (
    "SELECT k, team, ord, seat, product, members, refused "
    "FROM ab_join_{name}($1, $2, $3, $4, $5, $6)"
)


class Seats:
    """Hands out (team code, user) pairs in team order, each user once."""

    def __init__(self, w: world.World) -> None:
        self.w, self.n = w, 0

    def take(self) -> tuple[str, uuid.UUID]:
        n, self.n = self.n, self.n + 1
        return self.w.team_codes[n // (world.TEAM_SIZE - 1)], self.w.users[n]


async def one_run(conns: list, seats: Seats, variant: str, size: int) -> tuple[float, float, float]:
    """(µs PostgreSQL CPU per join, µs this client's CPU per join, joins/s) for JOINS joins."""
    per_conn = JOINS // len(conns)

    async def worker(conn) -> None:
        done = 0
        while done < per_conn:
            n = 1 if variant == "single" else min(size, per_conn - done)
            pairs = [seats.take() for _ in range(n)]
            now = datetime.now(tz=UTC)
            trades = [orders.new_out_trade_no(now) for _ in pairs]
            if variant == "single":
                (code, user), trade = pairs[0], trades[0]
                await conn.fetch(_ONE, code, user, now, uuid.uuid4(), uuid.uuid4(), trade)
            else:
                rows = await conn.fetch(
                    _BATCH.format(name=variant),
                    [c for c, _ in pairs],
                    [u for _, u in pairs],
                    now,
                    [uuid.uuid4() for _ in pairs],
                    [uuid.uuid4() for _ in pairs],
                    trades,
                )
                refused = [r["refused"] for r in rows if r["refused"]]
                assert not refused, refused
            done += n

    cpu0, own0, t0 = postgres_cpu_seconds() or 0.0, time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    wall, own = time.perf_counter() - t0, time.process_time() - own0
    cpu = (postgres_cpu_seconds() or 0.0) - cpu0
    return cpu / JOINS * 1e6, own / JOINS * 1e6, JOINS / wall


async def run() -> None:
    await fresh_database()
    runs = ROUNDS * (1 + 2 * len(SIZES))
    users = JOINS * runs + 1_000
    w = await world.build(users=users, teams=users // (world.TEAM_SIZE - 1) + 2, senders=1)
    conns = [await connect() for _ in range(CONNECTIONS)]
    await conns[0].execute(_SAVE)
    await conns[0].execute(_PLAIN)
    seats = Seats(w)
    plan = [("single", 1)] + [(v, s) for s in SIZES for v in ("save", "plain")]
    try:
        for r in range(ROUNDS):
            for variant, size in plan:
                us, own, rate = await one_run(conns, seats, variant, size)
                label = "single" if variant == "single" else f"{variant} N={size}"
                print(  # noqa: T201
                    f"round {r + 1} {label:>14}: {us:5.0f} µs PG CPU/join, "
                    f"{own:4.0f} µs client (asyncpg) CPU/join, {rate:5.0f} joins/s"
                )
                sys.stdout.flush()
    finally:
        for conn in conns:
            await conn.close()


if __name__ == "__main__":
    asyncio.run(run())
