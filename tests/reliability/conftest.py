"""Fixtures of the reliability suite: real server processes, proxies in front of PostgreSQL and
Redis (to slow them down or cut them), and one HTTP client session for everything.

The test process reads the rows through the in-process app's ORM (the ``client`` fixture), on
the real database, never through a proxy.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from tests.support.fake_wechat import FakeWeChat
from tests.support.server_process import ServerProcess, server_env
from tests.support.tcp_proxy import TcpProxy, database_proxy, via_proxy

# 5 to 50 ms each way on every chunk, as the issue asks of the latency runs.
LATENCY = {"delay": 0.005, "jitter": 0.045}


def _via(url: str, port: int) -> str:
    parts = urlsplit(url)
    auth = parts.netloc.rpartition("@")[0]
    netloc = f"{auth}@127.0.0.1:{port}" if auth else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def _target(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


@dataclass
class Stack:
    """``qunshop serve`` processes sharing one database and one Redis, through the proxies."""

    db: TcpProxy | None  # None: straight to the database
    redis: TcpProxy | None
    env: dict[str, str]
    servers: list[ServerProcess] = field(default_factory=list)
    scheduler: ServerProcess | None = None  # ``--role scheduler``: the clock, no doors

    @property
    def bases(self) -> list[str]:
        return [f"http://127.0.0.1:{s.port}" for s in self.servers]

    @property
    def processes(self) -> list[ServerProcess]:
        return [*self.servers, *([self.scheduler] if self.scheduler else [])]

    async def add_server(self, *args: str) -> ServerProcess:
        server = ServerProcess(self.env, *(args or ("--role", "web")))
        self.servers.append(server)
        await server.start(timeout=60)
        return server

    def output(self) -> str:
        return "\n".join(s.output() for s in self.processes)


MakeStack = Callable[..., Awaitable[Stack]]


@pytest.fixture
async def make_stack(
    database_url: str,
    redis_url: str | None,
    fake_wechat: tuple[FakeWeChat, str],
    tmp_path: Path,
) -> AsyncIterator[MakeStack]:
    """``await make_stack(servers=2, latency=False, proxied=True, scheduler=False, **settings)``.

    ``servers`` web processes (``--role web``), and with ``scheduler`` one ``--role scheduler``
    beside them, as a deployment runs them. ``latency`` puts 5-50 ms in front of PostgreSQL
    and Redis; ``proxied=False`` (only without latency) connects the servers straight to them.
    The database may be the machine's or the embedded one (a Unix socket, proxied over TCP).
    Everything is torn down afterwards.
    """
    stacks: list[Stack] = []

    async def build(
        servers: int = 2,
        latency: bool = False,
        proxied: bool = True,
        scheduler: bool = False,
        **settings: Any,
    ) -> Stack:
        assert redis_url is not None, "server processes need a real Redis"
        db = redis = None
        db_url, cache_url = database_url, redis_url
        if proxied or latency:
            delays = LATENCY if latency else {}
            db = database_proxy(database_url, **delays)
            redis = TcpProxy(*_target(redis_url, 6379), **delays)
            await db.start()
            await redis.start()
            db_url, cache_url = via_proxy(database_url, db), _via(redis_url, redis.port)
        env = server_env(
            database_url=db_url,
            redis_url=cache_url,
            api_base=fake_wechat[1],
            outbox_interval_seconds=0.2,
            # Two servers, the in-process app and other test runs share PostgreSQL's 100
            # connections: 10 each instead of the default 20.
            database_pool_size=10,
            **settings,
        )
        stack = Stack(db=db, redis=redis, env=env)
        stacks.append(stack)
        await asyncio.gather(*(stack.add_server() for _ in range(servers)))
        if scheduler:
            stack.scheduler = ServerProcess(env, "--role", "scheduler")
            await stack.scheduler.start(timeout=60)
        return stack

    yield build
    for n, stack in enumerate(stacks):
        await asyncio.gather(*(server.stop_async() for server in stack.processes))
        # The servers' logs outlive them in the test's tmp_path, for whoever reads a failure.
        (tmp_path / f"servers-{n}.log").write_text(stack.output())
        for proxy in (stack.db, stack.redis):
            if proxy is not None:
                await proxy.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(limit=400, limit_per_host=200)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        yield session


@pytest.fixture
def in_process(client: TestClient) -> list[str]:
    """The in-process app (the ``client`` fixture) as a base URL."""
    return [str(client.make_url("")).rstrip("/")]
