"""P5, the whole order: join, prepay against a fake WeChat Pay, and a signed pay notify."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from bench.harness import BENCH_SECRETS, free_port
from bench.world import TEAM_SIZE
from wechat.pay import HMAC_SHA256, nonce, parse_xml, sign, to_xml

if TYPE_CHECKING:
    from bench.harness import Server
    from bench.world import World

APPID, MCH_ID, KEY = (
    BENCH_SECRETS["wechat_appid"],
    BENCH_SECRETS["pay_mch_id"],
    BENCH_SECRETS["pay_api_key"],
)


class FakePay:
    """Answers unified orders as WeChat Pay v2 does, and remembers them by prepay_id."""

    def __init__(self) -> None:
        self.port = free_port()
        self.orders: dict[str, dict[str, str]] = {}
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def unified_order(self, request: web.Request) -> web.Response:
        sent = parse_xml(await request.read())
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
        return web.Response(body=to_xml(answer), content_type="application/xml")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/pay/unifiedorder", self.unified_order)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

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


@dataclass(frozen=True)
class Outcome:
    orders: int
    failed: int
    orders_per_second: float


async def run(
    server: Server,
    world: World,
    fake: FakePay,
    *,
    first_user: int,
    seconds: float,
    concurrency: int = 64,
) -> Outcome:
    users = itertools.count(first_user)
    done = failed = 0
    end = time.perf_counter() + seconds

    async def one(http: aiohttp.ClientSession) -> bool:
        k = next(users)
        auth = {"Authorization": f"Bearer {world.tokens[k]}"}
        code = world.team_codes[k // (TEAM_SIZE - 1)]
        async with http.post(f"{server.url}/api/v1/teams/{code}/join", json={}, headers=auth) as r:
            if r.status != 201:
                return False
            order_id = (await r.json())["order"]["id"]
        async with http.post(f"{server.url}/api/v1/orders/{order_id}/prepay", headers=auth) as r:
            if r.status != 200:
                return False
            prepay_id = (await r.json())["package"].split("=", 1)[1]
        body = fake.notify(prepay_id, f"42000{k:023d}")
        async with http.post(f"{server.url}/pay/wechat/notify", data=body) as r:
            return r.status == 200 and "SUCCESS" in await r.text()

    async def worker(http: aiohttp.ClientSession) -> None:
        nonlocal done, failed
        while time.perf_counter() < end:
            if await one(http):
                done += 1
            else:
                failed += 1

    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return Outcome(orders=done, failed=failed, orders_per_second=done / elapsed)
