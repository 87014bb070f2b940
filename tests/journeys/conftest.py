"""Journeys: the app as it runs (real messenger, outbox sent by the test), on a frozen clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from qunshop.assembly.app import create_app
from qunshop.assembly.background import outbox_handlers
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from services import outbox
from tests.journeys.doors import Doors
from tests.support.fake_wechat import FakeWeChat


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(tz=UTC).replace(microsecond=0))


@pytest.fixture
def journey_app(settings: Settings, clock: FrozenClock) -> web.Application:
    return create_app(settings, clock=clock, background=False)


@pytest.fixture
async def journey(journey_app: web.Application, start_client: Callable[..., Any]) -> TestClient:
    return await start_client(journey_app)


@pytest.fixture
def send_outbox(journey_app: web.Application, clock: FrozenClock) -> Callable[[], Any]:
    """Send what the outbox holds, as the server's worker does after each commit."""

    async def send() -> int:
        return await outbox.run_once(outbox_handlers(journey_app), now=clock.now())

    return send


@pytest.fixture
def doors(journey: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock) -> Doors:
    """Chat, API, WeChat Pay, outbox and clock, as one person after another uses them."""
    return Doors(journey, settings, wechat, clock)
