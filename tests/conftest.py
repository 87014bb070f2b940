"""Fixtures: the app built per test through the real factory, on real storage.

PostgreSQL named by QUNSHOP_TEST_DATABASE_URL, else the database ``qunshop_test`` on the
checkout's embedded PostgreSQL (started for the run, or reused when ``make run`` has it up);
either is made afresh for the run from a template migrated once (tests/support/db.py).
Redis named by QUNSHOP_TEST_REDIS_URL, else in-process fakeredis.

``make test`` spreads the tests over pytest-xdist workers (``-n auto``). Each worker has a
database and a Redis db of its own (``qunshop_test_gw1``, db 15 then 14...), and the run's
first process migrates the template before any worker starts, so they never race to.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from qunshop import dburl
from qunshop.assembly.app import create_app
from qunshop.assembly.embedded_pg import EmbeddedPostgres
from qunshop.config import Mode, Settings
from tests.support.db import create_migrated_database, empty_database, prepare_template
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
REDIS_DBS = 16  # Redis's default number of databases


EMBEDDED = pytest.StashKey[EmbeddedPostgres]()


def _worker() -> str | None:
    """This xdist worker's id (``gw0``, ``gw1``...); None in a run without workers."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def _own(name: str) -> str:
    """A worker's own copy of a database's name."""
    worker = _worker()
    return f"{name}_{worker}" if worker else name


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """With workers: migrate the template once, here, before xdist starts them (trylast), and
    keep the embedded server up until the run ends rather than each worker starting it."""
    config = session.config
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return
    url = os.environ.get("QUNSHOP_TEST_DATABASE_URL")
    if not url:
        pg = EmbeddedPostgres(ROOT / "var" / "postgres").__enter__()
        config.stash[EMBEDDED] = pg
        url = pg.url(EMBEDDED_TEST_DATABASE)
    asyncio.run(prepare_template(url))


def pytest_sessionfinish(session: pytest.Session) -> None:
    pg = session.config.stash.get(EMBEDDED, None)
    if pg is not None:
        pg.__exit__(None, None, None)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """The test database (this worker's), made afresh for the run as a copy of the migrated
    template."""
    url = os.environ.get("QUNSHOP_TEST_DATABASE_URL")
    if url:
        url = dburl.parse(url).with_database(_own(dburl.parse(url).database)).url()
        asyncio.run(create_migrated_database(url))
        yield url
        return
    with EmbeddedPostgres(ROOT / "var" / "postgres") as pg:
        name = _own(EMBEDDED_TEST_DATABASE)
        url = pg.url(name)
        asyncio.run(create_migrated_database(url))
        # A lost last commit is nothing to a test database, and every test commits often.
        pg.sql(f"ALTER DATABASE {name} SET synchronous_commit = off")
        yield url


@pytest.fixture(scope="session")
def redis_url() -> str | None:
    """QUNSHOP_TEST_REDIS_URL's db for the first worker, the db below it for the next..."""
    url = os.environ.get("QUNSHOP_TEST_REDIS_URL") or None
    worker = _worker()
    if url is None or worker is None:
        return url
    parts = urlsplit(url)
    db = int(parts.path.strip("/") or 0)
    own = (db - int(worker.removeprefix("gw"))) % REDIS_DBS
    return urlunsplit(parts._replace(path=f"/{own}"))


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
