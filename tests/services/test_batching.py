"""TurnBatcher: the calls of one turn go out as one, in order; each caller hears its answer."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator

import pytest

from qunshop.tasks import TaskTracker
from services.batching import TurnBatcher


@pytest.fixture
async def tasks() -> AsyncIterator[TaskTracker]:
    tracker = TaskTracker()
    yield tracker
    await tracker.drain()


class Doubler:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[int]]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, key: str, items: list[int]) -> list[int]:
        self.calls.append((key, items))
        await self.release.wait()
        return [2 * item for item in items]


async def test_one_call_per_key_and_turn_answers_in_order(tasks: TaskTracker) -> None:
    run = Doubler()
    batch: TurnBatcher[str, int, int] = TurnBatcher("t", run, tasks)

    answers = await asyncio.gather(batch("a", 1), batch("b", 5), batch("a", 2), batch("a", 3))
    later = await batch("a", 4)

    assert answers == [2, 10, 4, 6] and later == 8
    assert run.calls == [("a", [1, 2, 3]), ("b", [5]), ("a", [4])]


async def test_a_failed_call_fails_every_caller_with_its_error(tasks: TaskTracker) -> None:
    async def broken(key: str, items: list[int]) -> list[int]:
        raise ConnectionError("redis went away")

    batch: TurnBatcher[str, int, int] = TurnBatcher("t", broken, tasks)
    results = await asyncio.gather(batch("a", 1), batch("a", 2), return_exceptions=True)

    assert [type(r) for r in results] == [ConnectionError, ConnectionError]


async def test_too_few_answers_is_an_error_not_a_hang(tasks: TaskTracker) -> None:
    async def short(key: str, items: list[int]) -> list[int]:
        return items[:1]

    batch: TurnBatcher[str, int, int] = TurnBatcher("t", short, tasks)
    results = await asyncio.gather(batch("a", 1), batch("a", 2), return_exceptions=True)

    assert all(isinstance(r, RuntimeError) for r in results)


async def test_a_cancelled_caller_leaves_the_others_and_its_answer_is_undone(
    tasks: TaskTracker,
) -> None:
    run = Doubler()
    run.release.clear()
    undone: list[tuple[str, int, int]] = []

    async def undo(key: str, item: int, result: int) -> None:
        undone.append((key, item, result))

    batch: TurnBatcher[str, int, int] = TurnBatcher("t", run, tasks, unheard=undo)
    first = asyncio.ensure_future(batch("a", 1))
    second = asyncio.ensure_future(batch("a", 2))
    await asyncio.sleep(0.01)  # the call is in flight
    first.cancel()
    run.release.set()

    assert await second == 4
    with pytest.raises(asyncio.CancelledError):
        await first
    await tasks.drain()
    assert undone == [("a", 1, 2)]
    assert run.calls == [("a", [1, 2])]


async def test_a_closed_tracker_still_answers_each_caller_alone() -> None:
    """Shutting down: dispatches still draining must finish, one call each."""
    tracker = TaskTracker()
    await tracker.drain()
    run = Doubler()
    batch: TurnBatcher[str, int, int] = TurnBatcher("t", run, tracker)

    assert await asyncio.gather(batch("a", 1), batch("a", 2)) == [2, 4]
    assert run.calls == [("a", [1]), ("a", [2])]


async def test_a_tracker_closing_before_the_flush_sends_each_caller_alone() -> None:
    tracker = TaskTracker()
    run = Doubler()
    batch: TurnBatcher[str, int, int] = TurnBatcher("t", run, tracker)

    first = asyncio.ensure_future(batch("a", 1))
    second = asyncio.ensure_future(batch("a", 2))
    await asyncio.sleep(0)  # both are waiting for the flush
    tracker._closed = True  # what drain() does first

    assert await asyncio.gather(first, second) == [2, 4]
    assert sorted(run.calls) == [("a", [1]), ("a", [2])]


async def test_an_undo_never_holds_back_the_other_callers(tasks: TaskTracker) -> None:
    run = Doubler()
    run.release.clear()
    stuck = asyncio.Event()

    async def slow_undo(key: str, item: int, result: int) -> None:
        await stuck.wait()  # say, Redis is down and the DEL hangs

    batch: TurnBatcher[str, int, int] = TurnBatcher("t", run, tasks, unheard=slow_undo)
    first = asyncio.ensure_future(batch("a", 1))
    second = asyncio.ensure_future(batch("a", 2))
    await asyncio.sleep(0.01)
    first.cancel()
    run.release.set()

    assert await asyncio.wait_for(second, 0.5) == 4
    stuck.set()


async def test_a_cancelled_call_leaves_no_caller_waiting(tasks: TaskTracker) -> None:
    run = Doubler()
    run.release.clear()
    batch: TurnBatcher[str, int, int] = TurnBatcher("t", run, tasks)
    callers = [asyncio.ensure_future(batch("a", n)) for n in (1, 2)]
    await asyncio.sleep(0.01)

    await tasks.drain(timeout=0.01)  # shutdown cancels the call in flight

    results = await asyncio.wait_for(asyncio.gather(*callers, return_exceptions=True), 0.5)
    assert all(isinstance(r, RuntimeError) for r in results)


async def test_the_call_runs_in_the_context_the_batcher_was_built_in(tasks: TaskTracker) -> None:
    """Not in a caller's: a caller's transaction (a context variable) is not the others'."""
    where: contextvars.ContextVar[str] = contextvars.ContextVar("where", default="start-up")
    seen: list[str] = []

    async def run(key: str, items: list[int]) -> list[int]:
        seen.append(where.get())
        return items

    batch: TurnBatcher[str, int, int] = TurnBatcher("t", run, tasks)

    async def in_a_transaction() -> int:
        where.set("caller's transaction")
        return await batch("a", 1)

    assert await asyncio.create_task(in_a_transaction()) == 1
    assert seen == ["start-up"]
