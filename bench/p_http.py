"""P1 (join a team), P2 (encrypted webhook) and P5 (the whole order), each a ratio to the bare
/healthz endpoint of the same server measured in the same run; MEM, the server's peak RSS."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from bench import p5_orders, world
from bench.harness import (
    Result,
    Server,
    WrkRun,
    fresh_database,
    postgres_cpu_seconds,
    wrk,
)

HERE = Path(__file__).resolve().parent
SECONDS = 8
CONNECTIONS = 64
PACED_CONNECTIONS = 16
P5_FIRST_USER = 62_000  # P5's people: after the 60,000 of P1


def _replay(
    url: str, lines: list[str], *, first: int = 1, pause_ms: int = 0, connections: int = CONNECTIONS
) -> WrkRun:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(lines) + "\n")
    try:
        script = str(HERE / "replay.lua")
        run = wrk(
            url,
            seconds=SECONDS,
            connections=connections,
            script=script,
            extra=["--", handle.name, str(first), str(pause_ms)],
        )
    finally:
        Path(handle.name).unlink()
    # replay.lua starts over at the end: a repeated webhook is a duplicate delivery, which
    # the server only acknowledges, so a run past the end would measure the wrong thing.
    # wrk does not count the requests still in flight when it stops (one per connection).
    if len(lines) > 1 and run.requests + connections > len(lines) - first + 1:
        raise RuntimeError(
            f"{run.requests} requests from {len(lines) - first + 1} lines: build more lines"
        )
    return run


def _cpu_us(server: Server, run: WrkRun, cpu_before: float) -> int:
    """The server's own CPU per request: steadier than throughput on a shared machine."""
    return round((server.cpu_seconds() - cpu_before) / max(run.requests, 1) * 1e6)


def _measure(server: Server, lines: list[str]) -> tuple[WrkRun, WrkRun, int, int | None]:
    """Full speed (and its server and PostgreSQL CPU per request), then about half that rate on
    requests not used yet, for latency."""
    url = server.url
    cpu_before, pg_before = server.cpu_seconds(), postgres_cpu_seconds()
    full = _replay(url, lines)
    cpu_us = _cpu_us(server, full, cpu_before)
    pg_after = postgres_cpu_seconds()
    pg_us = (
        None
        if pg_before is None or pg_after is None
        else round((pg_after - pg_before) / max(full.requests, 1) * 1e6)
    )
    rate_per_connection = max(full.rps / 2 / PACED_CONNECTIONS, 0.1)
    pause = max(int(1000 / rate_per_connection), 1)
    half = _replay(
        url,
        lines,
        first=full.requests + 2 * CONNECTIONS + 1,
        pause_ms=pause,
        connections=PACED_CONNECTIONS,
    )
    return full, half, cpu_us, pg_us


def _ratio_result(
    id_: str,
    measured: tuple[WrkRun, WrkRun, int, int | None],
    bare: WrkRun,
    goal: float,
    p99_goal: float,
    **extra: object,
) -> Result:
    run, half, cpu_us, pg_us = measured
    ratio = round(run.rps / bare.rps, 3)
    return Result(
        id_,
        ratio,
        "x bare rps",
        goal,
        "higher",
        {
            "rps": round(run.rps),
            "bare_rps": round(bare.rps),
            "errors": run.errors,
            "p99_ms_at_half_load": round(half.p99_ms, 1),
            "half_load_rps": round(half.rps),
            "p99_goal_ms": p99_goal,
            "p99_met": half.p99_ms <= p99_goal,
            "server_cpu_us_per_request": cpu_us,
            "postgres_cpu_us_per_request": pg_us,
            **extra,
        },
    )


P1_JOINS = 60_000  # users 0 to 59,999; P5 starts after them


async def _p1_joins(bench_world: world.World) -> list[str]:
    """P1 as people join: teams of 3 to 10 in several groups, many forming at once
    (BENCHMARKS.md, round 3 join, says why)."""
    sizes = world.GROUP_TEAM_SIZES
    groups = await world.add_groups(teams=P1_JOINS * len(sizes) // sum(sizes) + len(sizes))
    return world.group_join_lines(bench_world, groups, 0, P1_JOINS)


async def run_p1() -> list[Result]:
    """BARE and P1 alone (``python -m bench.p_http P1``): cheaper on a shared machine."""
    await fresh_database()
    bench_world = await world.build(users=P1_JOINS, teams=1, senders=1)
    joins = await _p1_joins(bench_world)
    server = Server("--role", "web")
    await server.start()
    try:
        cpu_before = server.cpu_seconds()
        bare = await asyncio.to_thread(_replay, server.url, world.bare_lines(1))
        bare_cpu_us = _cpu_us(server, bare, cpu_before)
        p1 = await asyncio.to_thread(_measure, server, joins)
    finally:
        server.stop()
    bare_result = Result(
        "BARE",
        round(bare.rps),
        "requests/s",
        0,
        "higher",
        {"endpoint": "GET /healthz", "server_cpu_us_per_request": bare_cpu_us},
    )
    return [bare_result, _ratio_result("P1", p1, bare, 0.10, 100.0)]


async def run() -> list[Result]:
    await fresh_database()
    users = 70_000
    bench_world = await world.build(
        users=users, teams=users // (world.TEAM_SIZE - 1) + 2, senders=20_000
    )
    p5_codes = await world.add_order_teams(
        bench_world, size=p5_orders.TEAM_SIZE, teams=(users - P5_FIRST_USER) // p5_orders.TEAM_SIZE
    )
    p1_joins = await _p1_joins(bench_world)
    fake_pay = p5_orders.FakePay()
    await fake_pay.start()
    server = Server("--role", "web", pay_api_base=fake_pay.url)
    await server.start()
    try:
        cpu_before = server.cpu_seconds()
        bare = await asyncio.to_thread(_replay, server.url, world.bare_lines(1))
        bare_cpu_us = _cpu_us(server, bare, cpu_before)
        # Enough for 12x the rate (a full run, then half the rate), up to ~12,000/s.
        hooks = world.webhook_lines(bench_world, 150_000)
        await world.mark_senders_seen(bench_world)
        p2 = await asyncio.to_thread(_measure, server, hooks)
        p1 = await asyncio.to_thread(_measure, server, p1_joins)
        p5 = await p5_orders.run(
            server,
            bench_world,
            fake_pay,
            team_codes=p5_codes,
            first_user=P5_FIRST_USER,
            seconds=SECONDS,
        )
        rss = server.peak_rss_mb()
    finally:
        server.stop()
        await fake_pay.stop()
    return [
        Result(
            "BARE",
            round(bare.rps),
            "requests/s",
            0,
            "higher",
            {
                "endpoint": "GET /healthz",
                "p99_ms": round(bare.p99_ms, 1),
                "load": f"wrk 1 thread, {CONNECTIONS} connections, {SECONDS}s",
                "server_cpu_us_per_request": bare_cpu_us,
            },
        ),
        _ratio_result("P1", p1, bare, 0.10, 100.0),
        _ratio_result("P2", p2, bare, 0.25, 50.0),
        p5_orders.result(p5),
        Result(
            "MEM",
            rss,
            "MB peak RSS of the server through P1, P2, P5",
            150,
            "lower",
            {"pid_metric": "VmHWM"},
        ),
    ]


if __name__ == "__main__":
    for result in asyncio.run(run_p1() if sys.argv[1:] == ["P1"] else run()):
        print(result.line())  # noqa: T201
