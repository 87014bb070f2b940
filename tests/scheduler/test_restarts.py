"""The clock across crashes and duplicates, with real server processes on PostgreSQL + Redis."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from models.groupbuy import Team, TeamStatus
from models.order import Order, OrderStatus
from models.payment import Refund
from services import groupbuy, payments
from services.auth import Principal
from tests.conftest import TEST_SECRETS
from tests.support.factories import make_campaign, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.support.server_process import ServerProcess, server_env

pytestmark = pytest.mark.usefixtures("client", "real_redis")


@pytest.fixture
async def pay_server() -> Any:
    fake = FakeWeChat()
    server = TestServer(fake.build(), port=0)
    await server.start_server()
    yield fake, str(server.make_url("")).rstrip("/")
    await server.close()


async def _paid_teams(count: int, deadline: datetime) -> list[Team]:
    """Teams of three with one paid member each, due at ``deadline``."""
    now = datetime.now(tz=UTC)
    campaign = await make_campaign(team_size=3, stock_cap=count * 3, now=now)
    teams = []
    for _ in range(count):
        head = await make_user()
        started = await groupbuy.start_team(
            principal=Principal(user_id=head.id, role=head.role),
            campaign_id=str(campaign.id),
            now=now,
        )
        order = started.order
        body = await payments.simulated_notify(
            order=order,
            api_key=TEST_SECRETS["pay_api_key"],
            appid=TEST_SECRETS["wechat_appid"],
            mch_id=TEST_SECRETS["pay_mch_id"],
            transaction_id=f"T{order.id.hex[:20]}",
            now=now,
        )
        outcome = await payments.handle_notify(
            body,
            api_key=TEST_SECRETS["pay_api_key"],
            appid=TEST_SECRETS["wechat_appid"],
            mch_id=TEST_SECRETS["pay_mch_id"],
            now=now,
        )
        assert outcome.honoured
        await Team.filter(id=started.team.id).update(deadline_at=deadline)
        teams.append(started.team)
    return teams


async def _wait_for(predicate: Any, timeout: float) -> bool:
    end = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < end:
        if await predicate():
            return True
        await asyncio.sleep(0.2)
    return False


async def _all_settled(teams: list[Team], fake: FakeWeChat) -> bool:
    open_left = await Team.filter(id__in=[t.id for t in teams], status=TeamStatus.OPEN).count()
    return open_left == 0 and len(fake.refunds) >= len(teams)


async def test_sigkill_then_restart_settles_each_team_once(
    database_url: str, redis_url: str, pay_server: Any
) -> None:
    fake, base = pay_server
    env = server_env(
        database_url=database_url,
        redis_url=redis_url,
        api_base=base,
        scheduler_refresh_seconds=0.5,
        outbox_interval_seconds=0.2,
    )
    # Room for the first server to start on a loaded machine: if a deadline passed while it
    # ran, it could be killed between a refund's request and its commit, and the second
    # would rightly send that refund again.
    deadline = datetime.now(tz=UTC) + timedelta(seconds=15)
    teams = await _paid_teams(6, deadline)

    first = ServerProcess(env, "--role", "all")
    await first.start()
    first.kill()  # before any deadline: the timers it held die with it
    assert datetime.now(tz=UTC) < deadline - timedelta(seconds=1), "started too slowly to test"
    # every deadline passes while nothing runs
    await asyncio.sleep((deadline - datetime.now(tz=UTC)).total_seconds() + 0.5)

    second = ServerProcess(env, "--role", "all")
    restarted_at = asyncio.get_running_loop().time()
    try:
        await second.start()
        assert await _wait_for(lambda: _all_settled(teams, fake), 60)
        assert asyncio.get_running_loop().time() - restarted_at < 60
        await asyncio.sleep(1.5)  # more refreshes and sweeps must change nothing
    finally:
        second.stop()

    ids = [t.id for t in teams]
    assert await Team.filter(id__in=ids, status=TeamStatus.FAILED).count() == 6
    assert await Refund.filter(order__team_id__in=ids).count() == 6
    assert len(fake.refunds) == 6
    assert len(fake.calls_to("/secapi/pay/refund")) == 6  # no refund sent twice
    refunding = await Order.filter(team_id__in=ids, status=OrderStatus.REFUNDING).count()
    assert refunding == 6


async def test_two_scheduler_processes_run_each_job_once(
    database_url: str, redis_url: str, pay_server: Any
) -> None:
    fake, base = pay_server
    env = server_env(
        database_url=database_url,
        redis_url=redis_url,
        api_base=base,
        scheduler_refresh_seconds=0.3,
        sweep_interval_seconds=1,
        outbox_interval_seconds=0.1,
    )
    teams = await _paid_teams(8, datetime.now(tz=UTC) + timedelta(seconds=3))
    one, two = ServerProcess(env, "--role", "scheduler"), ServerProcess(env, "--role", "scheduler")
    await asyncio.gather(one.start(), two.start())
    try:
        assert await _wait_for(lambda: _all_settled(teams, fake), 30)
        await asyncio.sleep(2)
    finally:
        one.stop()
        two.stop()
    ids = [t.id for t in teams]
    assert await Refund.filter(order__team_id__in=ids).count() == 8
    assert len(fake.calls_to("/secapi/pay/refund")) == 8
