"""Real concurrency through the HTTP door; the database's rows are the verdict."""

from __future__ import annotations

import asyncio
from collections import Counter

from aiohttp.test_utils import TestClient

from models.groupbuy import Seat, SeatStatus, Team
from models.order import Order
from qunshop.config import Settings
from tests.support.factories import auth, make_campaign, make_user, stock_left


async def _codes(responses: list) -> Counter:
    counts: Counter = Counter()
    for resp in responses:
        body = await resp.json()
        counts[resp.status if resp.status == 201 else body["code"]] += 1
    return counts


async def test_200_joiners_for_3_seats(client: TestClient, settings: Settings) -> None:
    campaign = await make_campaign(team_size=4, stock_cap=500)
    head = await make_user()
    resp = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=auth(head, settings)
    )
    code = (await resp.json())["team"]["code"]
    users = [await make_user() for _ in range(200)]

    responses = await asyncio.gather(
        *(
            client.post(f"/api/v1/teams/{code}/join", json={}, headers=auth(u, settings))
            for u in users
        )
    )
    counts = await _codes(responses)
    assert counts[201] == 3
    assert counts["team_full"] == 197
    team = await Team.get(code=code)
    assert team.seats_held == 4
    live = await Seat.filter(team_id=team.id).exclude(status=SeatStatus.RELEASED).count()
    assert live == 4
    assert await Order.filter(team_id=team.id).count() == 4
    assert await stock_left(campaign.id) == 500 - 4


async def test_500_buyers_for_stock_50(client: TestClient, settings: Settings) -> None:
    campaign = await make_campaign(team_size=2, stock_cap=50)
    users = [await make_user() for _ in range(500)]

    responses = await asyncio.gather(
        *(
            client.post(
                f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=auth(u, settings)
            )
            for u in users
        )
    )
    counts = await _codes(responses)
    assert counts[201] == 50
    assert counts["campaign_sold_out"] == 450
    assert await stock_left(campaign.id) == 0
    assert await Order.filter(campaign_id=campaign.id).count() == 50
    assert await Seat.filter(campaign_id=campaign.id).count() == 50


async def test_same_user_joining_twice_at_once(client: TestClient, settings: Settings) -> None:
    campaign = await make_campaign(team_size=5, stock_cap=100, per_user_limit=5)
    head, twice = await make_user(), await make_user()
    resp = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=auth(head, settings)
    )
    code = (await resp.json())["team"]["code"]

    responses = await asyncio.gather(
        *(
            client.post(f"/api/v1/teams/{code}/join", json={}, headers=auth(twice, settings))
            for _ in range(10)
        )
    )
    counts = await _codes(responses)
    assert counts[201] == 1
    assert counts["already_in_team"] == 9
    assert await Seat.filter(user_id=twice.id).count() == 1
    assert await Order.filter(user_id=twice.id).count() == 1
    team = await Team.get(code=code)
    assert team.seats_held == 2
    assert await stock_left(campaign.id) == 98


async def test_same_user_starting_two_teams_at_once(client: TestClient, settings: Settings) -> None:
    campaign = await make_campaign(team_size=3, stock_cap=100, per_user_limit=5)
    user = await make_user()
    responses = await asyncio.gather(
        *(
            client.post(
                f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=auth(user, settings)
            )
            for _ in range(8)
        )
    )
    counts = await _codes(responses)
    assert counts[201] == 1
    assert counts["already_in_team"] == 7
    assert await Team.filter(campaign_id=campaign.id).count() == 1
    assert await stock_left(campaign.id) == 99
