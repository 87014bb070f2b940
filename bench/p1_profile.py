"""Where a P1 join's CPU goes: P1's HTTP joins on one server in three consecutive parts, each
part's server and PostgreSQL CPU a join, with a profiler on the second part if asked.

    python -m bench.p1_profile               # the three parts only
    python -m bench.p1_profile --spy OUT     # py-spy on the server (raw stacks to OUT)
    python -m bench.p1_profile --perf OUT    # perf on the bench database's backends (OUT)

The first part shows what cold backends and a cold pool add (asyncpg's type introspection,
PL/pgSQL compiles, the first custom plans); the later parts are steady state, the profiled
second one a little dearer for the profiler's own cost. py-spy samples wall time: its frames
that send (``_do_execute``, ``_writelines``) are mostly the server preempted by the process
its send woke, not CPU (BENCHMARKS.md, round 5 join); perf samples CPU only.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

from bench import harness, p_http, world
from bench.harness import Server, database_url, fresh_database, postgres_cpu_seconds

PART_SECONDS = 5


def _backends() -> list[str]:
    """The bench database's PostgreSQL backends (as ``postgres_cpu_seconds`` finds them)."""
    name = harness._database_name(database_url()).encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").split()
        except OSError:
            continue
        if title and title[0] == b"postgres:" and name in title:
            pids.append(entry.name)
    return pids


def _profiler(server: Server, spy: str | None, perf: str | None) -> subprocess.Popen[bytes] | None:
    seconds = str(PART_SECONDS)
    if spy:
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        pid = str(server.proc.pid)  # type: ignore[union-attr]
        cmd = [py_spy, "record", "-p", pid, "-r", "200", "-d", seconds, "-f", "raw", "-o", spy]
    elif perf:
        pids = ",".join(_backends())
        cmd = ["perf", "record", "-F", "999", "-g", "-o", perf, "-p", pids, "--", "sleep", seconds]
    else:
        return None
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def run(spy: str | None, perf: str | None) -> None:
    await fresh_database()
    bench_world = await world.build(users=p_http.P1_JOINS, teams=1, senders=1)
    lines = await p_http._p1_joins(bench_world)
    p_http.SECONDS = PART_SECONDS
    server = Server("--role", "web")
    await server.start()
    try:
        await asyncio.to_thread(p_http._replay, server.url, world.bare_lines(1))
        first = 1
        for part in range(3):
            profiler = _profiler(server, spy, perf) if part == 1 else None
            cpu, pg = server.cpu_seconds(), postgres_cpu_seconds() or 0.0
            joins = await asyncio.to_thread(p_http._replay, server.url, lines, first=first)
            cpu_us = (server.cpu_seconds() - cpu) / joins.requests * 1e6
            pg_us = ((postgres_cpu_seconds() or 0.0) - pg) / joins.requests * 1e6
            print(  # noqa: T201
                f"part {part}: {joins.requests} joins, {joins.rps:.0f}/s, server {cpu_us:.0f} µs "
                f"+ PostgreSQL {pg_us:.0f} µs a join, {joins.errors} errors"
            )
            if profiler is not None:
                profiler.wait()
            first += joins.requests + 2 * p_http.CONNECTIONS
    finally:
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spy", help="py-spy's raw stacks of the server, to this file")
    parser.add_argument("--perf", help="perf's record of the backends, to this file")
    options = parser.parse_args()
    asyncio.run(run(options.spy, options.perf))
