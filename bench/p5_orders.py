"""P5, the whole order as the mini-program makes it: a join with pay (the seat and the payment's
parameters from a fake WeChat Pay in one request), then the signed pay notify. ``--three-step``
(``three_step=True``): the flow before it, a join, a prepay, the notify."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import uvloop

from bench import http1, world
from bench.harness import BENCH_SECRETS, Result, Server, connect, free_port, fresh_database
from wechat.pay import HMAC_SHA256, nonce, parse_xml, sign, to_xml, verify

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from bench.world import World

APPID, MCH_ID, KEY = (
    BENCH_SECRETS["wechat_appid"],
    BENCH_SECRETS["pay_mch_id"],
    BENCH_SECRETS["pay_api_key"],
)


class FakePay:
    """Answers unified orders as WeChat Pay v2 does (the request's signature and merchant
    checked, the answer signed), and remembers them by prepay_id. Served by ``bench.http1``,
    so it takes little of the cores the server is measured on."""

    def __init__(self) -> None:
        self.port = free_port()
        self.orders: dict[str, dict[str, str]] = {}
        self._ids = itertools.count(1)
        self._listener = http1.Listener(self.answer)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, path: str, body: bytes) -> tuple[int, bytes, str]:
        if path != "/pay/unifiedorder":
            return 404, b"", "text/plain"
        return 200, self.unified_order(body), "application/xml"

    def unified_order(self, body: bytes) -> bytes:
        sent = parse_xml(body)
        if not verify(sent, KEY):
            return to_xml({"return_code": "FAIL", "return_msg": "签名错误"})
        if (sent.get("appid"), sent.get("mch_id")) != (APPID, MCH_ID):
            return to_xml({"return_code": "FAIL", "return_msg": "appid和mch_id不匹配"})
        prepay_id = f"wx{next(self._ids):020d}"
        self.orders[prepay_id] = sent
        answer = {
            "return_code": "SUCCESS",
            "result_code": "SUCCESS",
            "appid": APPID,
            "mch_id": MCH_ID,
            "nonce_str": nonce(),
            "prepay_id": prepay_id,
            "trade_type": "JSAPI",
            "sign_type": sent.get("sign_type", HMAC_SHA256),
        }
        answer["sign"] = sign(answer, KEY, answer["sign_type"])
        return to_xml(answer)

    async def start(self) -> None:
        await self._listener.start("127.0.0.1", self.port)

    async def stop(self) -> None:
        await self._listener.stop()

    def notify(self, prepay_id: str, transaction_id: str) -> bytes:
        order = self.orders[prepay_id]
        params = {
            "return_code": "SUCCESS",
            "result_code": "SUCCESS",
            "appid": APPID,
            "mch_id": MCH_ID,
            "nonce_str": nonce(),
            "openid": order["openid"],
            "trade_type": "JSAPI",
            "bank_type": "OTHERS",
            "total_fee": order["total_fee"],
            "cash_fee": order["total_fee"],
            "fee_type": "CNY",
            "transaction_id": transaction_id,
            "out_trade_no": order["out_trade_no"],
            "time_end": "20261127000000",
            "sign_type": HMAC_SHA256,
        }
        params["sign"] = sign(params, KEY, HMAC_SHA256)
        return to_xml(params)


TEAM_SIZE = 5  # people's teams are small: 3-10 (P5 fills each during the run)
JSON = {"Content-Type": "application/json"}
PAY = b'{"pay": true}'  # a join asked to pay (services/join_pay.py)
JOIN_WITH_PAY = "join with pay (fake WeChat Pay), signed pay notify; teams fill"
THREE_STEPS = "join, prepay (fake WeChat Pay), signed pay notify; teams fill"
NOTIFY = {"Content-Type": "application/octet-stream"}  # as aiohttp sent the notify's bytes


def _own_cpu_seconds() -> float:
    """User plus system CPU this process (the driver and its fake WeChat Pay) has used."""
    return time.process_time()


@dataclass(frozen=True)
class Outcome:
    orders: int
    failed: int
    orders_per_second: float
    teams_filled: int
    server_cpu_us_per_order: int
    driver_cpu_us_per_order: int
    seconds: float
    failures: dict[str, int]
    flow: str = JOIN_WITH_PAY


async def run(
    server: Server,
    world: World,
    fake: FakePay,
    *,
    team_codes: list[str],
    first_user: int,
    seconds: float,
    team_size: int = TEAM_SIZE,
    concurrency: int = 64,
    three_step: bool = False,
) -> Outcome:
    """Each person joins the next team with a free seat asking to pay, and pays (the notify):
    teams fill in the order of ``team_codes``, ``team_size`` people each, so the last payment
    of every team completes it. An order counts once its notify is answered SUCCESS.
    ``three_step``: join, then prepay, then the notify."""
    users = itertools.count(first_user)
    done = failed = 0
    failures: Counter[str] = Counter()
    end = time.perf_counter() + seconds

    async def one(http: http1.Connection) -> str | None:
        k = next(users)
        auth = {"Authorization": f"Bearer {world.tokens[k]}"}
        code = team_codes[(k - first_user) // team_size]
        status, body = await http.request(
            "POST", f"/api/v1/teams/{code}/join", b"{}" if three_step else PAY, {**auth, **JSON}
        )
        if status != 201:
            return f"join {status} {json.loads(body).get('code')}"
        answer = json.loads(body)
        if three_step:
            order_id = answer["order"]["id"]
            status, body = await http.request(
                "POST", f"/api/v1/orders/{order_id}/prepay", b"", auth
            )
            if status != 200:
                return f"prepay {status} {json.loads(body).get('code')}"
            params = json.loads(body)
        elif (params := answer["payment"]) is None:
            return f"join payment {answer['payment_error']['code']}"
        prepay_id = params["package"].split("=", 1)[1]
        notify = fake.notify(prepay_id, f"42000{k:023d}")
        status, body = await http.request("POST", "/pay/wechat/notify", notify, NOTIFY)
        if status == 200 and b"SUCCESS" in body:
            return None
        return f"notify {status}"

    async def worker() -> None:
        nonlocal done, failed
        http = http1.Connection("127.0.0.1", server.port)
        while time.perf_counter() < end:
            why = await one(http)
            if why is None:
                done += 1
            else:
                failed += 1
                failures[why] += 1
        http.close()

    cpu_before, driver_before = server.cpu_seconds(), _own_cpu_seconds()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    cpu = server.cpu_seconds() - cpu_before
    driver_cpu = _own_cpu_seconds() - driver_before
    filled = await _teams_filled(team_codes)
    return Outcome(
        orders=done,
        failed=failed,
        orders_per_second=done / elapsed,
        teams_filled=filled,
        server_cpu_us_per_order=round(cpu / max(done, 1) * 1e6),
        driver_cpu_us_per_order=round(driver_cpu / max(done, 1) * 1e6),
        seconds=elapsed,
        failures=dict(failures.most_common(5)),
        flow=THREE_STEPS if three_step else JOIN_WITH_PAY,
    )


async def _teams_filled(codes: list[str]) -> int:
    conn = await connect()
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM teams WHERE code = ANY($1::text[]) AND status = 'succeeded'",
            codes,
        )
    finally:
        await conn.close()


def result(outcome: Outcome, *, team_size: int = TEAM_SIZE, concurrency: int = 64) -> Result:
    return Result(
        "P5",
        round(outcome.orders_per_second, 1),
        "paid orders/s",
        500,
        "higher",
        {
            "orders": outcome.orders,
            "failed": outcome.failed,
            "teams_filled": outcome.teams_filled,
            "team_size": team_size,
            "seconds": round(outcome.seconds, 1),
            "server_cpu_us_per_order": outcome.server_cpu_us_per_order,
            "driver_cpu_us_per_order": outcome.driver_cpu_us_per_order,
            "flow": outcome.flow,
            "driver": f"python bench.http1 keep-alive, {concurrency} concurrent",
            **({"failures": outcome.failures} if outcome.failures else {}),
        },
    )


async def _postgres_cpu_seconds() -> float:
    """CPU used so far by the bench database's client backends (the server's pool; not
    autovacuum, which the bulk set-up wakes mid-run), from /proc."""
    conn = await connect()
    try:
        pids = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
    finally:
        await conn.close()
    total = 0
    for row in pids:
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{row['pid']}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(stat[11]) + int(stat[12])
    return total / os.sysconf("SC_CLK_TCK")


async def split(
    server: Server,
    world: World,
    fake: FakePay,
    *,
    team_codes: list[str],
    first_user: int,
    count: int,
    team_size: int = TEAM_SIZE,
    concurrency: int = 64,
    three_step: bool = False,
) -> dict[str, dict[str, int]]:
    """The same orders step by step (every join with pay, then every notify; ``three_step``:
    every join, every prepay, every notify), with the server's and PostgreSQL's CPU per order
    of each step: where an order's time goes."""
    people = list(range(first_user, first_user + count))
    order_ids: dict[int, str] = {}
    prepay_ids: dict[int, str] = {}

    async def join(http: http1.Connection, k: int) -> None:
        auth = {"Authorization": f"Bearer {world.tokens[k]}"}
        code = team_codes[(k - first_user) // team_size]
        status, body = await http.request(
            "POST", f"/api/v1/teams/{code}/join", b"{}" if three_step else PAY, {**auth, **JSON}
        )
        if status != 201:
            return
        answer = json.loads(body)
        order_ids[k] = answer["order"]["id"]
        if not three_step and answer["payment"] is not None:
            prepay_ids[k] = answer["payment"]["package"].split("=", 1)[1]

    async def prepay(http: http1.Connection, k: int) -> None:
        auth = {"Authorization": f"Bearer {world.tokens[k]}"}
        status, body = await http.request(
            "POST", f"/api/v1/orders/{order_ids[k]}/prepay", b"", auth
        )
        if status == 200:
            prepay_ids[k] = json.loads(body)["package"].split("=", 1)[1]

    async def notify(http: http1.Connection, k: int) -> None:
        body = fake.notify(prepay_ids[k], f"42000{k:023d}")
        await http.request("POST", "/pay/wechat/notify", body, NOTIFY)

    async def each(
        step: Callable[[http1.Connection, int], Awaitable[None]], todo: list[int]
    ) -> None:
        """``step`` for every person of ``todo``, ``concurrency`` at a time."""
        queue = iter(todo)  # shared: each worker takes the next person

        async def worker() -> None:
            http = http1.Connection("127.0.0.1", server.port)
            for k in queue:
                await step(http, k)
            http.close()

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    flow = (
        [("join", join, lambda: people), ("prepay", prepay, lambda: list(order_ids))]
        if three_step
        else [("join_pay", join, lambda: people)]
    )
    steps = {}
    for name, step, who in [*flow, ("notify", notify, lambda: list(prepay_ids))]:
        todo = who()
        server_before, pg_before = server.cpu_seconds(), await _postgres_cpu_seconds()
        driver_before, started = _own_cpu_seconds(), time.perf_counter()
        await each(step, todo)
        elapsed = time.perf_counter() - started
        driver_cpu = _own_cpu_seconds() - driver_before
        server_cpu = server.cpu_seconds() - server_before
        pg_cpu = await _postgres_cpu_seconds() - pg_before
        steps[name] = {
            "requests": len(todo),
            "per_second": round(len(todo) / elapsed),
            "server_cpu_us": round(server_cpu / max(len(todo), 1) * 1e6),
            "postgres_cpu_us": round(pg_cpu / max(len(todo), 1) * 1e6),
            "driver_cpu_us": round(driver_cpu / max(len(todo), 1) * 1e6),
        }
    steps["teams_filled"] = {"teams": await _teams_filled(team_codes)}
    return steps


async def main(seconds: float = 8, *, steps: int = 0, three_step: bool = False) -> list[Result]:
    """P5 alone: ``python -m bench.p5_orders``; ``--steps N``: N orders step by step after it
    (``split``), printed as where an order's CPU goes; ``--three-step``: join, prepay and
    notify as three requests (the flow before join with pay)."""
    await fresh_database()
    users = 10_000
    bench_world = await world.build(users=users, teams=1, senders=1)
    codes = await world.add_order_teams(bench_world, size=TEAM_SIZE, teams=users // TEAM_SIZE)
    fake_pay = FakePay()
    await fake_pay.start()
    server = Server("--role", "web", pay_api_base=fake_pay.url)
    await server.start()
    try:
        outcome = await run(
            server,
            bench_world,
            fake_pay,
            team_codes=codes,
            first_user=0,
            seconds=seconds,
            three_step=three_step,
        )
        if steps:
            # Fresh teams after the run's last (partly filled) one.
            first = (outcome.orders + outcome.failed + 64 * 2) // TEAM_SIZE * TEAM_SIZE + TEAM_SIZE
            print(  # noqa: T201
                json.dumps(
                    await split(
                        server,
                        bench_world,
                        fake_pay,
                        team_codes=codes[first // TEAM_SIZE :],
                        first_user=first,
                        count=steps,
                        three_step=three_step,
                    )
                )
            )
    finally:
        server.stop()
        await fake_pay.stop()
    return [result(outcome)]


if __name__ == "__main__":
    steps = int(sys.argv[sys.argv.index("--steps") + 1]) if "--steps" in sys.argv else 0
    for line in uvloop.run(main(steps=steps, three_step="--three-step" in sys.argv)):
        print(line.line())  # noqa: T201
