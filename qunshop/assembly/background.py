"""Work the server does on its own: the outbox sender and the clock.

The outbox sender runs in every process (it leases rows); the clock runs where the role
says (``serve --role``), and takes a Redis lock per job run besides.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from bot import budget
from qunshop.keys import CHAT_TEMPLATES, CLOCK, HTTP, MESSENGER, PAY, REDIS, SETTINGS, TASKS
from scheduler.alerts import AlertWords
from scheduler.bargain_words import BargainWords
from scheduler.clockwork import Clockwork
from scheduler.jobs import Jobs
from scheduler.news import NewsWords
from scheduler.withdrawal_words import WithdrawalWords
from services import (
    accounts,
    bargains,
    follows,
    news,
    notify,
    outbox,
    reconciliation,
    refunds,
    share_cards,
    withdrawals,
)

logger = logging.getLogger(__name__)

# Here, not in qunshop.keys: the doors import qunshop.keys and must not reach the scheduler.
CLOCKWORK = web.AppKey("qunshop.clockwork", Clockwork)


def outbox_handlers(app: web.Application) -> dict[str, outbox.Handler]:
    settings = app[SETTINGS]
    return {
        refunds.SUBMIT: functools.partial(
            refunds.submit,
            pay=app[PAY],
            notify_url=f"{settings.public_base_url}/pay/wechat/refund-notify",
        ),
        notify.KIND: app[MESSENGER].send,
        news.KIND: functools.partial(
            news.fan_out,
            words=NewsWords(settings=settings, templates=app[CHAT_TEMPLATES]),
            now=app[CLOCK].now,
        ),
        share_cards.KIND: functools.partial(
            share_cards.send_update,
            http=app[HTTP],
            redis=app[REDIS],
            settings=settings,
            now=app[CLOCK].now,
        ),
        accounts.UNIONID_KIND: functools.partial(
            accounts.link_followed, lookup=app[MESSENGER].unionid_of, clock=app[CLOCK].now
        ),
        bargains.NEWS: functools.partial(
            bargains.tell_starter,
            render=BargainWords(settings=settings, templates=app[CHAT_TEMPLATES]).news,
            now=app[CLOCK].now,
        ),
        budget.REDISPATCH: budget.redispatcher(app),
        refunds.QUERY: functools.partial(refunds.query, pay=app[PAY], now=app[CLOCK].now),
        reconciliation.KIND: functools.partial(
            reconciliation.run,
            pay=app[PAY],
            alert=AlertWords(templates=app[CHAT_TEMPLATES]),
            now=app[CLOCK].now,
        ),
        withdrawals.TRANSFER: functools.partial(
            withdrawals.transfer, pay=app[PAY], now=app[CLOCK].now
        ),
        withdrawals.NEWS: functools.partial(
            withdrawals.tell,
            render=WithdrawalWords(settings=settings, templates=app[CHAT_TEMPLATES]).news,
            now=app[CLOCK].now,
        ),
        follows.CAMPAIGN_NEWS: functools.partial(
            follows.tell_followers,
            template_id=settings.subscribe_template_new_campaign,
            now=app[CLOCK].now,
        ),
    }


async def _every(seconds: float, stop: asyncio.Event, name: str, work: object) -> None:
    while not stop.is_set():
        try:
            await work()  # type: ignore[operator]
        except Exception:
            logger.exception("%s failed; trying again in %ss", name, seconds)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)


async def outbox_ctx(app: web.Application) -> AsyncIterator[None]:
    """Every process sends due outbox messages (rows are leased, so never twice)."""
    stop = asyncio.Event()
    handlers = outbox_handlers(app)

    async def send() -> None:
        await outbox.run_once(handlers, now=app[CLOCK].now())

    interval = app[SETTINGS].outbox_interval_seconds
    app[TASKS].spawn(_every(interval, stop, "outbox", send), name="outbox")
    yield
    stop.set()


async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """The clock: only in the scheduler role (or all), one per deployment."""
    settings = app[SETTINGS]
    jobs = Jobs(settings=settings, templates=app[CHAT_TEMPLATES], redis=app[REDIS])
    clockwork = Clockwork(
        redis=app[REDIS],
        settings=settings,
        clock=app[CLOCK],
        due=jobs.due,
        sweep=jobs.sweep,
        sweep_seconds=settings.sweep_interval_seconds,
        refresh_seconds=settings.scheduler_refresh_seconds,
    )
    app[CLOCKWORK] = clockwork
    await clockwork.start()
    yield
    clockwork.shutdown()
