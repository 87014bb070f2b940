"""The task tracker: tasks kept until done, failures logged by name, a closed tracker refuses."""

from __future__ import annotations

import asyncio
import logging

import pytest

from qunshop.tasks import TaskTracker


async def test_tasks_are_kept_until_done_and_failures_logged_by_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tracker = TaskTracker()
    release = asyncio.Event()

    async def wait() -> None:
        await release.wait()

    async def fail() -> None:
        raise ValueError("boom")

    waiting = tracker.spawn(wait(), name="waiting")
    with caplog.at_level(logging.ERROR, logger="qunshop.tasks"):
        failing = tracker.spawn(fail(), name="failing-job")
        assert tracker.pending == 2
        await asyncio.wait({failing})
        await asyncio.sleep(0)
    assert tracker.pending == 1 and waiting.get_name() == "waiting"
    assert "background task failing-job failed" in caplog.text and "boom" in caplog.text

    release.set()
    await tracker.drain(timeout=1)
    assert tracker.pending == 0 and waiting.done()


async def test_closed_tracker_refuses_and_closes_the_coroutine() -> None:
    tracker = TaskTracker()
    await tracker.drain()

    async def job() -> None:
        return None

    coro = job()
    with pytest.raises(RuntimeError, match="refused late-job"):
        tracker.spawn(coro, name="late-job")
    assert coro.cr_frame is None  # closed, so no "never awaited" warning


async def test_drain_cancels_what_outlives_the_timeout(caplog: pytest.LogCaptureFixture) -> None:
    tracker = TaskTracker()
    stuck = tracker.spawn(asyncio.sleep(60), name="stuck")
    with caplog.at_level(logging.WARNING, logger="qunshop.tasks"):
        await tracker.drain(timeout=0.01)
    assert stuck.cancelled() and tracker.pending == 0
    assert "cancelling background task stuck" in caplog.text
