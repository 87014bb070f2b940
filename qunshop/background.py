"""Work the server does on its own: the outbox sender and the deadline sweeper.

Both are tracked tasks that call services; both are safe with several processes (the outbox
leases rows, the sweeper's use cases are idempotent against the database).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from qunshop.keys import CLOCK, PAY, SETTINGS, TASKS
from services import checkout, groupbuy, outbox, refunds

logger = logging.getLogger(__name__)


def outbox_handlers(app: web.Application) -> dict[str, outbox.Handler]:
    settings = app[SETTINGS]
    return {
        refunds.SUBMIT: functools.partial(
            refunds.submit,
            pay=app[PAY],
            notify_url=f"{settings.public_base_url}/pay/wechat/refund-notify",
        ),
    }


async def sweep_once(app: web.Application) -> None:
    now = app[CLOCK].now()
    await groupbuy.release_expired(now=now)
    await checkout.release_expired_direct(now=now)
    await groupbuy.settle_due_teams(now=now)


async def _every(seconds: float, stop: asyncio.Event, name: str, work: object) -> None:
    while not stop.is_set():
        try:
            await work()  # type: ignore[operator]
        except Exception:
            logger.exception("%s failed; trying again in %ss", name, seconds)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)


async def background_ctx(app: web.Application) -> AsyncIterator[None]:
    stop = asyncio.Event()
    handlers = outbox_handlers(app)

    async def send() -> None:
        await outbox.run_once(handlers, now=app[CLOCK].now())

    async def sweep() -> None:
        await sweep_once(app)

    settings = app[SETTINGS]
    tasks = app[TASKS]
    tasks.spawn(_every(settings.outbox_interval_seconds, stop, "outbox", send), name="outbox")
    tasks.spawn(_every(settings.sweep_interval_seconds, stop, "sweeper", sweep), name="sweeper")
    yield
    stop.set()
