"""P5's three requests, one step at a time: ``python -m bench.p5_steps [--source DIR ...]``.

P5's CPU per order moves by a tenth between identical runs on the shared machine. Here every
join is sent, then every prepay (against P5's fake WeChat Pay, in this process), then every
notify, one request at a time on one kept-alive connection (``--concurrency N``: on N, as
P5's split does), and each step is measured alone:

- ``--mode instructions``: the server runs under valgrind's callgrind, counting only while
  a step's requests are sent (repeats to ~0.5 %); ``--keep DIR`` keeps each step's dump for
  ``callgrind_annotate``.
- ``--mode driver``: the driver's own instructions a request (the client, the fake WeChat
  Pay's answers, the notifies it signs). Run this under ``valgrind --tool=callgrind
  --instr-atstart=no``; the server runs as in P5, and the driver is this checkout's (one
  source). ``--keep DIR`` dumps each step (to valgrind's ``--callgrind-out-file``).
- ``--mode cpu``: the server runs as in P5; its CPU (all threads' ``schedstat``) and this
  process's (the driver) per request. ``--spy DIR`` records each step's server with py-spy
  (``DIR/<source>-<step>.raw``, folded stacks; py-spy's pauses inflate that run's figures).

``--source`` alternates checkouts (each with its ``.venv``), ``--rounds`` times.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import uvloop

from bench import harness, http1, world
from bench.p2_instructions import _instructions
from bench.p5_orders import JSON, NOTIFY, TEAM_SIZE, FakePay

WARM = 20  # orders before counting starts
STEPS = ("join", "prepay", "notify")


def _callgrind_self(*args: str) -> str:
    """``callgrind_control`` on this process (``--mode driver`` runs it under callgrind)."""
    done = subprocess.run(
        ["callgrind_control", *args, str(os.getpid())], check=True, capture_output=True
    )
    return done.stdout.decode()


def _own_instructions() -> int:
    """Instructions of this process's threads since the last zeroing (counting is on)."""
    lines = _callgrind_self("-e").splitlines()
    return sum(
        int(line.split()[2].replace(",", "")) for line in lines if line.strip().startswith("Th ")
    )


