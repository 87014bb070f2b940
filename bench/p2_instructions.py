"""P2 by instructions, not CPU time: ``python -m bench.p2_instructions [--source DIR ...]``.

On a shared machine a message's CPU time moves by a quarter between identical runs (other
processes take the caches and the core), which hides a change worth a few per cent. Here the
server runs under valgrind's callgrind with counting switched on only while requests are
sent, one at a time: bare requests, then encrypted help commands from senders of the world
``bench.p2_webhook`` last built (run that first). Each sender writes once, then its last-seen
mark is set to now before counting starts, so none is counted paying the UPDATE of a sender
unseen for 5 minutes (a mark written by an earlier run 4-5 minutes before would otherwise
come due during the count); ``--stale`` sets the marks an hour back instead, so each is
counted paying it, as most real messages do.
Instructions per request repeat to ~0.3 % whatever the load. Sequential requests share no
round trip (no turn batching), so P2 weighs more here than under load: compare versions by
it (``--source`` alternates checkouts), not with the goal.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import aiohttp

from bench import harness, world

WARM = 20  # bare requests before counting starts


async def _send(http: aiohttp.ClientSession, url: str, lines: list[str]) -> None:
    for line in lines:
        method, path, _, content_type, body = line.split("\t", 4)
        data = body.encode() if body else None
        headers = {"Content-Type": content_type}
        async with http.request(method, url + path, data=data, headers=headers) as resp:
            await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"{path[:40]}: {resp.status}")


def _instructions(out: str, pid: int) -> int:
    dumps = sorted(glob.glob(f"{out}.{pid}.*"), key=os.path.getmtime)
    for line in Path(dumps[-1]).read_text().splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {dumps[-1]}")


async def _set_marks(senders: list[str], *, stale: bool) -> None:
    """Every sender last wrote now, or an hour ago (the next message writes its mark)."""
    conn = await harness.connect()
    try:
        await conn.execute(
            "UPDATE chat_identities SET last_seen_at = now() - $2::interval "
            "WHERE external_id = ANY($1::text[])",
            senders,
            timedelta(hours=1 if stale else 0),
        )
    finally:
        await conn.close()


async def _measure(source: Path, count: int, stale: bool) -> str:
    port = harness.free_port()
    out = f"/tmp/qunshop-callgrind-{port}"
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}.%p"]
        + [sys.executable, "-m", "qunshop", "serve", "--port", str(port), "--role", "web"],
        cwd=source,
        # No outbox poll during the count: its queries would be counted against requests.
        env=harness.server_env(outbox_interval_seconds=3600),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def control(*args: str) -> None:
        subprocess.run(["callgrind_control", *args, str(proc.pid)], check=True, capture_output=True)

    senders = SimpleNamespace(senders=[f"o-bench-{i}" for i in range(count)])
    hooks = world.webhook_lines(senders, 2 * count)  # type: ignore[arg-type]
    url = f"http://127.0.0.1:{port}"
    per: dict[str, float] = {}
    try:
        async with aiohttp.ClientSession() as http:
            while True:  # valgrind starts the server slowly
                try:
                    await _send(http, url, world.bare_lines(1))
                    break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.5)
            await _send(http, url, world.bare_lines(WARM) + hooks[:count])  # each sender once
            await _set_marks(senders.senders, stale=stale)
            for name, lines in (("bare", world.bare_lines(count)), ("P2", hooks[count:])):
                control("--zero")
                control("--instr=on")
                await _send(http, url, lines)
                control("--instr=off")
                control("--dump")
                await asyncio.sleep(1)  # the dump is written after the command returns
                per[name] = _instructions(out, proc.pid) / count
    finally:
        proc.terminate()
        proc.wait(60)
        for path in glob.glob(f"{out}.*"):
            os.unlink(path)
    return (
        f"bare {per['bare']:,.0f} instructions a request; P2 {per['P2']:,.0f}; "
        f"bare/P2 {per['bare'] / per['P2']:.3f}"
    )


async def run(rounds: int, sources: list[Path], count: int, stale: bool) -> None:
    for n in range(rounds):
        for source in sources:
            line = await _measure(source, count, stale)
            print(f"round {n + 1} {source}: {line}", flush=True)  # noqa: T201


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--source", type=Path, action="append", default=[])
    parser.add_argument("--count", type=int, default=300, help="requests of each kind counted")
    parser.add_argument("--stale", action="store_true", help="each sender's mark written")
    args = parser.parse_args()
    asyncio.run(run(args.rounds, args.source or [harness.ROOT], args.count, args.stale))


if __name__ == "__main__":
    main()
