"""The app with a frozen clock, for the web door's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser

from qunshop.assembly.app import create_app
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from tests.web import browser
from tests.web.world import START


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def web_app(settings: Settings, clock: FrozenClock) -> web.Application:
    return create_app(settings, clock=clock, background=False)


@pytest.fixture
async def web_client(web_app: web.Application, start_client: Callable[..., Any]) -> TestClient:
    return await start_client(web_app)


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    """The system's Chromium, one per test (modules that use it carry ``browser.NEEDED``)."""
    async with browser.chromium() as launched:
        yield launched
