"""P7: the team page every shared card opens (GET /h5/teams/{code}), as a ratio to the bare
/healthz of the same server in the same run, and its p99 at about half that load.

The teams are real: members joined through the API first, so the page draws their seats.
WeChat's urllink.generate is answered by a small fake here, as in production the link is
made once per team and then read from Redis.
"""

from __future__ import annotations

import asyncio
import itertools

import aiohttp
from aiohttp import web

from bench import world
from bench.harness import Result, Server, free_port, fresh_database
from bench.p_http import _cpu_us, _measure, _ratio_result, _replay

TEAMS = 8  # a few cards being opened at once
JOINERS = 20  # members each of those teams has
LINES = 500_000  # the cached page answers about as fast as the bare endpoint


class FakeWxa:
    """stable_token and generate_urllink, as WeChat answers them."""

    def __init__(self) -> None:
        self.port = free_port()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def token(self, request: web.Request) -> web.Response:
        return web.json_response({"access_token": "BENCH_TOKEN", "expires_in": 7200})

    async def urllink(self, request: web.Request) -> web.Response:
        link = f"https://wxaurl.cn/B{next(self._ids):08d}"
        return web.json_response({"errcode": 0, "errmsg": "ok", "url_link": link})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/cgi-bin/stable_token", self.token)
        app.router.add_post("/wxa/generate_urllink", self.urllink)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def _join(server: Server, bench_world: world.World) -> list[str]:
    """Fill the first teams through the API, as their members would."""
    lines = world.join_lines(bench_world, 0, TEAMS * (world.TEAM_SIZE - 1))
    wanted = [line for k, line in enumerate(lines) if k % (world.TEAM_SIZE - 1) < JOINERS]
    async with aiohttp.ClientSession() as http:
        for line in wanted:
            _, path, auth, ctype, body = line.split("\t", 4)
            async with http.post(
                server.url + path, data=body, headers={"Authorization": auth, "Content-Type": ctype}
            ) as response:
                if response.status != 201:
                    raise RuntimeError(f"join failed: {response.status} {await response.text()}")
    return bench_world.team_codes[:TEAMS]


async def _warm(server: Server, codes: list[str]) -> None:
    """Each page once: its URL link made and cached, as after a card's first opening."""
    async with aiohttp.ClientSession() as http:
        for code in codes * 2:
            async with http.get(f"{server.url}/h5/teams/{code}") as response:
                body = await response.text()
                if response.status != 200 or "wxaurl.cn" not in body:
                    raise RuntimeError(f"team page {code}: {response.status}")


async def run() -> list[Result]:
    await fresh_database()
    bench_world = await world.build(users=TEAMS * world.TEAM_SIZE, teams=TEAMS + 2, senders=10)
    wxa = FakeWxa()
    await wxa.start()
    server = Server("--role", "web", wechat_api_base=wxa.url)
    await server.start()
    try:
        codes = await _join(server, bench_world)
        pages = [f"GET\t/h5/teams/{codes[k % len(codes)]}\t\t\t" for k in range(LINES)]
        await _warm(server, codes)
        cpu_before = server.cpu_seconds()
        bare = await asyncio.to_thread(_replay, server.url, world.bare_lines(1))
        bare_cpu_us = _cpu_us(server, bare, cpu_before)
        p7 = await asyncio.to_thread(_measure, server, pages)
    finally:
        server.stop()
        await wxa.stop()
    return [
        Result(
            "BARE7",
            round(bare.rps),
            "requests/s",
            0,
            "higher",
            {"endpoint": "GET /healthz", "server_cpu_us_per_request": bare_cpu_us},
        ),
        _ratio_result("P7", p7, bare, 0.30, 20.0, teams=TEAMS, members=JOINERS + 1),
    ]


if __name__ == "__main__":
    for result in asyncio.run(run()):
        print(result.line())  # noqa: T201
