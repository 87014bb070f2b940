"""`make bench`: every benchmark, one line per figure, bench/results.json and BENCHMARKS.md.

Against PostgreSQL and Redis named by QUNSHOP_BENCH_DATABASE_URL and QUNSHOP_BENCH_REDIS_URL
(defaults: the local services, database qunshop_bench, Redis db 7).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import uvloop

from bench import p4_clock, p6_dashboard, p7_pages, p_http
from bench.harness import Result, write_results

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = [
    ("P1, P2, P5, MEM", p_http.run),
    ("P4", p4_clock.run),
    ("P6", p6_dashboard.run),
    ("P7", p7_pages.run),
]
try:  # the flash-sale burst needs the flash-sale door
    from bench import p3_flash

    BENCHMARKS.insert(1, ("P3", p3_flash.run))
except ImportError:
    p3_flash = None
try:  # the coupon burst needs the coupon door (issue 16)
    from bench import p8_coupons

    BENCHMARKS.append(("P8", p8_coupons.run))
except ImportError:
    p8_coupons = None


def _machine() -> str:
    mem = "?"
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    return (
        f"{os.cpu_count()} cores, {mem}, {platform.platform()}, Python {platform.python_version()}"
    )


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _markdown(results: list[Result], when: str) -> str:
    rows = "\n".join(
        f"| {r.id} | {r.value:g} {r.unit} | {'>=' if r.better == 'higher' else '<='} {r.goal:g} "
        f"| {'yes' if r.met else 'no'} | "
        + ", ".join(f"{k}={v}" for k, v in r.detail.items())
        + " |"
        for r in results
    )
    return (
        "# Benchmarks\n\n"
        f"Measured {when} on {_machine()}, commit {_commit()}, with `make bench` "
        "(PostgreSQL and Redis on the same machine; load from wrk 4.1 on the same two cores). "
        "Ratios are to the bare `GET /healthz` of the same server process in the same run.\n\n"
        "| figure | value | goal | met | detail |\n| --- | --- | --- | --- | --- |\n"
        f"{rows}\n"
    )


async def main() -> int:
    results: list[Result] = []
    for name, run in BENCHMARKS:
        sys.stdout.write(f"running {name} ...\n")
        sys.stdout.flush()
        for result in await run():
            results.append(result)
            sys.stdout.write(result.line() + "\n")
    measured = [r for r in results if not r.id.startswith("BARE")]
    met = sum(r.met for r in measured)
    sys.stdout.write(f"summary: {met} of {len(measured)} goals met\n")
    write_results(measured, ROOT / "bench" / "results.json")
    when = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    (ROOT / "bench" / "last_run.md").write_text(_markdown(results, when))
    return 0


if __name__ == "__main__":
    # uvloop, as the server runs: P5's Python driver shares the cores it measures on.
    sys.exit(uvloop.run(main()))
