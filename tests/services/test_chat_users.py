"""Chat senders: one plain query per message, a user on first contact, last_seen_at throttled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient

from models.chat import ChatIdentity
from models.user import Role, User
from services import chat_users
from tests.support.factories import make_user


@pytest.fixture(autouse=True)
async def orm(client: TestClient) -> None:
    """The app's start-up opens the ORM these tests use."""


T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


async def test_first_contact_creates_one_user_and_identity() -> None:
    first = await chat_users.sender(platform="wechat", external_id="o-new", now=T0)
    again = await chat_users.sender(platform="wechat", external_id="o-new", now=T0)

    assert first == again
    assert first.role is Role.SHOPPER
    identity = await ChatIdentity.get(platform="wechat", external_id="o-new")
    assert (identity.user_id, identity.last_seen_at) == (first.user_id, T0)
    assert await User.filter(id=first.user_id).count() == 1


async def test_the_role_is_read_fresh_for_every_message() -> None:
    leader = await make_user(role=Role.SHOPPER)
    await ChatIdentity.create(platform="wecom", external_id="zhang", user=leader, last_seen_at=T0)
    assert (await chat_users.sender(platform="wecom", external_id="zhang", now=T0)).role is (
        Role.SHOPPER
    )

    await User.filter(id=leader.id).update(role=Role.LEADER)

    who = await chat_users.sender(platform="wecom", external_id="zhang", now=T0)
    assert (who.user_id, who.role) == (leader.id, Role.LEADER)


async def test_last_seen_is_written_at_most_every_few_minutes() -> None:
    user = await make_user()
    await ChatIdentity.create(platform="wechat", external_id="o-1", user=user, last_seen_at=T0)
    soon = T0 + chat_users.SEEN_GRANULARITY - timedelta(seconds=1)
    later = T0 + chat_users.SEEN_GRANULARITY + timedelta(seconds=1)

    await chat_users.sender(platform="wechat", external_id="o-1", now=soon)
    assert (await ChatIdentity.get(external_id="o-1")).last_seen_at == T0

    await chat_users.sender(platform="wechat", external_id="o-1", now=later)
    assert (await ChatIdentity.get(external_id="o-1")).last_seen_at == later


async def test_a_never_seen_identity_gets_its_first_mark() -> None:
    user = await make_user()
    await ChatIdentity.create(platform="wechat", external_id="o-2", user=user, last_seen_at=None)

    await chat_users.sender(platform="wechat", external_id="o-2", now=T0)

    assert (await ChatIdentity.get(external_id="o-2")).last_seen_at == T0
