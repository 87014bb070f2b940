"""The pay notify's statement alone: PostgreSQL CPU per ``qunshop_pay_order``, read from its
backend's /proc/<pid>/schedstat (ns on a CPU) around each call on one connection: far less
noisy than a loaded run, where other work shares the two cores.

``python -m bench.p5_notify_sql prepare N``: a fresh bench database, P5's world, and N people
joined and prepaid through the real server (teams of 5; the fifth of each team is left out,
so no payment fills its team); the notifies are kept in ``QUNSHOP_NOTIFY_SQL_STATE``.

``python -m bench.p5_notify_sql public cand ...``: the prepared orders paid one after another,
``<schema>.qunshop_pay_order`` taking turns order by order. ``public`` is the migrated
function; a candidate is the same function created in another schema (its calls to other
candidate functions schema-qualified), so both run against the same tables, triggers and
keys, interleaved. Prints the mean and median µs of backend CPU per notify.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import http1, world
from bench.harness import Server, connect, fresh_database
from bench.p5_orders import JSON, TEAM_SIZE, FakePay
from services import payments

STATE = Path(os.environ.get("QUNSHOP_NOTIFY_SQL_STATE", "/tmp/qunshop_notify_sql.json"))


async def prepare(count: int) -> None:
    await fresh_database()
    bench_world = await world.build(users=count, teams=1, senders=1)
    codes = await world.add_order_teams(bench_world, size=TEAM_SIZE, teams=count // TEAM_SIZE)
    fake = FakePay()
    await fake.start()
    server = Server("--role", "web", pay_api_base=fake.url)
    await server.start()
    todo: list[tuple[str, int]] = []
    try:
        http = http1.Connection("127.0.0.1", server.port)
        for k in range(count):
            if k % TEAM_SIZE == TEAM_SIZE - 1:
                continue  # the fifth would fill its team
            auth = {"Authorization": f"Bearer {bench_world.tokens[k]}"}
            status, body = await http.request(
                "POST", f"/api/v1/teams/{codes[k // TEAM_SIZE]}/join", b"{}", {**auth, **JSON}
            )
            if status != 201:
                continue
            order_id = json.loads(body)["order"]["id"]
            status, body = await http.request(
                "POST", f"/api/v1/orders/{order_id}/prepay", b"", auth
            )
            if status == 200:
                prepay_id = json.loads(body)["package"].split("=", 1)[1]
                todo.append((prepay_id, k))
        http.close()
        notifies = [{**fake.orders[p], "transaction_id": f"42000{k:023d}"} for p, k in todo]
    finally:
        server.stop()
        await fake.stop()
    STATE.write_text(json.dumps(notifies))
    print(f"prepared {len(notifies)} orders")  # noqa: T201


def _cpu_ns(pid: int) -> int:
    """The backend's time on a CPU so far, in ns (the scheduler's own account)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])


async def measure(schemas: list[str]) -> None:
    """Each prepared order paid by ``<schema>.qunshop_pay_order``, the schemas taking turns
    order by order (each round starting with the next), on one connection."""
    notifies = json.loads(STATE.read_text())
    conn = await connect()
    pid = await conn.fetchval("SELECT pg_backend_pid()")
    now = datetime.now(tz=UTC)
    rules = payments._rules()
    spent: dict[str, list[int]] = {s: [] for s in schemas}
    outcomes: dict[str, dict[str, int]] = {s: {} for s in schemas}
    sql = {
        s: f"SELECT outcome FROM {s}.qunshop_pay_order($1, $2, $3, $4, $5, $6, $7, $8, $9,"
        " $10, $11, $12, $13)"
        for s in schemas
    }
    for n, data in enumerate(notifies):
        r = n // len(schemas)
        schema = schemas[(n + r) % len(schemas)]
        sent = {
            "return_code": "SUCCESS",
            "result_code": "SUCCESS",
            "transaction_id": data["transaction_id"],
            "out_trade_no": data["out_trade_no"],
            "total_fee": data["total_fee"],
            "openid": data["openid"],
            "time_end": "20261127000000",
        }
        args = [
            data["out_trade_no"],
            data["transaction_id"],
            int(data["total_fee"]),
            json.dumps(sent),
            now,
            *rules,
            True,
        ]
        before = _cpu_ns(pid)
        outcome = await conn.fetchval(sql[schema], *args)
        spent[schema].append(_cpu_ns(pid) - before)
        outcomes[schema][outcome] = outcomes[schema].get(outcome, 0) + 1
    await conn.close()
    for schema in schemas:
        xs = sorted(spent[schema][50:])  # past the first plans
        mean = sum(xs) / len(xs) / 1000
        print(  # noqa: T201
            f"{schema}: mean {mean:.0f} µs, median {xs[len(xs) // 2] / 1000:.0f} µs per notify"
            f" over {len(xs)} {outcomes[schema]}"
        )


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        asyncio.run(prepare(int(sys.argv[2])))
    else:
        asyncio.run(measure(sys.argv[1:]))
