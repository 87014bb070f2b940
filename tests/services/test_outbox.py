"""The outbox: one row per effect, each due message handled once, failures retried, not lost."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from tortoise.transactions import in_transaction

from models.outbox import OutboxMessage, OutboxStatus
from services import outbox
from services.outbox import GiveUp, RetryLater
from tests.support.db import connect

KIND = "test.effect"
WAITING = (
    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE NOT l.granted AND a.datname = current_database()"
)


@pytest.fixture(autouse=True)
async def orm(client: TestClient) -> None:
    """The app's start-up opens the ORM these tests use."""


def _now() -> datetime:
    return datetime.now(tz=UTC).replace(microsecond=0)


async def _enqueue_many(count: int, now: datetime) -> None:
    for n in range(count):
        assert await outbox.enqueue(KIND, {"n": n}, dedupe_key=f"effect:{n}", now=now)


class Recorder:
    """A handler that counts its calls per payload and fails as it is told."""

    def __init__(self, fail: type[Exception] | None = None, times: int = 10**6) -> None:
        self.calls: Counter[int] = Counter()
        self.fail = fail
        self.times = times

    async def __call__(self, payload: dict[str, Any]) -> None:
        self.calls[payload["n"]] += 1
        await asyncio.sleep(0)  # let a concurrent worker run in between
        if self.fail is not None and self.times > 0:
            self.times -= 1
            raise self.fail("boom")


async def test_same_dedupe_key_is_one_row() -> None:
    now = _now()
    assert await outbox.enqueue(KIND, {"n": 1}, dedupe_key="refund:1", now=now) is True
    assert await outbox.enqueue(KIND, {"n": 2}, dedupe_key="refund:1", now=now) is False

    rows = await OutboxMessage.filter(dedupe_key="refund:1")
    assert [(r.kind, r.payload, r.status, r.attempts) for r in rows] == [
        (KIND, {"n": 1}, OutboxStatus.PENDING, 0)
    ]
    assert await OutboxMessage.all().count() == 1


async def test_duplicate_does_not_spoil_the_callers_transaction() -> None:
    now = _now()
    async with in_transaction():
        assert await outbox.enqueue(KIND, {"n": 1}, dedupe_key="a", now=now)
        assert not await outbox.enqueue(KIND, {"n": 1}, dedupe_key="a", now=now)
        # On PostgreSQL a failed statement outside a savepoint would abort this transaction.
        assert await outbox.enqueue(KIND, {"n": 2}, dedupe_key="b", now=now)
    assert sorted(await OutboxMessage.all().values_list("dedupe_key", flat=True)) == ["a", "b"]


async def test_rolled_back_transaction_leaves_no_message() -> None:
    now = _now()
    with pytest.raises(RuntimeError):
        async with in_transaction():
            await outbox.enqueue(KIND, {"n": 1}, dedupe_key="a", now=now)
            raise RuntimeError("the use case failed")
    assert await OutboxMessage.all().count() == 0


async def test_concurrent_workers_handle_each_message_once() -> None:
    now = _now()
    await _enqueue_many(30, now)
    handler = Recorder()

    handled = await asyncio.gather(*(outbox.run_once({KIND: handler}, now=now) for _ in range(3)))

    assert sum(handled) == 30
    assert handler.calls == Counter(range(30))
    rows = await OutboxMessage.all()
    assert {(r.status, r.attempts) for r in rows} == {(OutboxStatus.DONE, 1)}
    assert await outbox.run_once({KIND: handler}, now=now + timedelta(hours=1)) == 0
    assert handler.calls == Counter(range(30))


async def test_concurrent_workers_respect_a_retry_that_happened_meanwhile() -> None:
    """A worker that listed a message before another worker retried it must not take it."""
    now = _now()
    await _enqueue_many(30, now)
    handler = Recorder(fail=RetryLater)

    handled = await asyncio.gather(*(outbox.run_once({KIND: handler}, now=now) for _ in range(3)))

    assert sum(handled) == 30
    assert handler.calls == Counter(range(30))
    rows = await OutboxMessage.all()
    assert {(r.status, r.attempts, r.locked_until) for r in rows} == {
        (OutboxStatus.PENDING, 1, None)
    }
    assert {r.next_attempt_at for r in rows} == {now + outbox.backoff(1)}


async def _until_someone_waits_on_a_lock(conn: asyncpg.Connection) -> None:
    for _ in range(500):
        if await conn.fetchval(WAITING):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the worker never blocked on the held row")


