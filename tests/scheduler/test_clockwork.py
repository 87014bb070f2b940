from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from models.activity import JobRun, TeamReminder
from models.community import Community
from models.groupbuy import Team, TeamStatus
from models.order import Order, OrderStatus
from models.outbox import OutboxMessage
from models.user import Role, User
from qunshop.assembly.app import create_app
from qunshop.assembly.background import CLOCKWORK
from qunshop.clock import FrozenClock
from qunshop.keys import CHAT_TEMPLATES, REDIS
from scheduler.clockwork import Clockwork
from scheduler.jobs import Jobs
from services import groupbuy, news, pickup
from services.auth import Principal
from tests.support.factories import auth, make_campaign, make_community, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.support.growth import paid_order, principal_of


async def _team(now: datetime, **campaign: Any) -> Team:
    made = await make_campaign(now=now, **campaign)
    head = await make_user()
    started = await groupbuy.start_team(
        principal=Principal(user_id=head.id, role=head.role), campaign_id=str(made.id), now=now
    )
    return started.team


async def test_deadline_job_fires_on_time(make_settings: Any, start_client: Any) -> None:
    settings = make_settings(scheduler_refresh_seconds=0.1, sweep_interval_seconds=60)
    client = await start_client(create_app(settings))
    now = datetime.now(tz=UTC)
    team = await _team(now, team_size=3)
    await Team.filter(id=team.id).update(deadline_at=now + timedelta(seconds=1))
    # The job's run is recorded as its last step, after the team's settlement committed: wait
    # for that record, not for the team, or the record may still be on its way. How soon it
    # fires is the benchmark's to measure; this only bounds the wait.
    for _ in range(600):
        if await JobRun.exists(job="deadline"):
            break
        await asyncio.sleep(0.05)
    run = await JobRun.filter(job="deadline").first()
    assert run is not None and run.ok
    assert (await Team.get(id=team.id)).status is TeamStatus.FAILED
    assert client.server.app[CLOCKWORK].scheduler.running


async def test_two_schedulers_run_each_job_once(client: TestClient, settings: Any) -> None:
    app = client.server.app
    calls: list[str] = []
    started = asyncio.Event()

    async def slow(now: datetime) -> None:
        calls.append("ran")
        started.set()
        await asyncio.sleep(0.2)

    def clockwork() -> Clockwork:
        return Clockwork(
            redis=app[REDIS],
            settings=settings,
            clock=FrozenClock(datetime.now(tz=UTC)),
            due=slow,
            sweep=slow,
        )

    first, second = clockwork(), clockwork()
    results = await asyncio.gather(
        first.run_locked("deadline", datetime.now(tz=UTC), slow),
        second.run_locked("deadline", datetime.now(tz=UTC), slow),
    )
    assert sorted(results) == [False, True]
    assert calls == ["ran"]


@pytest.fixture
def jobs(client: TestClient, settings: Any) -> Jobs:
    app = client.server.app
    return Jobs(settings=settings, templates=app[CHAT_TEMPLATES], redis=app[REDIS])


async def test_reminders_post_once_per_offset(jobs: Jobs) -> None:
    now = datetime.now(tz=UTC)
    team = await _team(now, team_size=3, team_hours=2)
    campaign = await team.campaign
    await Community.filter(id=campaign.community_id).update(robot_key="robot-key-1")

    await jobs.due(now)  # two hours before: nothing due
    assert await TeamReminder.all().count() == 0

    at_55 = team.deadline_at - timedelta(minutes=55)
    await jobs.due(at_55)
    await jobs.due(at_55 + timedelta(seconds=30))
    assert await TeamReminder.filter(team_id=team.id).count() == 1
    sends = await OutboxMessage.filter(kind="chat.send").all()
    assert len(sends) == 1
    message = sends[0].payload["message"]
    assert "还差 3 人" in message["title"] and team.code in message["button_text"]
    assert message["description"].startswith("55 分钟后")  # what is left, not the offset

    at_5 = team.deadline_at - timedelta(minutes=5)
    await jobs.due(at_5)
    await jobs.due(at_5)
    assert sorted(
        await TeamReminder.filter(team_id=team.id).values_list("minutes_before", flat=True)
    ) == [10, 60]
    assert await OutboxMessage.filter(kind="chat.send").count() == 2


