"""Fixtures of the service tests that drive the app through its HTTP door on a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from qunshop.assembly.app import create_app
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from qunshop.keys import REDIS


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(tz=UTC).replace(microsecond=0))


@pytest.fixture
async def api(settings: Settings, clock: FrozenClock, start_client: Any) -> TestClient:
    return await start_client(create_app(settings, clock=clock, background=False))


@pytest.fixture
def redis(api: TestClient) -> Redis:
    return api.server.app[REDIS]