async def test_a_stale_worker_does_not_take_a_message_retried_meanwhile(
    database_url: str,
) -> None:
    """Two workers whose clocks differ by a second; the later one is slow between listing the
    due messages and claiming them (it waits on a row lock). Meanwhile the other worker
    handles and retries a message both listed: the slow one must not take it again before
    its backoff has passed."""
    t0 = _now()
    await outbox.enqueue(KIND, {"n": 0}, dedupe_key="effect:0", now=t0 - timedelta(seconds=2))
    await outbox.enqueue(KIND, {"n": 1}, dedupe_key="effect:1", now=t0 - timedelta(seconds=1))
    # effect:0 was claimed by a worker that died; its lease ends between the two clocks.
    await OutboxMessage.filter(dedupe_key="effect:0").update(
        locked_until=t0 + timedelta(milliseconds=500), attempts=1
    )
    held = await OutboxMessage.get(dedupe_key="effect:0")
    handler = Recorder(fail=RetryLater)
    conn = await connect(database_url)
    try:
        lock = conn.transaction()
        await lock.start()
        await conn.execute("SELECT 1 FROM outbox WHERE id = $1 FOR UPDATE", held.id)

        async def prompt_worker() -> int:
            await _until_someone_waits_on_a_lock(conn)
            handled = await outbox.run_once({KIND: handler}, now=t0)
            await lock.rollback()
            return handled

        late, prompt = await asyncio.gather(
            outbox.run_once({KIND: handler}, now=t0 + timedelta(seconds=1)), prompt_worker()
        )
    finally:
        await conn.close()

    assert (prompt, late) == (1, 1)
    assert handler.calls == Counter({0: 1, 1: 1})
    retried = await OutboxMessage.get(dedupe_key="effect:1")
    assert (retried.attempts, retried.next_attempt_at) == (1, t0 + outbox.backoff(1))


async def test_unexpected_exception_is_retried_not_lost() -> None:
    now = _now()
    await _enqueue_many(1, now)
    handler = Recorder(fail=KeyError, times=1)

    assert await outbox.run_once({KIND: handler}, now=now) == 1
    message = await OutboxMessage.get(dedupe_key="effect:0")
    assert (message.status, message.attempts, message.locked_until) == (
        OutboxStatus.PENDING,
        1,
        None,
    )
    assert message.next_attempt_at == now + timedelta(seconds=2)
    assert message.last_error.startswith("KeyError")

    assert await outbox.run_once({KIND: handler}, now=now + timedelta(seconds=1)) == 0
    assert handler.calls[0] == 1
    assert await outbox.run_once({KIND: handler}, now=now + timedelta(seconds=2)) == 1
    message = await OutboxMessage.get(dedupe_key="effect:0")
    assert (message.status, message.attempts, message.last_error) == (OutboxStatus.DONE, 2, "")
    assert handler.calls[0] == 2


async def test_gives_up_after_max_attempts() -> None:
    now = _now()
    await _enqueue_many(1, now)
    handler = Recorder(fail=RuntimeError)

    for _ in range(outbox.MAX_ATTEMPTS):
        assert await outbox.run_once({KIND: handler}, now=now) == 1
        message = await OutboxMessage.get(dedupe_key="effect:0")
        now = message.next_attempt_at

    message = await OutboxMessage.get(dedupe_key="effect:0")
    assert (message.status, message.attempts) == (OutboxStatus.DEAD, outbox.MAX_ATTEMPTS)
    assert handler.calls[0] == outbox.MAX_ATTEMPTS
    assert await outbox.run_once({KIND: handler}, now=now + timedelta(days=1)) == 0


@pytest.mark.parametrize("handlers", ["give_up", "missing"])
async def test_give_up_and_unknown_kind_park_the_message(handlers: str) -> None:
    now = _now()
    await _enqueue_many(1, now)
    handler = Recorder(fail=GiveUp)

    table = {KIND: handler} if handlers == "give_up" else {}
    assert await outbox.run_once(table, now=now) == 1

    message = await OutboxMessage.get(dedupe_key="effect:0")
    assert (message.status, message.attempts, message.done_at) == (OutboxStatus.DEAD, 1, now)
    assert message.last_error
    assert await outbox.run_once({KIND: Recorder()}, now=now + timedelta(days=1)) == 0


async def test_a_lease_held_by_a_dead_worker_expires() -> None:
    now = _now()
    await _enqueue_many(1, now)
    # A worker claimed the message and died before finishing it.
    await OutboxMessage.filter(dedupe_key="effect:0").update(
        locked_until=now + outbox.LEASE, attempts=1
    )
    handler = Recorder()

    assert await outbox.run_once({KIND: handler}, now=now + timedelta(seconds=30)) == 0
    assert await outbox.run_once({KIND: handler}, now=now + outbox.LEASE) == 0
    assert await outbox.run_once({KIND: handler}, now=now + outbox.LEASE * 2) == 1
    message = await OutboxMessage.get(dedupe_key="effect:0")
    assert (message.status, message.attempts) == (OutboxStatus.DONE, 2)
    assert handler.calls[0] == 1
