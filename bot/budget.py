"""The reply budget: dispatch in a tracked task, answer passively if it is quick enough.

The platforms drop a webhook that has not answered within 5 s (the bot's first frame
should come within ~1 s). The dispatch runs as a tracked task; the request waits for it
at most ``budget`` seconds without cancelling it, and a slow answer is handed to
``later`` when it arrives (the messenger, or the bot's stream state).

A webhook that has been answered is never re-delivered, so when such a dispatch meets an
outage (the database or Redis down) it is tried again here, a few times, before ``later``
hears the outcome; a re-delivery is what the platform would have done. Handing the outcome
to ``later`` (an outbox row, the bot's stream state) may meet the outage too, and is tried
again the same way. What is still waiting when the tries run out, or at shutdown, is written
to the outbox: an answer as the messenger's late reply, an unanswered update as
``REDISPATCH``, which the outbox dispatches again once the outage is over.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol, cast

from qunshop.chat import Update
from qunshop.keys import CLOCK, DISPATCH, MESSENGER, TASKS
from services import backoff, health, notify, outbox

if TYPE_CHECKING:
    from qunshop.chat import Dispatch, Reply
    from qunshop.keys import Resources

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    reply: Reply | None = None
    failed: bool = False  # the dispatcher raised (already logged)
    outage: bool = False  # ... because the database or Redis was down: worth a re-delivery


Later = Callable[["Update", Outcome], Awaitable[None]]

# The waits before each new try of a late dispatch (or its hand-over) that met an outage:
# 2, 4, 8, 16 s, about what WeChat's three deliveries, 5 s apart, would have given, and more.
OUTAGE_TRIES = 4
OUTAGE_FIRST = timedelta(seconds=2)
OUTAGE_CAP = timedelta(seconds=30)
REDISPATCH = "chat.redispatch"  # the outbox kind of an update to dispatch again


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
    job: asyncio.Future[Outcome], update: Update, later: Later, app: Resources
) -> None:
    outcome = Outcome(failed=True, outage=True)  # no answer yet: dispatch again
    try:
        outcome = await job
        for attempt in range(1, OUTAGE_TRIES + 2):
            if not outcome.outage:
                try:
                    await later(update, outcome)
                    return
                except Exception as exc:
                    if not health.is_outage(exc):
                        logger.exception("late answer to %s not handed on", update.dedupe_key)
                        return
                    logger.warning("late answer to %s met an outage: %s", update.dedupe_key, exc)
            if attempt > OUTAGE_TRIES:
                break
            pause = backoff.delay(attempt, first=OUTAGE_FIRST, cap=OUTAGE_CAP).total_seconds()
            logger.warning("%s: outage; trying again in %.0f s", update.dedupe_key, pause)
            await asyncio.sleep(pause)
            if outcome.outage:
                outcome = await _dispatch(app[DISPATCH], update)
    except asyncio.CancelledError:  # shutdown came first: keep what is owed
        await _persist(app, update, outcome, why="shut down before it was answered")
        raise
    await _persist(app, update, outcome, why="the outage outlasted its tries")


async def _persist(app: Resources, update: Update, outcome: Outcome, *, why: str) -> None:
    """Leave what is still owed to the outbox: the answer, or the update to dispatch again."""
    if not outcome.outage and outcome.reply is None:
        return  # nothing to say
    try:
        if outcome.outage:
            await outbox.enqueue(
                REDISPATCH,
                update.to_payload(),
                dedupe_key=notify.outbox_key("redispatch", update.dedupe_key),
                now=app[CLOCK].now(),
            )
        elif outcome.reply is not None:
            await _deliverer(app).deliver(update, outcome.reply)
    except Exception:
        logger.exception("%s lost (%s): the outbox could not keep it", update.dedupe_key, why)
        return
    logger.warning("%s left to the outbox: %s", update.dedupe_key, why)


def _deliverer(app: Resources) -> Deliverer:
    messenger = app.get(MESSENGER)
    if messenger is None:
        raise RuntimeError("no messenger configured")
    return cast("Deliverer", messenger)


def redispatcher(app: Resources) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """The outbox handler of ``REDISPATCH``: dispatch the update again, then answer it late."""

    async def redispatch(payload: dict[str, Any]) -> None:
        update = Update.from_payload(payload)
        try:
            reply = await app[DISPATCH](update)
        except Exception as exc:
            if health.is_outage(exc):
                raise outbox.RetryLater(f"{update.dedupe_key}: {exc}") from exc
            raise outbox.GiveUp(f"{update.dedupe_key}: {type(exc).__name__}: {exc}") from exc
        if reply is not None:
            await _deliverer(app).deliver(update, reply)

    return redispatch


def _spawn_late(app: Resources, job: asyncio.Future[Outcome], update: Update, later: Later) -> None:
    app[TASKS].spawn(_finish_late(job, update, later, app), name=f"chat-late {update.dedupe_key}")


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
