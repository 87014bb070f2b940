"""Per-group figures count only the community's own touches, even in a group two share."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient

from models.growth import Visit, VisitSource
from models.user import User
from services import group_stats
from services.auth import Principal
from tests.support.factories import make_community, make_user


@pytest.fixture(autouse=True)
async def orm(client: TestClient) -> None:
    """The app's start-up opens the ORM these tests use."""


async def test_a_shared_group_shows_each_community_only_its_own_visits() -> None:
    ours, theirs = await make_community(), await make_community()
    shared = "tGshared-group"
    now = datetime.now(tz=UTC)
    for community, visitors in ((ours, 1), (theirs, 3)):
        for _ in range(visitors):
            await Visit.create(
                user=await make_user(),
                source=VisitSource.GROUP,
                community=community,
                opengid=shared,
                outcome="recorded",
                created_at=now,
            )
    leader = await User.get(id=ours.leader_id)

    found = await group_stats.for_community(
        principal=Principal(user_id=leader.id, role=leader.role), community_id=str(ours.id)
    )

    by_chat = {g.chat_id: g for g in found}
    assert (by_chat[shared].visits, by_chat[shared].visitors) == (1, 1)
    assert by_chat[ours.chat_id].visits == 0  # the bound group, not visited yet
