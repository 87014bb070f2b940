"""Leaderboards in Redis sorted sets, rebuilt from the database when Redis loses them."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from models.growth import ShareKind
from models.user import User
from qunshop.config import Settings
from qunshop.errors import NotFound
from qunshop.keys import REDIS
from services import attribution, leaderboards, share_codes
from services.leaderboards import Board, Scope
from tests.support.factories import make_campaign, make_community, make_user
from tests.support.growth import now, principal_of


@pytest.fixture
def redis(client: TestClient) -> Redis:
    return client.server.app[REDIS]


async def _board(redis: Redis, scope: Scope, scope_id: object, board: Board) -> list[tuple]:
    """(rank, nickname, score), highest first; ties (in any order) sorted by nickname."""
    ranks = await leaderboards.top(redis, scope=scope, scope_id=str(scope_id), board=board)
    assert [r.rank for r in ranks] == list(range(1, len(ranks) + 1))
    assert [r.score for r in ranks] == sorted((r.score for r in ranks), reverse=True)
    ordered = sorted(ranks, key=lambda r: (-r.score, r.nickname))
    return [(i, r.nickname, r.score) for i, r in enumerate(ordered, start=1)]


async def _enter(redis: Redis, settings: Settings, user: User, code: str) -> None:
    await attribution.enter(
        principal=principal_of(user), code=code, redis=redis, settings=settings, now=now()
    )


async def test_top_inviters_and_sharers_survive_a_flush(redis: Redis, settings: Settings) -> None:
    secret = settings.secret_key.get_secret_value()
    community = await make_community()
    campaign = await make_campaign(community)
    ann, bob = await make_user(nickname="ann"), await make_user(nickname="bob")
    _, ann_campaign = await share_codes.issue(
        kind=ShareKind.CAMPAIGN,
        sharer_id=ann.id,
        community_id=community.id,
        campaign_id=campaign.id,
        now=now(),
        secret=secret,
    )
    _, bob_invite = await share_codes.issue(
        kind=ShareKind.INVITE, sharer_id=bob.id, community_id=community.id, now=now(), secret=secret
    )
    visitors = [await make_user() for _ in range(4)]
    for visitor in visitors[:3]:
        await _enter(redis, settings, visitor, ann_campaign)
    await _enter(redis, settings, visitors[0], ann_campaign)  # again: one person still
    await _enter(redis, settings, ann, ann_campaign)  # her own link scores nothing
    await _enter(redis, settings, visitors[3], bob_invite)
    await _enter(redis, settings, visitors[0], bob_invite)  # visits, but first touch won

    expected = {
        (Scope.COMMUNITY, community.id, Board.SHARERS): [(1, "ann", 3), (2, "bob", 2)],
        (Scope.COMMUNITY, community.id, Board.INVITERS): [(1, "ann", 3), (2, "bob", 1)],
        (Scope.CAMPAIGN, campaign.id, Board.SHARERS): [(1, "ann", 3)],
        (Scope.CAMPAIGN, campaign.id, Board.INVITERS): [(1, "ann", 3)],
    }
    for (scope, scope_id, board), ranks in expected.items():
        assert await _board(redis, scope, scope_id, board) == ranks
    assert await redis.exists(leaderboards.key(Scope.COMMUNITY, community.id, Board.SHARERS))

    # A new visit moves the board Redis holds, without a rebuild.
    late = await make_user()
    await _enter(redis, settings, late, bob_invite)
    assert await _board(redis, Scope.COMMUNITY, community.id, Board.SHARERS) == [
        (1, "ann", 3),
        (2, "bob", 3),
    ]

    await redis.flushdb()  # Redis loses everything
    expected[(Scope.COMMUNITY, community.id, Board.SHARERS)] = [(1, "ann", 3), (2, "bob", 3)]
    expected[(Scope.COMMUNITY, community.id, Board.INVITERS)] = [(1, "ann", 3), (2, "bob", 2)]
    for (scope, scope_id, board), ranks in expected.items():
        assert await _board(redis, scope, scope_id, board) == ranks


async def test_a_touch_does_not_create_a_partial_board(redis: Redis, settings: Settings) -> None:
    community = await make_community()
    sharer = await make_user(nickname="cat")
    _, code = await share_codes.issue(
        kind=ShareKind.INVITE,
        sharer_id=sharer.id,
        community_id=community.id,
        now=now(),
        secret=settings.secret_key.get_secret_value(),
    )
    first, second = await make_user(), await make_user()
    await _enter(redis, settings, first, code)
    await redis.flushdb()
    await _enter(redis, settings, second, code)  # the board is gone: the touch leaves it so
    assert not await redis.exists(leaderboards.key(Scope.COMMUNITY, community.id, Board.SHARERS))
    assert await _board(redis, Scope.COMMUNITY, community.id, Board.SHARERS) == [(1, "cat", 2)]


async def test_unknown_scopes(redis: Redis) -> None:
    with pytest.raises(NotFound):
        await leaderboards.top(redis, scope=Scope.CAMPAIGN, scope_id="nope", board=Board.SHARERS)
    with pytest.raises(NotFound):
        await leaderboards.top(
            redis, scope=Scope.COMMUNITY, scope_id=str(principal_of), board=Board.INVITERS
        )