def _server_ns(pid: int) -> int:
    """CPU time every thread of ``pid`` has used so far, in ns (``schedstat``)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except OSError:  # the thread ended meanwhile
            continue
    return total


async def _measure(
    source: Path,
    count: int,
    mode: str,
    keep: Path | None,
    spy: Path | None,
    concurrency: int,
    log_level: str,
) -> dict[str, str]:
    await harness.fresh_database()
    people = WARM + count
    bench_world = await world.build(users=people, teams=1, senders=1)
    codes = await world.add_order_teams(bench_world, size=TEAM_SIZE, teams=people // TEAM_SIZE + 1)
    fake = FakePay()
    await fake.start()
    port = harness.free_port()
    out = f"/tmp/qunshop-steps-{port}"
    serve = [sys.executable, "-m", "qunshop", "serve", "--port", str(port), "--role", "web"]
    if mode == "instructions":  # the server under callgrind
        serve = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}.%p",
            *serve,
        ]
    proc = subprocess.Popen(
        serve,
        cwd=source,
        # No outbox poll during the count: its queries would be counted against requests.
        env=harness.server_env(
            outbox_interval_seconds=3600, pay_api_base=fake.url, log_level=log_level
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def control(*args: str) -> None:
        subprocess.run(["callgrind_control", *args, str(proc.pid)], check=True, capture_output=True)

    http = http1.Connection("127.0.0.1", port)
    connections = [http] + [http1.Connection("127.0.0.1", port) for _ in range(concurrency - 1)]
    order_ids: dict[int, str] = {}
    prepay_ids: dict[int, str] = {}

    async def join(http: http1.Connection, k: int) -> None:
        auth = {"Authorization": f"Bearer {bench_world.tokens[k]}"}
        status, body = await http.request(
            "POST", f"/api/v1/teams/{codes[k // TEAM_SIZE]}/join", b"{}", {**auth, **JSON}
        )
        if status != 201:
            raise RuntimeError(f"join {status}: {body[:200]!r}")
        order_ids[k] = json.loads(body)["order"]["id"]

    async def prepay(http: http1.Connection, k: int) -> None:
        auth = {"Authorization": f"Bearer {bench_world.tokens[k]}"}
        status, body = await http.request(
            "POST", f"/api/v1/orders/{order_ids[k]}/prepay", b"", auth
        )
        if status != 200:
            raise RuntimeError(f"prepay {status}: {body[:200]!r}")
        prepay_ids[k] = json.loads(body)["package"].split("=", 1)[1]

    async def notify(http: http1.Connection, k: int) -> None:
        status, body = await http.request(
            "POST", "/pay/wechat/notify", fake.notify(prepay_ids[k], f"42000{k:023d}"), NOTIFY
        )
        if status != 200 or b"SUCCESS" not in body:
            raise RuntimeError(f"notify {status}: {body[:200]!r}")

    async def each(step: Callable[[http1.Connection, int], Awaitable[None]], todo: range) -> None:
        """``step`` for every order of ``todo``, one request at a time on each connection."""
        queue = iter(todo)  # shared: each connection takes the next order

        async def send(http: http1.Connection) -> None:
            for k in queue:
                await step(http, k)

        await asyncio.gather(*(send(http) for http in connections))

    per: dict[str, str] = {}
    try:
        while True:  # valgrind starts the server slowly
            try:
                await http.request("GET", "/healthz")
                break
            except OSError:
                http.close()
                await asyncio.sleep(0.5)
        for step in (join, prepay, notify):
            await each(step, range(WARM))
        for name, step in zip(STEPS, (join, prepay, notify), strict=True):
            todo = range(WARM, people)
            if mode == "driver":
                _callgrind_self("--zero")
                _callgrind_self("--instr=on")
                await each(step, todo)
                per[name] = f"{_own_instructions() / count:,.0f}"
                if keep is not None:
                    _callgrind_self(f"--dump={name}")
                _callgrind_self("--instr=off")
            elif mode == "instructions":
                control("--zero")
                control("--instr=on")
                await each(step, todo)
                control("--instr=off")
                control("--dump")
                await asyncio.sleep(1)  # the dump is written after the command returns
                per[name] = f"{_instructions(out, proc.pid) / count:,.0f}"
                if keep is not None:
                    dumps = sorted(glob.glob(f"{out}.{proc.pid}.*"), key=os.path.getmtime)
                    shutil.copy(dumps[-1], keep / f"{source.name}-{name}.callgrind")
            else:
                spying = None
                if spy is not None:
                    raw = spy / f"{source.name}-{name}.raw"
                    spying = subprocess.Popen(
                        [Path(sys.executable).parent / "py-spy", "record", "-r", "1000"]
                        + ["-p", str(proc.pid), "-f", "raw", "-o", raw],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    await asyncio.sleep(1)  # py-spy attaches
                server, driver = _server_ns(proc.pid), time.process_time()
                await each(step, todo)
                if spying is not None:
                    spying.send_signal(signal.SIGINT)
                    spying.wait(60)
                server_us = (_server_ns(proc.pid) - server) / 1e3 / count
                driver_us = (time.process_time() - driver) * 1e6 / count
                per[name] = f"server {server_us:.0f} driver {driver_us:.0f} µs"
    finally:
        for http in connections:
            http.close()
        proc.terminate()
        proc.wait(60)
        await fake.stop()
        for path in glob.glob(f"{out}.*"):
            os.unlink(path)
    return per


async def run(args: argparse.Namespace, sources: list[Path]) -> None:
    for n in range(args.rounds):
        for source in sources:
            per = await _measure(
                source, args.count, args.mode, args.keep, args.spy, args.concurrency, args.log_level
            )
            steps = "; ".join(f"{name} {value}" for name, value in per.items())
            print(f"round {n + 1} {source}: {steps}", flush=True)  # noqa: T201


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--source", type=Path, action="append", default=[])
    parser.add_argument("--count", type=int, default=200, help="orders counted")
    parser.add_argument("--mode", choices=("instructions", "cpu", "driver"), default="instructions")
    parser.add_argument("--keep", type=Path, help="keep each step's callgrind dump here")
    parser.add_argument("--spy", type=Path, help="cpu mode: py-spy each step's server, here")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="connections (P5 uses 64; 1: sequential)"
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        help="the server's (the bench's is WARNING; INFO logs "
        "an access line a request, as production does)",
    )
    args = parser.parse_args()
    uvloop.run(run(args, [s.resolve() for s in args.source] or [harness.ROOT]))


if __name__ == "__main__":
    main()
