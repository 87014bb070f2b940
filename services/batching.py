"""Calls made in one turn of the event loop, sent together: one round trip per turn.

Every chat message asks Redis (its dedup claim) and the database (who sent it) one small
question each. Under load many messages reach that point in the same turn of the loop, and
a round trip costs the client far more CPU than the question does, so the questions of one
turn go out as one call. A caller waits for the next turn at most; a caller who stops
listening (cancelled) loses only its own answer, and ``unheard`` may undo what it was given.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from qunshop.tasks import TaskTracker

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")
R = TypeVar("R")


class _Closed(Exception):
    """The task tracker is closed (shutting down): callers ask on their own."""


class TurnBatcher(Generic[K, T, R]):
    """``await batcher(key, item)``: ``run(key, items)`` is called once for all the items
    asked under ``key`` in one turn, and must answer them in order.

    Built at start-up: the calls run in the context it was built in, never in a caller's
    (whose transaction, say, is not the others'). Once the app's task tracker closes for
    shutdown, each caller makes its own call, so dispatches still draining finish."""

    def __init__(
        self,
        name: str,
        run: Callable[[K, list[T]], Awaitable[Sequence[R]]],
        tasks: TaskTracker,
        *,
        unheard: Callable[[K, T, R], Awaitable[None]] | None = None,
    ) -> None:
        self.name = name
        self._run = run
        self._tasks = tasks
        self._unheard = unheard
        self._context = contextvars.copy_context()
        self._gathering: dict[K, list[tuple[T, asyncio.Future[R]]]] = {}

    async def __call__(self, key: K, item: T) -> R:
        if self._tasks.closed:
            return await self._alone(key, item)
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[R] = loop.create_future()
        batch = self._gathering.get(key)
        if batch is None:
            batch = self._gathering[key] = []
            # After every caller already due this turn; in the context of start-up.
            loop.call_soon(self._flush, key, context=self._context)
        batch.append((item, answer))
        try:
            return await answer
        except _Closed:
            return await self._alone(key, item)

    async def _alone(self, key: K, item: T) -> R:
        (result,) = await self._run(key, [item])
        return result

    def _flush(self, key: K) -> None:
        batch = self._gathering.pop(key)
        try:
            # A task of its own: no caller's cancellation can abort the others' call.
            self._tasks.spawn(self._send(key, batch), name=f"{self.name} x{len(batch)}")
        except RuntimeError:  # closed since this batch began
            _fail(batch, _Closed())

    async def _send(self, key: K, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        unheard: list[tuple[T, R]] = []
        try:
            results = await self._run(key, [item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{self.name}: {len(results)} answers for {len(batch)}")
            for (item, answer), result in zip(batch, results, strict=True):
                if answer.done():  # its caller stopped listening (cancelled)
                    unheard.append((item, result))
                else:
                    answer.set_result(result)
        except Exception as exc:  # every caller hears what the call raised
            _fail(batch, exc)
            return
        finally:  # cancelled (shutdown): no caller is left waiting for ever
            _fail(batch, RuntimeError(f"{self.name}: the call was cancelled"))
        # Every caller has its answer before anything is undone.
        for item, result in unheard:
            if self._unheard is None:
                break
            try:
                await self._unheard(key, item, result)
            except Exception:
                logger.exception("%s: could not undo an unheard answer", self.name)


def _fail(batch: Sequence[tuple[Any, asyncio.Future[Any]]], exc: Exception) -> None:
    for _, answer in batch:
        if not answer.done():
            answer.set_exception(exc)
