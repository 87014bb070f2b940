"""Fixtures: the app built per test through the real factory, on real storage.

PostgreSQL named by QUNSHOP_TEST_DATABASE_URL, else the database ``qunshop_test`` on the
checkout's embedded PostgreSQL (started for the run, or reused when ``make run`` has it up);
either is made afresh for the run from a template migrated once (tests/support/db.py).
Redis named by QUNSHOP_TEST_REDIS_URL, else in-process fakeredis.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from qunshop.assembly.app import create_app
from qunshop.assembly.embedded_pg import EmbeddedPostgres
from qunshop.config import Mode, Settings
from tests.support.db import create_migrated_database, empty_database
from tests.support.fake_wechat import FakeWeChat

TEST_SECRETS = {
    "wechat_appid": "wx1234567890test",
    "wechat_secret": "test-wechat-app-secret-value",
    "wechat_token": "testtoken",
    "wechat_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "pay_mch_id": "1230000109",
    "wecom_corp_id": "wx5823bf96d3bd56c7",
    "wecom_secret": "test-wecom-app-secret",
    "wecom_token": "QDG6eK",
    "wecom_aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    "wecom_bot_token": "botToken123",
    "wecom_bot_aes_key": "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG",
    "pay_api_key": "192006250b4c09247ec02edce69f6a2d",
    "secret_key": "test-secret-key-for-signing-tokens",
}


ROOT = Path(__file__).resolve().parents[1]
EMBEDDED_TEST_DATABASE = "qunshop_test"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """The test database, made afresh for the run as a copy of the migrated template."""
    url = os.environ.get("QUNSHOP_TEST_DATABASE_URL")
    if url:
        asyncio.run(create_migrated_database(url))
        yield url
        return
    with EmbeddedPostgres(ROOT / "var" / "postgres") as pg:
        url = pg.url(EMBEDDED_TEST_DATABASE)
        asyncio.run(create_migrated_database(url))
        # A lost last commit is nothing to a test database, and every test commits often.
        pg.sql(f"ALTER DATABASE {EMBEDDED_TEST_DATABASE} SET synchronous_commit = off")
        yield url


@pytest.fixture(scope="session")
def redis_url() -> str | None:
    return os.environ.get("QUNSHOP_TEST_REDIS_URL") or None


@pytest.fixture
def real_redis(redis_url: str | None) -> str:
    """Server processes share state through Redis: fakeredis lives inside one process."""
    if redis_url is None:
        pytest.skip("several server processes need a real Redis: set QUNSHOP_TEST_REDIS_URL")
    return redis_url


@pytest.fixture(autouse=True)
async def clean_storage(database_url: str, redis_url: str | None) -> None:
    """Each test starts on an empty database and an empty Redis db."""
    await empty_database(database_url)
    if redis_url:
        redis = Redis.from_url(redis_url)
        try:
            await redis.flushdb()
        finally:
            await redis.aclose()


@pytest.fixture
async def fake_wechat(aiohttp_server: Any) -> tuple[FakeWeChat, str]:
    fake = FakeWeChat()
    server = await aiohttp_server(fake.build())
    return fake, str(server.make_url("")).rstrip("/")


@pytest.fixture
def make_settings(
    database_url: str, redis_url: str | None, fake_wechat: tuple[FakeWeChat, str]
) -> Callable[..., Settings]:
    _, base = fake_wechat

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "mode": Mode.TEST,
            "database_url": database_url,
            "redis_url": redis_url,
            "wechat_api_base": base,
            "pay_api_base": base,
            "wecom_api_base": base,
            **TEST_SECRETS,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return build


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def wechat(fake_wechat: tuple[FakeWeChat, str]) -> FakeWeChat:
    return fake_wechat[0]


@pytest.fixture
def start_client(aiohttp_server: Any, aiohttp_client: Any) -> Callable[[web.Application], Any]:
    """Start a test client for an app built by the test; pytest-aiohttp closes them all.

    The server first, then its client: an app whose start-up fails leaves no client
    session open."""

    async def start(app: web.Application) -> TestClient:
        return await aiohttp_client(await aiohttp_server(app))  # type: ignore[no-any-return]

    return start


@pytest.fixture
def app(settings: Settings) -> web.Application:
    # Tests drive the outbox and the sweeper themselves, so counts are deterministic;
    # tests/qunshop/test_background.py runs them as the server does.
    return create_app(settings, background=False)


@pytest.fixture
async def client(app: web.Application, start_client: Callable[..., Any]) -> TestClient:
    return await start_client(app)
