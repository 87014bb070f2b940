"""Idempotency-Key on POST /api/v1/campaigns/{id}/teams: a repeat replays, never redoes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from models.groupbuy import Campaign, Seat, Team
from models.order import Order
from models.user import User
from qunshop.config import Settings
from qunshop.keys import REDIS
from tests.support.factories import auth, make_campaign, make_user, stock_left

KEY = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"


def _headers(user: User, settings: Settings, key: str) -> dict[str, str]:
    return {**auth(user, settings), KEY: key}


async def _start(
    client: TestClient, campaign: Campaign, headers: dict[str, str], body: Any = None
) -> tuple[int, bytes, Any]:
    resp = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams",
        json={} if body is None else body,
        headers=headers,
    )
    return resp.status, await resp.read(), resp.headers


async def test_repeat_replays_the_first_answer(client: TestClient, settings: Settings) -> None:
    campaign = await make_campaign(stock_cap=5)
    headers = _headers(await make_user(), settings, "start-1")

    status, body, first_headers = await _start(client, campaign, headers)
    assert status == 201 and REPLAYED not in first_headers
    again = [await _start(client, campaign, headers) for _ in range(2)]

    assert [(s, b) for s, b, _ in again] == [(201, body)] * 2
    assert all(h[REPLAYED] == "true" for _, _, h in again)
    assert all(h["Content-Type"].startswith("application/json") for _, _, h in again)
    assert await Team.all().count() == 1
    assert await Order.all().count() == 1
    assert await Seat.all().count() == 1
    assert await stock_left(campaign.id) == 4


async def test_concurrent_repeats_start_one_team(client: TestClient, settings: Settings) -> None:
    campaign = await make_campaign(stock_cap=5)
    headers = _headers(await make_user(), settings, "start-together")

    answers = await asyncio.gather(*(_start(client, campaign, headers) for _ in range(5)))

    statuses = sorted(s for s, _, _ in answers)
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}
    created = {b for s, b, _ in answers if s == 201}
    assert len(created) == 1  # every 201 is the same answer, first or replayed
    for status, body, _ in answers:
        if status == 409:
            assert b"idempotency_in_progress" in body
    assert await Team.all().count() == 1
    assert await Order.all().count() == 1


async def test_same_key_with_another_body_is_refused(
    client: TestClient, settings: Settings
) -> None:
    campaign = await make_campaign(stock_cap=5)
    headers = _headers(await make_user(), settings, "start-2")
    assert (await _start(client, campaign, headers))[0] == 201

    status, body, _ = await _start(client, campaign, headers, {"chat_id": "another-chat"})

    assert status == 409 and b'"code": "idempotency_key_reused"' in body
    other = await make_campaign(stock_cap=5)  # same key, another path
    status, body, _ = await _start(client, other, headers)
    assert status == 409 and b"idempotency_key_reused" in body
    assert await Team.all().count() == 1
    assert await Order.all().count() == 1
    assert await stock_left(other.id) == 5


async def test_users_do_not_share_keys(client: TestClient, settings: Settings) -> None:
    campaign = await make_campaign(stock_cap=5)
    first, second = await make_user(), await make_user()

    one = await _start(client, campaign, _headers(first, settings, "same-key"))
    two = await _start(client, campaign, _headers(second, settings, "same-key"))

    assert (one[0], two[0]) == (201, 201)
    assert one[1] != two[1] and REPLAYED not in two[2]
    teams = await Team.all()
    assert {t.head_id for t in teams} == {first.id, second.id}
    assert await Order.all().count() == 2


async def test_failed_first_request_is_not_remembered(
    client: TestClient, settings: Settings
) -> None:
    """A refusal (here: sold out) leaves nothing behind, so the key is free to try again:
    the same request is answered afresh, never with a replay of the refusal."""
    campaign = await make_campaign(stock_cap=1)
    await Campaign.filter(id=campaign.id).update(stock_left=0)
    headers = _headers(await make_user(), settings, "start-3")

    for _ in range(2):
        status, body, answer_headers = await _start(client, campaign, headers)
        assert status == 409 and b'"code": "campaign_sold_out"' in body
        assert REPLAYED not in answer_headers
    assert await Team.all().count() == 0
    assert await Order.all().count() == 0

    await Campaign.filter(id=campaign.id).update(stock_left=1)
    status, body, answer_headers = await _start(client, campaign, headers)
    assert status == 201 and REPLAYED not in answer_headers
    replay = await _start(client, campaign, headers)
    assert replay[:2] == (201, body) and replay[2][REPLAYED] == "true"
    assert await Team.all().count() == 1
    assert await Order.all().count() == 1


async def test_invalid_key_is_refused(client: TestClient, settings: Settings) -> None:
    campaign = await make_campaign(stock_cap=5)

    status, body, _ = await _start(
        client, campaign, _headers(await make_user(), settings, "k" * 129)
    )

    assert status == 422 and b"validation_failed" in body
    assert await Team.all().count() == 0


async def test_a_crash_after_the_commit_still_replays(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The effect committed, then Redis (or the process) went away before the request
    finished: the repeat finds the answer recorded with the effect and replays it."""
    campaign = await make_campaign(stock_cap=5)
    headers = _headers(await make_user(), settings, "crash-after-commit")
    redis = client.server.app[REDIS]

    def gone_once_the_team_exists(real: Any) -> Any:
        async def call(*args: Any, **kwargs: Any) -> Any:
            if await Team.exists():
                raise ConnectionRefusedError("redis went away")
            return await real(*args, **kwargs)

        return call

    for name in ("set", "delete"):
        monkeypatch.setattr(redis, name, gone_once_the_team_exists(getattr(redis, name)))
    status, _, _ = await _start(client, campaign, headers)
    assert status == 503
    monkeypatch.undo()
    await redis.flushdb()  # what Redis knew of the first request is gone

    status, body, replayed = await _start(client, campaign, headers)
    assert status == 201 and replayed[REPLAYED] == "true"
    assert await Team.all().count() == 1 and await Order.all().count() == 1
    assert str((await Team.get()).id) == json.loads(body)["team"]["id"]
