"""Chat senders: one plain query per turn, a user on first contact, last_seen_at throttled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient
from tortoise import connections

from models.chat import ChatIdentity
from models.user import Role, User
from qunshop.tasks import TaskTracker
from services import chat_users
from tests.support.factories import make_user


@pytest.fixture(autouse=True)
async def orm(client: TestClient) -> None:
    """The app's start-up opens the ORM these tests use."""


@pytest.fixture
async def senders() -> AsyncIterator[chat_users.Senders]:
    tasks = TaskTracker()
    yield chat_users.Senders(tasks)
    await tasks.drain()


T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


async def test_first_contact_creates_one_user_and_identity(senders: chat_users.Senders) -> None:
    first = await senders(platform="wechat", external_id="o-new", now=T0)
    again = await senders(platform="wechat", external_id="o-new", now=T0)

    assert first == again
    assert first.role is Role.SHOPPER
    identity = await ChatIdentity.get(platform="wechat", external_id="o-new")
    assert (identity.user_id, identity.last_seen_at) == (first.user_id, T0)
    assert await User.filter(id=first.user_id).count() == 1


async def test_the_role_is_read_fresh_for_every_message(senders: chat_users.Senders) -> None:
    leader = await make_user(role=Role.SHOPPER)
    await ChatIdentity.create(platform="wecom", external_id="zhang", user=leader, last_seen_at=T0)
    assert (await senders(platform="wecom", external_id="zhang", now=T0)).role is Role.SHOPPER

    await User.filter(id=leader.id).update(role=Role.LEADER)

    who = await senders(platform="wecom", external_id="zhang", now=T0)
    assert (who.user_id, who.role) == (leader.id, Role.LEADER)


async def test_last_seen_is_written_at_most_every_few_minutes(senders: chat_users.Senders) -> None:
    user = await make_user()
    await ChatIdentity.create(platform="wechat", external_id="o-1", user=user, last_seen_at=T0)
    soon = T0 + chat_users.SEEN_GRANULARITY - timedelta(seconds=1)
    later = T0 + chat_users.SEEN_GRANULARITY + timedelta(seconds=1)

    await senders(platform="wechat", external_id="o-1", now=soon)
    assert (await ChatIdentity.get(external_id="o-1")).last_seen_at == T0

    await senders(platform="wechat", external_id="o-1", now=later)
    assert (await ChatIdentity.get(external_id="o-1")).last_seen_at == later


async def test_stale_marks_cost_no_second_statement(
    senders: chat_users.Senders, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read writes the stale marks itself; a later mark is never moved back."""
    stale, ahead = await make_user(), await make_user()
    await ChatIdentity.create(platform="wechat", external_id="o-3", user=stale, last_seen_at=T0)
    later = T0 + chat_users.SEEN_GRANULARITY + timedelta(seconds=1)
    await ChatIdentity.create(
        platform="wechat", external_id="o-4", user=ahead, last_seen_at=later + timedelta(hours=1)
    )
    client = connections.get("default")

    async def no_second_statement(*_: object) -> object:
        raise AssertionError("a second statement for the marks")

    with monkeypatch.context() as patched:
        patched.setattr(client, "execute_query", no_second_statement)
        await asyncio.gather(
            senders(platform="wechat", external_id="o-3", now=later),
            senders(platform="wechat", external_id="o-4", now=later),
        )

    assert (await ChatIdentity.get(external_id="o-3")).last_seen_at == later
    assert (await ChatIdentity.get(external_id="o-4")).last_seen_at == later + timedelta(hours=1)


async def test_a_never_seen_identity_gets_its_first_mark(senders: chat_users.Senders) -> None:
    user = await make_user()
    await ChatIdentity.create(platform="wechat", external_id="o-2", user=user, last_seen_at=None)

    await senders(platform="wechat", external_id="o-2", now=T0)

    assert (await ChatIdentity.get(external_id="o-2")).last_seen_at == T0


async def test_the_senders_of_one_turn_share_one_query(monkeypatch: pytest.MonkeyPatch) -> None:
    known = [await make_user(role=role) for role in (Role.SHOPPER, Role.LEADER)]
    for n, user in enumerate(known):
        await ChatIdentity.create(platform="wechat", external_id=f"k-{n}", user=user)
    calls: list[list[str]] = []
    real = chat_users._find_all

    async def counting(platform: str, external_ids: list[str], now: datetime) -> list[object]:
        calls.append(external_ids)
        return await real(platform, external_ids, now)

    monkeypatch.setattr(chat_users, "_find_all", counting)
    tasks = TaskTracker()
    senders = chat_users.Senders(tasks)  # built after the patch: it holds the function

    asked = ["k-0", "k-1", "k-0", "new-1"]
    found = await asyncio.gather(
        *(senders(platform="wechat", external_id=x, now=T0) for x in asked)
    )

    await tasks.drain()
    assert calls == [asked]
    assert [(p.user_id, p.role) for p in found[:3]] == [
        (known[0].id, Role.SHOPPER),
        (known[1].id, Role.LEADER),
        (known[0].id, Role.SHOPPER),
    ]
    created = await ChatIdentity.get(platform="wechat", external_id="new-1")
    assert found[3].user_id == created.user_id
