"""The app's Redis pool stays closed once closed: no socket outlives the app's shutdown."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from qunshop.assembly.resources import ClosingPool, make_redis
from qunshop.config import Settings


async def test_a_connection_given_back_after_the_close_is_disconnected(
    make_settings: Callable[..., Settings], real_redis: str
) -> None:
    redis = make_redis(make_settings())
    pool = redis.connection_pool
    assert isinstance(pool, ClosingPool)
    await redis.ping()
    # A command's connection still connecting when the app shuts down: the close cannot
    # disconnect it yet (it has no socket), then its socket opens and it is given back.
    late = pool.get_available_connection()
    await redis.aclose()
    await pool.ensure_connection(late)
    assert late.is_connected
    await pool.release(late)
    assert not late.is_connected  # before: left open, unowned, a ResourceWarning at GC
    with pytest.raises(RedisConnectionError, match="closed"):
        await redis.ping()  # and no new connection is made
    assert not any(c.is_connected for c in pool._available_connections)
