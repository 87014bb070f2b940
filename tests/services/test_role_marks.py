"""RoleMarks: the marks of one turn read in one MGET over a held connection; a broken
connection is dropped and the marks are still read, through the client."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from qunshop.tasks import TaskTracker
from services.roles import RoleMarks, mark_changed


@pytest.fixture
async def marks(redis: Redis) -> AsyncIterator[RoleMarks]:
    tracker = TaskTracker()
    role_marks = RoleMarks(redis, tracker)
    yield role_marks
    await tracker.drain()
    await role_marks.aclose()


async def test_marks_of_one_turn_are_read_together_and_each_caller_hears_its_own(
    marks: RoleMarks, redis: Redis
) -> None:
    changed, quiet = uuid.uuid4(), uuid.uuid4()
    await mark_changed(redis, changed)

    answers = await asyncio.gather(marks.changed(changed), marks.changed(quiet))

    assert answers == [True, False]
    assert await marks.changed(quiet) is False


async def test_a_mark_written_after_a_read_is_seen_by_the_next_request(
    marks: RoleMarks, redis: Redis
) -> None:
    user = uuid.uuid4()
    assert await marks.changed(user) is False

    await mark_changed(redis, user)

    assert await marks.changed(user) is True


async def test_a_killed_connection_still_reads_the_marks(marks: RoleMarks, redis: Redis) -> None:
    user = uuid.uuid4()
    await mark_changed(redis, user)
    assert await marks.changed(user) is True

    await redis.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no")

    assert await marks.changed(user) is True
    assert await marks.changed(uuid.uuid4()) is False
