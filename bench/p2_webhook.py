"""P2 alone: the bare endpoint, then the encrypted webhook, on one server (lighter than
``bench.p_http``, which also runs P1 and P5).

``python -m bench.p2_webhook [--rounds N] [--source DIR ...] [--spy FILE]``

- ``--rounds``: how many times to measure (bare, then P2), each on webhooks not sent yet.
- ``--source``: serve the code of another checkout (``git archive`` of a commit, say) with
  this venv; given more than once, each round starts one server per source in turn, so
  versions are compared on the same world, minutes apart, on a shared machine.
- ``--spy FILE``: sample the server with py-spy (if installed) during the first P2 run, as
  collapsed stacks. py-spy counts a thread that waits for a CPU as busy: on a loaded
  machine a system call that wakes another process looks dearer than it is.

Each line gives the server's CPU per request from /proc (user and system for P2), the figure
to judge a change by; the ratio moves with the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
from pathlib import Path

from bench import harness, p_http, world
from bench.harness import Server, fresh_database

PER_RUN = 60_000  # webhooks built per P2 run: enough for ~7,000/s for 8 s


def _user_system(server: Server) -> tuple[float, float]:
    assert server.proc is not None
    stat = Path(f"/proc/{server.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(stat[11]) / tick, int(stat[12]) / tick


async def _measure(server: Server, hooks: list[str], spy: Path | None) -> str:
    cpu = server.cpu_seconds()
    bare = await asyncio.to_thread(p_http._replay, server.url, world.bare_lines(1))
    bare_us = p_http._cpu_us(server, bare, cpu)
    sampler = None
    if spy is not None:
        assert server.proc is not None
        sampler = subprocess.Popen(
            ["py-spy", "record", "--nonblocking", "--format", "raw", "--rate", "250"]
            + ["--duration", str(p_http.SECONDS), "--pid", str(server.proc.pid)]
            + ["--output", str(spy)],
            stdout=subprocess.DEVNULL,
        )
    cpu = server.cpu_seconds()
    before = _user_system(server)
    p2 = await asyncio.to_thread(p_http._replay, server.url, hooks)
    p2_us = p_http._cpu_us(server, p2, cpu)
    user, system = (
        round((b - a) / max(p2.requests, 1) * 1e6)
        for a, b in zip(before, _user_system(server), strict=True)
    )
    if sampler is not None:
        sampler.wait()
    return (
        f"bare {bare.rps:,.0f}/s {bare_us} µs; P2 {p2.rps:,.0f}/s {p2_us} µs "
        f"({user} user, {system} system), errors {p2.errors}; "
        f"ratio {p2.rps / bare.rps:.3f}; load {os.getloadavg()[0]:.1f}"
    )


async def run(rounds: int, sources: list[Path], spy: Path | None) -> None:
    await fresh_database()
    bench_world = await world.build(users=20_000, teams=2, senders=20_000)
    hooks = world.webhook_lines(bench_world, PER_RUN * rounds * len(sources))
    runs = 0
    for n in range(rounds):
        for source in sources:
            harness.ROOT = source  # the server process runs from there
            server = Server("--role", "web")
            await server.start()
            try:
                lines = hooks[runs * PER_RUN : (runs + 1) * PER_RUN]
                await world.mark_senders_seen(bench_world)
                line = await _measure(server, lines, spy if runs == 0 else None)
            finally:
                server.stop()
            runs += 1
            print(f"round {n + 1} {source}: {line}", flush=True)  # noqa: T201


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--source", type=Path, action="append", default=[])
    parser.add_argument("--spy", type=Path, default=None, help="py-spy's stacks of the first P2")
    args = parser.parse_args()
    asyncio.run(run(args.rounds, args.source or [harness.ROOT], args.spy))


if __name__ == "__main__":
    main()
