"""No oversell, no over-full team, nobody charged for what cannot be delivered.

Buyers are released together through the HTTP door of (a) the in-process app and (b) two
``qunshop serve`` processes sharing the database and Redis, requests alternating between them,
with and without 5-50 ms of latency in front of PostgreSQL and Redis. One buyer in ten fires
twice at once (into the same team or into another). The rows decide: orders never exceed the
stock, seats never exceed a team's size, stock never goes negative, and nothing is lost to a
race either. Then every reservation is paid with signed notifies, each delivered twice at once,
and no payment may come back as refunded.

Each door runs its cases on one set of servers (starting them costs seconds); every case has
its own campaign and buyers.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass

import aiohttp
import pytest

from models.user import User
from qunshop.config import Settings
from tests.reliability.conftest import MakeStack
from tests.reliability.support import (
    Answer,
    buyers,
    check_campaign,
    codes,
    headers,
    pay_everything,
    send,
    spread,
)
from tests.support.factories import make_campaign
from tests.support.fake_wechat import FakeWeChat

pytestmark = pytest.mark.reliability
logger = logging.getLogger(__name__)

REFUSALS = {
    "campaign_sold_out",
    "already_in_team",
    "team_full",
    "user_limit_reached",
    # A buyer's second request with the same key, while the first runs (or elsewhere).
    "idempotency_in_progress",
    "idempotency_key_reused",
}


@dataclass(frozen=True)
class Starts:
    """``buyers`` each open a team (as its head) in a campaign of ``stock`` units."""

    buyers: int
    stock: int
    keyed: int = 3  # one buyer in ``keyed`` sends an Idempotency-Key

    def __str__(self) -> str:
        return f"starts {self.buyers} buyers x stock {self.stock} (1/{self.keyed} keyed)"


@dataclass(frozen=True)
class Joins:
    """``joiners`` join ``teams`` open teams of ``size`` in a campaign of ``stock`` units."""

    size: int
    joiners: int
    stock: int
    teams: int = 3

    def __str__(self) -> str:
        return (
            f"joins {self.joiners} joiners x {self.teams} teams of {self.size}, stock {self.stock}"
        )


MATRIX: dict[str, list[Starts | Joins]] = {
    "in_process": [
        Starts(50, 1),
        Starts(200, 10),
        Joins(2, 50, 100),
        Joins(3, 200, 100),
        Joins(5, 1000, 10),
    ],
    "two_processes": [
        Starts(200, 10),
        Starts(1000, 100, keyed=1),  # every request through Redis, 1000 at once
        Joins(2, 200, 10, teams=4),
        Joins(5, 1000, 100),
    ],
    "two_processes_latency": [
        Starts(50, 1),
        Starts(200, 10),
        Joins(3, 200, 100),
        Joins(5, 50, 10),
    ],
}


@dataclass
class Door:
    bases: list[str]
    http: aiohttp.ClientSession
    settings: Settings
    wechat: FakeWeChat


def _headers(door: Door, user: User, n: int, keyed: int = 3) -> dict[str, str]:
    """One buyer in ``keyed`` sends an Idempotency-Key of their own: Redis on the hot path."""
    extra = {"Idempotency-Key": f"buy-{user.id.hex}"} if n % keyed == 0 else {}
    return headers(user, door.settings, **extra)


def _created(answers: list[Answer]) -> set[str]:
    """The orders the 201s announced (a replayed 201 announces the same one again)."""
    return {a.body["order"]["id"] for a in answers if a.status == 201}


def _twice(count: int, share: float = 0.1) -> set[int]:
    """Which buyers send their request twice at once (the same user, possibly two servers)."""
    return set(random.sample(range(count), max(1, int(count * share))))


async def _starts(door: Door, case: Starts) -> str:
    campaign = await make_campaign(team_size=2, stock_cap=case.stock)
    users = await buyers(case.buyers)
    twice = _twice(case.buyers)
    servers = spread(door.bases)
    path = f"/api/v1/campaigns/{campaign.id}/teams"
    calls = [
        send(
            door.http,
            next(servers),
            "POST",
            path,
            headers=_headers(door, u, i, case.keyed),
            json_body={},
        )
        for i, u in enumerate(users)
        for _ in range(2 if i in twice else 1)
    ]
    started = time.monotonic()
    answers: list[Answer] = await asyncio.gather(*calls)
    elapsed = time.monotonic() - started

    seen = codes(answers)
    assert set(seen) <= {201, *REFUSALS}, (str(case), seen)
    tally = await check_campaign(campaign.id)
    assert tally.orders == len(_created(answers)) <= case.stock, (str(case), tally)
    assert tally.orders == min(case.stock, case.buyers), (str(case), tally)  # none lost
    assert tally.stock_left == case.stock - tally.orders >= 0

    await pay_everything(door.http, door.bases, door.wechat, campaign, replays=2)
    tally = await check_campaign(campaign.id)
    assert tally.payments == tally.paid_seats == tally.orders, (str(case), tally)
    assert tally.refunded_payments == 0 and tally.refunds == 0, (str(case), tally)
    return f"{case}: sold {tally.orders} in {elapsed:.2f}s {dict(seen)}"


async def _joins(door: Door, case: Joins) -> str:
    campaign = await make_campaign(team_size=case.size, stock_cap=case.stock)
    servers = spread(door.bases)
    team_codes = []
    for head in await buyers(case.teams):
        answer = await send(
            door.http,
            next(servers),
            "POST",
            f"/api/v1/campaigns/{campaign.id}/teams",
            headers=headers(head, door.settings),
            json_body={},
        )
        assert answer.status == 201, answer
        team_codes.append(answer.body["team"]["code"])

    users = await buyers(case.joiners)
    twice = _twice(case.joiners)
    calls = []
    for i, user in enumerate(users):
        first = random.choice(team_codes)
        # The same user twice at once: into the same team, or into another one.
        for code in [first, random.choice(team_codes)] if i in twice else [first]:
            calls.append(
                send(
                    door.http,
                    next(servers),
                    "POST",
                    f"/api/v1/teams/{code}/join",
                    headers=_headers(door, user, i),
                    json_body={},
                )
            )
    random.shuffle(calls)
    started = time.monotonic()
    answers: list[Answer] = await asyncio.gather(*calls)
    elapsed = time.monotonic() - started

    seen = codes(answers)
    assert set(seen) <= {201, *REFUSALS}, (str(case), seen)
    tally = await check_campaign(campaign.id)  # seats per team <= size, per user <= 1, ...
    assert tally.orders == len(_created(answers)) + case.teams <= case.stock, (str(case), tally)
    # Nothing lost to a race: seats fill until the teams or the stock run out.
    expected = min(case.stock, case.teams * case.size, case.teams + case.joiners)
    assert tally.orders == expected, (str(case), tally)

    await pay_everything(door.http, door.bases, door.wechat, campaign, replays=2)
    tally = await check_campaign(campaign.id)
    assert tally.payments == tally.paid_seats == tally.orders, (str(case), tally)
    assert tally.refunded_payments == 0 and tally.refunds == 0, (str(case), tally)
    return (
        f"{case}: sold {tally.orders}, full teams {tally.full_teams}/{tally.teams} "
        f"in {elapsed:.2f}s {dict(seen)}"
    )


@pytest.fixture(params=list(MATRIX))
def where(request: pytest.FixtureRequest) -> str:
    """The door; the in-process one runs on fakeredis too, while server processes need a real
    Redis to share."""
    if request.param != "in_process":
        request.getfixturevalue("real_redis")
    return str(request.param)


async def test_no_oversell_no_overfull_team_nobody_refunded(
    where: str,
    in_process: list[str],
    make_stack: MakeStack,
    http: aiohttp.ClientSession,
    settings: Settings,
    wechat: FakeWeChat,
) -> None:
    if where == "in_process":
        bases = in_process
    else:
        latency = where.endswith("latency")
        stack = await make_stack(servers=2, latency=latency, proxied=latency, scheduler=True)
        bases = stack.bases
    door = Door(bases=bases, http=http, settings=settings, wechat=wechat)
    for case in MATRIX[where]:
        line = await (_starts(door, case) if isinstance(case, Starts) else _joins(door, case))
        logger.warning("%s: %s", where, line)
