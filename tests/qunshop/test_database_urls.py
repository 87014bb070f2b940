"""Database URLs as people write them, and how the pool reaches a local server."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from pydantic import ValidationError

from qunshop import dburl
from qunshop.assembly.db import open_orm
from qunshop.config import Mode, Settings
from tests.support.tcp_proxy import database_proxy, via_proxy

# The 8 bytes a client sends to ask for TLS before its startup message.
SSL_REQUEST = struct.pack("!ii", 8, 80877103)


def _with_scheme(url: str, scheme: str) -> str:
    return f"{scheme}://{url.split('://', 1)[1]}"


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+asyncpg", "asyncpg"])
async def test_each_spelling_reaches_the_database(database_url: str, scheme: str) -> None:
    url = _with_scheme(database_url, scheme)
    Settings(_env_file=None, database_url=url)  # accepted at start-up
    ctx = await open_orm(url, pool_size=1)
    try:
        _, rows = await ctx.db().execute_query("SELECT current_database() AS name")
    finally:
        await ctx.close_connections()
    assert rows[0]["name"] == dburl.parse(database_url).database


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("mysql://root@localhost/x", "must be a PostgreSQL URL"),
        ("sqlite://var/qunshop.sqlite3", "must be a PostgreSQL URL"),
        ("localhost:5432/qunshop", "must be a PostgreSQL URL"),
        ("postgres://db.internal:port/qunshop", "cannot be read"),
        ("postgresql://db.internal:5432/", "names no database"),
        ("postgres://db.internal/qunshop?sslmode=sometimes", "sslmode must be one of"),
        ("postgres://db.internal/qunshop?pool=9", "unknown option(s) pool"),
    ],
)
def test_a_bad_url_says_what_is_wrong(url: str, words: str) -> None:
    with pytest.raises(ValidationError) as exc:
        Settings(_env_file=None, mode=Mode.DEVELOPMENT, database_url=url)
    assert words in str(exc.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p%40ss@db.internal:6432/shop", {"host": "db.internal", "port": 6432}),
        ("postgresql://u@[::1]/shop", {"host": "::1", "port": 5432}),
        ("postgresql://postgres@/shop?host=/run/pg", {"host": "/run/pg", "port": 5432}),
        ("postgresql+asyncpg://u@localhost/shop?port=5544", {"host": "localhost", "port": 5544}),
    ],
)
def test_parts_are_read_as_libpq_reads_them(url: str, expected: dict[str, Any]) -> None:
    kwargs = dburl.parse(url).connect_kwargs()
    assert {k: kwargs[k] for k in expected} == expected
    assert kwargs["database"] == "shop"
    assert dburl.parse(dburl.parse(url).url()) == dburl.parse(url)  # written back the same


@pytest.mark.parametrize(
    ("url", "ssl"),
    [
        ("postgresql://u@/shop?host=/run/pg", "disable"),
        ("postgres://u@127.0.0.1/shop", "disable"),
        ("postgres://u@localhost/shop", "disable"),
        ("postgres://u@[::1]/shop", "disable"),
        ("postgres://u@db.internal/shop", "prefer"),
        ("postgres://u@127.0.0.1/shop?sslmode=require", "require"),
        ("postgres://u@db.internal/shop?sslmode=verify-full", "verify-full"),
    ],
)
def test_tls_is_not_tried_first_on_a_local_server(url: str, ssl: str) -> None:
    assert dburl.parse(url).connect_kwargs()["ssl"] == ssl


def test_the_password_never_shows_in_messages() -> None:
    assert "s3cret" not in dburl.describe("postgresql://shop:s3cret@db.internal/shop")
    assert "s3cret" not in dburl.describe("mysql://shop:s3cret@db.internal/shop")


async def test_the_pool_opens_warm_and_without_asking_for_tls(database_url: str) -> None:
    """Every connection of the pool is opened at start-up, each with a plain startup message."""
    proxy = database_proxy(database_url)
    await proxy.start()
    try:
        ctx = await open_orm(via_proxy(database_url, proxy), pool_size=4)
        try:
            assert len(proxy.openings) == 4  # before any query but open_orm's own check
        finally:
            await ctx.close_connections()
    finally:
        await proxy.stop()
    assert proxy.openings and not any(o.startswith(SSL_REQUEST) for o in proxy.openings)
