"""The pay notify through the real server under P5's load: the server's and PostgreSQL's CPU
per notify that completes its team (the fifth of five) against an ordinary one.

``python -m bench.p5_notify_team N``: a fresh bench database, P5's world, N people (teams of
5) joined and prepaid through the server, then their notifies sent 64 at a time in two steps:
first every ordinary one (the first four of each team), then every completing one. Around
each step, the server's threads' and the bench database's client backends' time on a CPU
(/proc/<pid>/task/*/schedstat, ns). Prints µs per notify of each kind and their mean.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from bench import http1, world
from bench.harness import Server, connect, fresh_database
from bench.p5_orders import JSON, NOTIFY, TEAM_SIZE, FakePay

CONCURRENCY = 64


def _ns(pid: int) -> int:
    """A process's threads' time on a CPU so far, in ns (the scheduler's own account)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except OSError:  # a thread gone meanwhile
            continue
    return total


async def _backends() -> list[int]:
    conn = await connect()
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
    finally:
        await conn.close()
    return [r["pid"] for r in rows]


async def _each(port: int, step, todo: list[int]) -> None:
    queue = iter(todo)

    async def worker() -> None:
        http = http1.Connection("127.0.0.1", port)
        for k in queue:
            await step(http, k)
        http.close()

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


async def main(count: int) -> None:
    await fresh_database()
    bench_world = await world.build(users=count, teams=1, senders=1)
    codes = await world.add_order_teams(bench_world, size=TEAM_SIZE, teams=count // TEAM_SIZE)
    fake = FakePay()
    await fake.start()
    server = Server("--role", "web", pay_api_base=fake.url)
    await server.start()
    prepay_ids: dict[int, str] = {}

    async def order(http: http1.Connection, k: int) -> None:
        auth = {"Authorization": f"Bearer {bench_world.tokens[k]}"}
        status, body = await http.request(
            "POST", f"/api/v1/teams/{codes[k // TEAM_SIZE]}/join", b"{}", {**auth, **JSON}
        )
        assert status == 201, body
        order_id = json.loads(body)["order"]["id"]
        status, body = await http.request("POST", f"/api/v1/orders/{order_id}/prepay", b"", auth)
        assert status == 200, body
        prepay_ids[k] = json.loads(body)["package"].split("=", 1)[1]

    async def notify(http: http1.Connection, k: int) -> None:
        body = fake.notify(prepay_ids[k], f"42000{k:023d}")
        status, answer = await http.request("POST", "/pay/wechat/notify", body, NOTIFY)
        assert status == 200 and b"SUCCESS" in answer, answer

    spent: dict[str, tuple[float, float, int]] = {}
    try:
        await _each(server.port, order, list(range(count)))
        for kind, todo in (
            ("ordinary", [k for k in range(count) if k % TEAM_SIZE != TEAM_SIZE - 1]),
            ("completing", [k for k in range(count) if k % TEAM_SIZE == TEAM_SIZE - 1]),
        ):
            backends = await _backends()
            pg0, sv0 = sum(_ns(p) for p in backends), _ns(server.proc.pid)
            await _each(server.port, notify, todo)
            sv1, pg1 = _ns(server.proc.pid), sum(_ns(p) for p in backends)
            spent[kind] = (
                (sv1 - sv0) / len(todo) / 1000,
                (pg1 - pg0) / len(todo) / 1000,
                len(todo),
            )
        conn = await connect()
        filled = await conn.fetchval("SELECT count(*) FROM teams WHERE status = 'succeeded'")
        await conn.close()
    finally:
        server.stop()
        await fake.stop()
    for kind, (sv, pg, n) in spent.items():
        print(f"{kind}: server {sv:.0f} µs, PostgreSQL {pg:.0f} µs over {n}")  # noqa: T201
    sv = sum(s * n for s, _, n in spent.values()) / count
    pg = sum(p * n for _, p, n in spent.values()) / count
    print(f"all: server {sv:.0f} µs, PostgreSQL {pg:.0f} µs; {filled} teams filled")  # noqa: T201


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
