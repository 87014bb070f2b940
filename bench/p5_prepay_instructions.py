"""P5's prepay by instructions: ``python -m bench.p5_prepay_instructions [--source DIR ...]``.

The prepay's CPU time moves by a tenth between identical runs on the shared machine, which
hides a change worth a few per cent (``bench.p2_instructions`` says why). Here the server runs
under valgrind's callgrind, counting only while prepays are sent, one at a time, each of an
order just joined (its first prepay fixes the price, as every prepay of P5 does), against
P5's fake WeChat Pay (in this process: not counted). ``--source`` alternates checkouts.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import json
import os
import subprocess
import sys
from pathlib import Path

from bench import harness, http1, world
from bench.p2_instructions import _instructions
from bench.p5_orders import JSON, TEAM_SIZE, FakePay

WARM = 20  # prepays before counting starts


async def _measure(source: Path, count: int) -> float:
    await harness.fresh_database()
    people = WARM + count
    bench_world = await world.build(users=people, teams=1, senders=1)
    codes = await world.add_order_teams(bench_world, size=TEAM_SIZE, teams=people // TEAM_SIZE + 1)
    fake = FakePay()
    await fake.start()
    port = harness.free_port()
    out = f"/tmp/qunshop-callgrind-{port}"
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}.%p"]
        + [sys.executable, "-m", "qunshop", "serve", "--port", str(port), "--role", "web"],
        cwd=source,
        # No outbox poll during the count: its queries would be counted against prepays.
        env=harness.server_env(outbox_interval_seconds=3600, pay_api_base=fake.url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def control(*args: str) -> None:
        subprocess.run(["callgrind_control", *args, str(proc.pid)], check=True, capture_output=True)

    http = http1.Connection("127.0.0.1", port)
    try:
        while True:  # valgrind starts the server slowly
            try:
                await http.request("GET", "/healthz")
                break
            except OSError:
                http.close()
                await asyncio.sleep(0.5)
        orders = []
        for k in range(people):
            auth = {"Authorization": f"Bearer {bench_world.tokens[k]}"}
            status, body = await http.request(
                "POST", f"/api/v1/teams/{codes[k // TEAM_SIZE]}/join", b"{}", {**auth, **JSON}
            )
            if status != 201:
                raise RuntimeError(f"join {status}: {body[:200]!r}")
            orders.append((auth, json.loads(body)["order"]["id"]))

        async def prepay(todo: list[tuple[dict[str, str], str]]) -> None:
            for auth, order_id in todo:
                status, body = await http.request(
                    "POST", f"/api/v1/orders/{order_id}/prepay", b"", auth
                )
                if status != 200:
                    raise RuntimeError(f"prepay {status}: {body[:200]!r}")

        await prepay(orders[:WARM])
        control("--zero")
        control("--instr=on")
        await prepay(orders[WARM:])
        control("--instr=off")
        control("--dump")
        await asyncio.sleep(1)  # the dump is written after the command returns
        return _instructions(out, proc.pid) / count
    finally:
        http.close()
        proc.terminate()
        proc.wait(60)
        await fake.stop()
        for path in glob.glob(f"{out}.*"):
            os.unlink(path)


async def run(rounds: int, sources: list[Path], count: int) -> None:
    for n in range(rounds):
        for source in sources:
            per = await _measure(source, count)
            print(f"round {n + 1} {source}: prepay {per:,.0f} instructions", flush=True)  # noqa: T201


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--source", type=Path, action="append", default=[])
    parser.add_argument("--count", type=int, default=200, help="prepays counted")
    args = parser.parse_args()
    asyncio.run(run(args.rounds, args.source or [harness.ROOT], args.count))


if __name__ == "__main__":
    main()
