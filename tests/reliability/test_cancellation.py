"""Clients that hang up at random points during join and pay-notify leave no half-applied state.

Hundreds of requests are abandoned mid-flight: half by a client timeout of a few milliseconds,
half by cancelling the request's task after a random pause. The in-process test server cancels
a handler whose client went away (aiohttp's handler_cancellation), so the services are
interrupted at whatever await they had reached, transactions included; ``qunshop serve`` lets
handlers finish, which the subprocess run checks. Afterwards the rows must pair up: every order
has its seat, every held seat is counted in its team, stock plus live seats equals the cap,
every payment has its transition. Then the survivors pay for real and everything settles.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import Awaitable

import aiohttp
import pytest
from tortoise import connections

from models.groupbuy import Campaign
from models.order import Order, OrderStatus
from models.payment import Payment
from models.user import User
from qunshop.config import Settings
from services import groupbuy
from services.auth import Principal
from tests.reliability.conftest import MakeStack
from tests.reliability.support import (
    buyers,
    check_campaign,
    headers,
    notifies_for,
    pay_everything,
    utcnow,
)
from tests.support.factories import make_campaign
from tests.support.fake_wechat import FakeWeChat

pytestmark = pytest.mark.reliability
logger = logging.getLogger(__name__)


async def _abandon(call: Awaitable[object], within: float) -> str:
    """Run ``call`` but give up after a random moment: the connection is dropped mid-flight."""
    task = asyncio.ensure_future(call)
    await asyncio.sleep(random.uniform(0, within))
    if task.done():
        return "finished" if task.exception() is None else type(task.exception()).__name__
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError, TimeoutError):
        await task
    return "cancelled"


async def _post(
    http: aiohttp.ClientSession,
    url: str,
    *,
    hdrs: dict[str, str] | None = None,
    json_body: object = None,
    data: bytes | None = None,
    timeout: float | None = None,
) -> str:
    try:
        async with http.post(
            url,
            headers=hdrs,
            json=json_body,
            data=data,
            timeout=aiohttp.ClientTimeout(total=timeout) if timeout else None,
        ) as resp:
            await resp.read()
            return str(resp.status)
    except TimeoutError:
        return "timed_out"
    except aiohttp.ClientError as exc:
        return type(exc).__name__


async def _teams(campaign: Campaign, count: int) -> list[str]:
    codes = []
    for head in await buyers(count):
        started = await groupbuy.start_team(
            principal=Principal(user_id=head.id, role=head.role),
            campaign_id=str(campaign.id),
            now=utcnow(),
        )
        codes.append(started.team.code)
    return codes


async def _hang_ups(
    http: aiohttp.ClientSession,
    bases: list[str],
    settings: Settings,
    wechat: FakeWeChat,
    campaign: Campaign,
    joiners: list[User],
    team_codes: list[str],
    within: float,
) -> Counter[str]:
    """Joins and then pay notifies, every one abandoned at a random point (or not)."""
    outcomes: Counter[str] = Counter()

    def abandoned(url: str, **kw: object) -> Awaitable[str]:
        if random.random() < 0.5:
            return _abandon(_post(http, url, **kw), within)  # type: ignore[arg-type]
        return _post(http, url, timeout=random.uniform(0.001, within), **kw)  # type: ignore[arg-type]

    joins = [
        abandoned(
            f"{random.choice(bases)}/api/v1/teams/{random.choice(team_codes)}/join",
            hdrs=headers(user, settings),
            json_body={},
        )
        for user in joiners
    ]
    outcomes.update(f"join:{r}" for r in await asyncio.gather(*joins))
    await asyncio.sleep(0.5)  # interrupted handlers finish rolling back
    await check_campaign(campaign.id)

    pending = await Order.filter(campaign_id=campaign.id, status=OrderStatus.PENDING_PAYMENT)
    bodies = await notifies_for(wechat, pending)
    pays = [
        abandoned(
            f"{random.choice(bases)}/pay/wechat/notify",
            data=body,
            hdrs={"Content-Type": "application/xml"},
        )
        for body in bodies
        for _ in range(random.randint(1, 3))
    ]
    outcomes.update(f"pay:{r}" for r in await asyncio.gather(*pays))
    await asyncio.sleep(0.5)
    await check_campaign(campaign.id)
    return outcomes


async def _quiet(campaign: Campaign, still: float = 1.5, timeout: float = 30) -> None:
    """Wait until the servers have finished what the clients abandoned: no new rows for
    ``still`` seconds (``qunshop serve`` runs an abandoned request to its end)."""

    async def counts() -> tuple[int, int]:
        orders = Order.filter(campaign_id=campaign.id)
        return await orders.count(), await Payment.filter(order__campaign_id=campaign.id).count()

    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    last, since = await counts(), loop.time()
    while loop.time() < end:
        await asyncio.sleep(0.25)
        now = await counts()
        if now != last:
            last, since = now, loop.time()
        elif loop.time() - since >= still:
            return
    raise TimeoutError(f"rows still changing after {timeout}s")


async def _settle(
    http: aiohttp.ClientSession, bases: list[str], wechat: FakeWeChat, campaign: Campaign
) -> None:
    """Whatever was left unpaid is paid now, with nobody hanging up: it all still adds up."""
    await _quiet(campaign)
    await pay_everything(http, bases, wechat, campaign)
    tally = await check_campaign(campaign.id)
    assert tally.payments == tally.orders == tally.paid_seats
    assert tally.refunded_payments == 0 and tally.refunds == 0
    assert tally.stock_left + tally.live_seats == tally.stock_cap


async def test_hang_ups_in_process_interrupt_handlers_cleanly(
    in_process: list[str],
    http: aiohttp.ClientSession,
    settings: Settings,
    wechat: FakeWeChat,
) -> None:
    campaign = await make_campaign(team_size=4, stock_cap=40)
    team_codes = await _teams(campaign, 8)
    outcomes: Counter[str] = Counter()
    # Three waves, each abandoning joins and then payments; the later a wave gives up, the
    # further into the services (and their transactions) the interruptions land.
    for within in (0.05, 0.2, 0.6):
        outcomes += await _hang_ups(
            http,
            in_process,
            settings,
            wechat,
            campaign,
            await buyers(80),
            team_codes,
            within=within,
        )
    assert sum(n for k, n in outcomes.items() if "cancelled" in k or "timed_out" in k) > 0
    # Plain requests still work after all those interrupted transactions.
    await _settle(http, in_process, wechat, campaign)
    leaked = _leaked_connections()
    logger.warning("in process, hang-ups: %s; pool connections leaked: %s", dict(outcomes), leaked)


def _leaked_connections() -> int:
    """Pool connections still checked out once every request has ended, terminated here.

    Tortoise 1.1.9's TransactionContextPooled.__aenter__ takes a connection from the pool and
    then sends BEGIN; when BEGIN is interrupted (a cancelled handler), __aexit__ never runs and
    the connection never goes back. ``qunshop serve`` does not cancel handlers whose client
    left (aiohttp's default), so only this in-process server, which does, can lose them; left
    checked out, they would hold the app's teardown for Tortoise's 10-second close timeout.
    """
    pool = connections.get("default")._pool  # type: ignore[attr-defined]
    leaked = sum(1 for holder in pool._holders if holder._in_use is not None)
    if leaked:
        pool.terminate()
    return leaked


@pytest.mark.usefixtures("real_redis", "client")
async def test_hang_ups_against_two_server_processes(
    make_stack: MakeStack,
    http: aiohttp.ClientSession,
    settings: Settings,
    wechat: FakeWeChat,
) -> None:
    stack = await make_stack(servers=2, latency=True)
    campaign = await make_campaign(team_size=3, stock_cap=30)
    team_codes = await _teams(campaign, 6)
    outcomes = await _hang_ups(
        http,
        stack.bases,
        settings,
        wechat,
        campaign,
        await buyers(60),
        team_codes,
        within=0.3,
    )
    assert sum(n for k, n in outcomes.items() if "cancelled" in k or "timed_out" in k) > 0
    await _quiet(campaign)  # the servers finish what the clients abandoned
    await check_campaign(campaign.id)
    await _settle(http, stack.bases, wechat, campaign)
    logger.warning("two servers, hang-ups: %s", dict(outcomes))
