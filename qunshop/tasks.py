"""Tracked background tasks: kept referenced, failures logged by name, drained on shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

logger = logging.getLogger(__name__)


class TaskTracker:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        if self._closed:
            coro.close()
            raise RuntimeError(f"task tracker is closed; refused {name}")
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            logger.error("background task %s failed", task.get_name(), exc_info=exc)

    @property
    def closed(self) -> bool:
        """Shutting down: new tasks are refused."""
        return self._closed

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout: float = 10.0) -> None:
        """Let running tasks finish within ``timeout``, then cancel the rest."""
        self._closed = True
        if not self._tasks:
            return
        _, still = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in still:
            logger.warning("cancelling background task %s at shutdown", task.get_name())
            task.cancel()
        if still:
            await asyncio.gather(*still, return_exceptions=True)
