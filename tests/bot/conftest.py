"""The webhook tests' app: the real factory, a recording dispatcher, a messenger double."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

import handlers
from qunshop.assembly.app import create_app
from qunshop.chat import Reply, Update
from qunshop.clock import Clock
from qunshop.keys import MESSENGER


@dataclass
class Recorder:
    """Wraps the real dispatcher: counts calls, can slow it down or answer instead of it."""

    calls: list[Update] = field(default_factory=list)
    delay: float = 0.0
    hold: asyncio.Event | None = None  # set: every dispatch waits until the test sets it
    answer: Callable[[Update], Reply | None] | None = None

    def wrap(self, inner: Callable[[Update], Awaitable[Reply | None]]) -> Any:
        async def dispatch(update: Update) -> Reply | None:
            self.calls.append(update)
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.hold is not None:
                await self.hold.wait()
            if self.answer is not None:
                return self.answer(update)
            return await inner(update)

        return dispatch


@dataclass
class FakeMessenger:
    delivered: list[tuple[Update, Reply]] = field(default_factory=list)
    down: int = 0  # deliveries still to meet an outage (the database refusing connections)

    async def deliver(self, update: Update, reply: Reply) -> None:
        if self.down:
            self.down -= 1
            raise ConnectionRefusedError("connection refused")
        self.delivered.append((update, reply))

    async def wait(self, count: int = 1, timeout: float = 3.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.delivered) < count:
                await asyncio.sleep(0.01)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    rec = Recorder()
    real = handlers.build_dispatcher

    def build(**kwargs: Any) -> Any:
        return rec.wrap(real(**kwargs))

    # chat_ctx imports build_dispatcher from handlers at startup, so this is what it gets.
    monkeypatch.setattr(handlers, "build_dispatcher", build)
    return rec


@pytest.fixture
def messenger() -> FakeMessenger:
    return FakeMessenger()


MakeClient = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def make_client(
    make_settings: Callable[..., Any],
    start_client: Callable[[web.Application], Awaitable[TestClient]],
    recorder: Recorder,
    messenger: FakeMessenger,
) -> MakeClient:
    async def build(clock: Clock | None = None, **overrides: Any) -> TestClient:
        app = create_app(make_settings(**overrides), clock=clock, background=False)

        async def install_messenger(app: web.Application) -> AsyncIterator[None]:
            app[MESSENGER] = messenger  # type: ignore[assignment]  # the double, set last
            yield

        app.cleanup_ctx.append(install_messenger)
        return await start_client(app)

    return build


@pytest.fixture
async def bot_client(make_client: MakeClient) -> TestClient:
    return await make_client()
