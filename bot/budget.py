"""The reply budget: dispatch in a tracked task, answer passively if it is quick enough.

The platforms drop a webhook that has not answered within 5 s (the bot's first frame
should come within ~1 s). The dispatch runs as a tracked task; the request waits for it
at most ``budget`` seconds without cancelling it, and a slow answer is handed to
``later`` when it arrives (the messenger, or the bot's stream state).

A webhook that has been answered is never re-delivered, so when such a dispatch meets an
outage (the database or Redis down) it is tried again here, a few times, before ``later``
hears the outcome; a re-delivery is what the platform would have done.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, cast

from qunshop.keys import DISPATCH, MESSENGER, TASKS
from services import health

if TYPE_CHECKING:
    from qunshop.chat import Dispatch, Reply, Update
    from qunshop.keys import Resources

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    reply: Reply | None = None
    failed: bool = False  # the dispatcher raised (already logged)
    outage: bool = False  # ... because the database or Redis was down: worth a re-delivery


Later = Callable[["Update", Outcome], Awaitable[None]]

# Seconds to wait before each new try of a dispatch that met an outage after its webhook was
# answered: about what WeChat's three deliveries, 5 s apart, would have given, and more.
OUTAGE_RETRY_SECONDS = (2.0, 8.0, 30.0)


class Deliverer(Protocol):
    """What the webhooks need of ``bot.messenger.Messenger``."""

    async def deliver(self, update: Update, reply: Reply) -> None: ...


async def _dispatch(dispatch: Dispatch, update: Update) -> Outcome:
    try:
        return Outcome(await dispatch(update))
    except Exception as exc:
        logger.exception("dispatch of %s failed", update.dedupe_key)
        return Outcome(failed=True, outage=health.is_outage(exc))


async def _finish_late(
    job: asyncio.Future[Outcome], update: Update, later: Later, dispatch: Dispatch
) -> None:
    outcome = await job
    for pause in OUTAGE_RETRY_SECONDS:
        if not outcome.outage:
            break
        logger.warning("dispatch of %s met an outage; again in %.0f s", update.dedupe_key, pause)
        try:
            await asyncio.sleep(pause)
        except asyncio.CancelledError:  # shutdown outlasted by the outage: say what is lost
            logger.error("dispatch of %s lost: shut down while retrying", update.dedupe_key)
            raise
        outcome = await _dispatch(dispatch, update)
    if outcome.outage:
        logger.error("dispatch of %s given up: the outage outlasted its tries", update.dedupe_key)
    await later(update, outcome)


def _spawn_late(app: Resources, job: asyncio.Future[Outcome], update: Update, later: Later) -> None:
    app[TASKS].spawn(
        _finish_late(job, update, later, app[DISPATCH]), name=f"chat-late {update.dedupe_key}"
    )


def retry_later(app: Resources, update: Update, outcome: Outcome, *, later: Later) -> None:
    """An outcome that met an outage, answered for already: try again in the background."""
    done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
    done.set_result(outcome)
    _spawn_late(app, done, update, later)


async def dispatch_within(
    app: Resources, update: Update, *, budget: float, later: Later
) -> Outcome | None:
    """The outcome if it came within ``budget`` seconds; None once ``later`` has it."""
    tasks = app[TASKS]
    job = tasks.spawn(_dispatch(app[DISPATCH], update), name=f"chat-dispatch {update.dedupe_key}")
    try:
        await asyncio.wait({job}, timeout=budget)  # never cancels the job
    except asyncio.CancelledError:  # the platform hung up: the answer still goes out
        _spawn_late(app, job, update, later)
        raise
    if job.done():
        return job.result()
    logger.info("dispatch of %s outran %.1fs; answering later", update.dedupe_key, budget)
    _spawn_late(app, job, update, later)
    return None


def dispatch_later(app: Resources, update: Update, *, later: Later) -> None:
    """No passive answer at all: dispatch in the background and hand the outcome on."""
    job = app[TASKS].spawn(
        _dispatch(app[DISPATCH], update), name=f"chat-dispatch {update.dedupe_key}"
    )
    _spawn_late(app, job, update, later)


def messenger_later(app: Resources) -> Later:
    """``later`` for the OA and the WeCom app: the reply goes out through the messenger."""
    messenger = app.get(MESSENGER)

    async def send(update: Update, outcome: Outcome) -> None:
        if outcome.reply is None:
            return
        if messenger is None:
            logger.error("no messenger configured: late reply to %s dropped", update.dedupe_key)
            return
        await cast("Deliverer", messenger).deliver(update, outcome.reply)

    return send