async def test_missed_reminders_are_not_posted_late(jobs: Jobs) -> None:
    now = datetime.now(tz=UTC)
    team = await _team(now, team_size=3, team_hours=2)
    campaign = await team.campaign
    await Community.filter(id=campaign.community_id).update(robot_key="robot-key-1")
    # the server was down through both reminder times; 3 minutes are left
    await jobs.due(team.deadline_at - timedelta(minutes=3))
    assert await OutboxMessage.filter(kind="chat.send").count() == 1
    message = (await OutboxMessage.get(kind="chat.send")).payload["message"]
    assert message["description"].startswith("3 分钟后"), message  # not 「10 分钟后」
    assert await TeamReminder.filter(team_id=team.id).count() == 2


async def test_deadlines_missed_while_down_are_settled(jobs: Jobs) -> None:
    now = datetime.now(tz=UTC)
    team = await _team(now, team_size=3, team_hours=1)
    order = await Order.get(team_id=team.id)
    later = now + timedelta(hours=5)
    await jobs.due(later)
    assert (await Team.get(id=team.id)).status is TeamStatus.FAILED
    assert (await Order.get(id=order.id)).status is OrderStatus.CANCELLED


async def test_pickup_reminder_daily_and_auto_complete(
    jobs: Jobs, settings: Any, wechat: FakeWeChat
) -> None:
    now = datetime.now(tz=UTC)
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    order = await paid_order(settings, wechat, await make_user(), community)
    await pickup.arrived(principal=principal_of(leader), community_id=None, now=now)
    reminded = OutboxMessage.filter(kind=news.KIND, dedupe_key__startswith="news:pickup_reminder:")

    await jobs.sweep(now)
    await jobs.sweep(now + timedelta(hours=2))
    assert await reminded.count() == 0  # the arrival news was today's word
    await jobs.sweep(now + timedelta(hours=25))
    await jobs.sweep(now + timedelta(hours=26))
    assert await reminded.count() == 1
    await jobs.sweep(now + timedelta(hours=49))
    assert await reminded.count() == 2

    code = (await Order.get(id=order.id)).pickup_code or ""
    picked_at = now + timedelta(hours=50)
    await pickup.verify(principal=principal_of(leader), code=code, now=picked_at)
    await jobs.sweep(picked_at + timedelta(days=6))
    assert (await Order.get(id=order.id)).status is OrderStatus.PICKED_UP
    await jobs.sweep(picked_at + timedelta(days=7, minutes=1))
    assert (await Order.get(id=order.id)).status is OrderStatus.COMPLETED
    await jobs.sweep(picked_at + timedelta(days=9))
    assert await reminded.count() == 2  # picked up: no more reminders


async def test_admin_scheduler_report(client: TestClient, settings: Any) -> None:
    admin, shopper = await make_user(Role.ADMIN), await make_user()
    now = datetime.now(tz=UTC)
    await JobRun.create(job="deadline", due_at=now, ran_at=now, lag_ms=120)
    await JobRun.create(job="deadline", due_at=now, ran_at=now, lag_ms=40)
    resp = await client.get("/api/v1/admin/scheduler", headers=auth(admin, settings))
    assert resp.status == 200
    body = await resp.json()
    assert body["runs_last_hour"] == 2 and body["lag_ms_max"] == 120
    assert body["scheduler_alive"] is False  # the test app runs no clock
    resp = await client.get("/api/v1/admin/scheduler", headers=auth(shopper, settings))
    assert resp.status == 403
