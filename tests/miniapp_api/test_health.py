from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient

from qunshop.assembly.app import create_app
from tests.support.tcp_proxy import TcpProxy, database_proxy, via_proxy


async def test_ready_when_everything_answers(client: TestClient) -> None:
    resp = await client.get("/readyz")
    assert resp.status == 200
    assert await resp.json() == {
        "status": "ready",
        "checks": {"database": "ok", "redis": "ok"},
    }


@pytest.fixture
async def redis_proxy(redis_url: str | None) -> Any:
    if redis_url is None:
        pytest.skip("needs a real Redis: set QUNSHOP_TEST_REDIS_URL (CI does)")
    parts = urlsplit(redis_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 6379)
    await proxy.start()
    yield proxy, f"redis://127.0.0.1:{proxy.port}{parts.path}"
    await proxy.stop()


async def test_not_ready_when_redis_is_down(
    make_settings: Any, start_client: Any, redis_proxy: Any
) -> None:
    proxy, url = redis_proxy
    client = await start_client(create_app(make_settings(redis_url=url)))
    assert (await client.get("/readyz")).status == 200
    await proxy.stop()
    resp = await client.get("/readyz")
    assert resp.status == 503
    body = await resp.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("down")
    # liveness does not depend on Redis
    assert (await client.get("/healthz")).status == 200


async def test_fakeredis_down_is_reported(client: TestClient, settings: Any) -> None:
    """On the embedded default a Redis outage is simulated on the fake server itself."""
    from qunshop.keys import REDIS

    redis = client.server.app[REDIS]
    server = getattr(redis.connection_pool.connection_kwargs.get("server"), "connected", None)
    if server is None:
        pytest.skip("real Redis in use; covered by test_not_ready_when_redis_is_down")
    redis.connection_pool.connection_kwargs["server"].connected = False
    resp = await client.get("/readyz")
    assert resp.status == 503
    assert (await resp.json())["checks"]["redis"].startswith("down")


@pytest.fixture
async def pg_proxy(database_url: str) -> Any:
    proxy = database_proxy(database_url)
    await proxy.start()
    yield proxy, via_proxy(database_url, proxy)
    await proxy.stop()


async def test_not_ready_when_database_is_down(
    make_settings: Any, start_client: Any, pg_proxy: Any
) -> None:
    proxy, url = pg_proxy
    client = await start_client(create_app(make_settings(database_url=url)))
    assert (await client.get("/readyz")).status == 200
    await proxy.stop()
    resp = await client.get("/readyz")
    assert resp.status == 503
    body = await resp.json()
    assert body["checks"]["database"].startswith("down")
    assert body["checks"]["redis"] == "ok"
