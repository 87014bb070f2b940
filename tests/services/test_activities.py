"""Scheduled activities, called directly with an explicit ``now``: every timer, every refusal."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from models.activity import Activity, ActivityKind, ActivityRun, JobRun
from models.community import Community
from models.outbox import OutboxMessage
from models.user import Role, User
from qunshop.errors import Conflict, ErrorCode, Forbidden, Invalid, NotFound
from qunshop.keys import REDIS
from services import activities, deadlines, notify
from services.activities import Draft
from services.auth import Principal
from tests.support.factories import make_community, make_user

pytestmark = pytest.mark.usefixtures("client")

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)  # Monday 08:30 in Shanghai
NINE = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai


@pytest.fixture
def redis(client: TestClient) -> Redis:
    return client.server.app[REDIS]


def who(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.role)


async def _community(timezone: str = "Asia/Shanghai") -> tuple[Community, User]:
    community = await make_community()
    await Community.filter(id=community.id).update(robot_key="robot-1", timezone=timezone)
    return await Community.get(id=community.id), await community.leader


def render(firing: activities.Firing) -> dict[str, Any]:
    if firing.text == "boom":
        raise RuntimeError("the template is broken")
    return notify.text(f"{firing.activity.kind.value}: {firing.text}")


async def _schedule(community: Community, leader: User, **draft: Any) -> Activity:
    draft.setdefault("kind", ActivityKind.ANNOUNCEMENT)
    draft.setdefault("text", "明早到货")
    view = await activities.create_activity(
        principal=who(leader), community_id=community.id, draft=Draft(**draft), now=NOW
    )
    return view.activity


async def _sent() -> list[str]:
    rows = await OutboxMessage.filter(kind=notify.KIND).order_by("created_at")
    return [row.payload["message"]["text"] for row in rows]


def _error_type(exc: pytest.ExceptionInfo[Invalid]) -> str:
    return exc.value.extra["errors"][0]["type"]


async def test_cron_runs_in_the_community_time_zone() -> None:
    community, leader = await _community()
    daily = await _schedule(community, leader, cron="0 9 * * *")
    assert daily.next_run_at == NINE
    assert daily.next_run_at.astimezone(SHANGHAI).hour == 9
    # Standard crontab weekdays: 1 is Monday, 0 and 7 are Sunday (APScheduler 3 differs).
    monday = await _schedule(community, leader, cron="30 8 * * 1")
    assert monday.next_run_at == datetime(2026, 3, 9, 0, 30, tzinfo=UTC)  # 08:30 is now: next week
    sunday = await _schedule(community, leader, cron="0 20 * * 0")
    assert sunday.next_run_at.astimezone(SHANGHAI) == datetime(2026, 3, 8, 20, 0, tzinfo=SHANGHAI)
    london, its_leader = await _community("Europe/London")
    there = await _schedule(london, its_leader, cron="0 9 * * *")
    assert there.next_run_at == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert await deadlines.next_due(NOW) == NINE


async def test_bad_input_is_refused_clearly() -> None:
    community, leader = await _community()
    for cron in ("61 * * * *", "every day at nine", "0 9 31 2 *", "0 9 * * 8"):
        with pytest.raises(Invalid) as bad:
            await _schedule(community, leader, cron=cron)
        assert _error_type(bad) == "invalid_cron" and bad.value.code is ErrorCode.VALIDATION_FAILED
    with pytest.raises(Invalid) as past:
        await _schedule(community, leader, run_at=NOW - timedelta(minutes=1))
    assert _error_type(past) == "in_the_past" and "passed" in past.value.detail
    with pytest.raises(Invalid) as both:
        await _schedule(community, leader, run_at=NOW + timedelta(hours=1), cron="0 9 * * *")
    assert _error_type(both) == "schedule_required"
    with pytest.raises(Invalid) as empty:
        await _schedule(community, leader, cron="0 9 * * *", text="  ")
    assert _error_type(empty) == "text_required"
    with pytest.raises(Invalid) as recurring_sale:
        await _schedule(community, leader, kind=ActivityKind.FLASH_SALE, cron="0 9 * * *")
    assert _error_type(recurring_sale) == "flash_sale_once"
    assert await Activity.all().count() == 0


async def test_someone_elses_community_is_refused(redis: Redis) -> None:
    community, leader = await _community()
    other_leader = await make_user(Role.LEADER)
    await make_community(other_leader)
    for outsider in (other_leader, await make_user()):
        with pytest.raises(Forbidden) as refused:
            await _schedule(community, outsider, cron="0 9 * * *")
        assert refused.value.code is ErrorCode.NOT_COMMUNITY_LEADER
    mine = await _schedule(community, leader, cron="0 9 * * *")
    ids = {"community_id": community.id, "activity_id": mine.id, "redis": redis}
    with pytest.raises(Forbidden):
        await activities.cancel_activity(principal=who(other_leader), now=NOW, **ids)
    with pytest.raises(Forbidden):
        await activities.edit_activity(principal=who(other_leader), now=NOW, text="x", **ids)
    admin = await make_user(Role.ADMIN)
    await _schedule(community, admin, cron="0 10 * * *")
    # an activity looked up under another community is not found there
    theirs = await Community.get(leader_id=other_leader.id)
    with pytest.raises(NotFound):
        await activities.get_activity(
            principal=who(other_leader), community_id=theirs.id, activity_id=mine.id
        )
    assert await Activity.filter(active=True).count() == 2


async def test_a_one_off_fires_once_then_stops() -> None:
    community, leader = await _community()
    once = await _schedule(community, leader, run_at=NINE)
    assert await activities.run_due(now=NOW, render=render) == 0
    assert await activities.run_due(now=NINE, render=render) == 1
    assert await activities.run_due(now=NINE, render=render) == 0
    assert await activities.run_due(now=NINE + timedelta(days=1), render=render) == 0
    assert await _sent() == ["announcement: 明早到货"]
    fresh = await Activity.get(id=once.id)
    assert fresh.next_run_at is None and fresh.last_run_at == NINE and fresh.active
    assert await ActivityRun.filter(activity_id=once.id).count() == 1
    outbox = await OutboxMessage.get(kind=notify.KIND)
    assert outbox.payload["via"] == notify.VIA_ROBOT and outbox.payload["key"] == "robot-1"


async def test_a_cron_fires_at_each_occurrence() -> None:
    community, leader = await _community()
    daily = await _schedule(community, leader, cron="0 9 * * *")
    assert await activities.run_due(now=NINE - timedelta(seconds=1), render=render) == 0
    assert await activities.run_due(now=NINE, render=render) == 1
    assert (await Activity.get(id=daily.id)).next_run_at == NINE + timedelta(days=1)
    assert await activities.run_due(now=NINE + timedelta(seconds=30), render=render) == 0
    assert await activities.run_due(now=NINE + timedelta(days=1, seconds=2), render=render) == 1
    runs = await ActivityRun.filter(activity_id=daily.id).order_by("due_at")
    assert [r.due_at for r in runs] == [NINE, NINE + timedelta(days=1)]


async def test_deadlines_passed_while_down_fire_once_coalesced() -> None:
    community, leader = await _community()
    daily = await _schedule(community, leader, cron="0 9 * * *")
    once = await _schedule(community, leader, run_at=NINE + timedelta(hours=2), text="一次")
    back = NINE + timedelta(days=3, hours=5)  # down for three days and a bit
    assert await activities.run_due(now=back, render=render) == 2
    assert sorted(await _sent()) == ["announcement: 一次", "announcement: 明早到货"]
    assert await ActivityRun.filter(activity_id=daily.id).count() == 1  # not one per missed day
    assert (await Activity.get(id=daily.id)).next_run_at == NINE + timedelta(days=4)
    assert (await Activity.get(id=once.id)).next_run_at is None
    assert await activities.run_due(now=back + timedelta(minutes=1), render=render) == 0


async def test_editing_reschedules(redis: Redis) -> None:
    community, leader = await _community()
    made = await _schedule(community, leader, run_at=NINE)
    ids = {"community_id": community.id, "activity_id": made.id, "redis": redis}
    later = NINE + timedelta(hours=3)
    view = await activities.edit_activity(principal=who(leader), now=NOW, run_at=later, **ids)
    assert view.activity.next_run_at == later and view.activity.run_at == later
    assert await activities.run_due(now=NINE, render=render) == 0
    view = await activities.edit_activity(principal=who(leader), now=NOW, text="改了", **ids)
    assert view.activity.next_run_at == later  # words only: the schedule stays
    assert await activities.run_due(now=later, render=render) == 1
    assert await _sent() == ["announcement: 改了"]
    # a fired one-off given a cron becomes recurring
    view = await activities.edit_activity(principal=who(leader), now=later, cron="0 9 * * *", **ids)
    assert view.activity.cron == "0 9 * * *" and view.activity.run_at is None
    assert view.activity.next_run_at == NINE + timedelta(days=1)
    with pytest.raises(Invalid) as bad:
        await activities.edit_activity(principal=who(leader), now=later, cron="0 25 * * *", **ids)
    assert _error_type(bad) == "invalid_cron"
    with pytest.raises(Invalid) as past:
        await activities.edit_activity(principal=who(leader), now=later, run_at=NOW, **ids)
    assert _error_type(past) == "in_the_past"
    assert (await Activity.get(id=made.id)).next_run_at == NINE + timedelta(days=1)


async def test_cancelling_stops_it(redis: Redis) -> None:
    community, leader = await _community()
    daily = await _schedule(community, leader, cron="0 9 * * *")
    ids = {"community_id": community.id, "activity_id": daily.id, "redis": redis}
    assert (
        len(await activities.list_activities(principal=who(leader), community_id=community.id)) == 1
    )
    view = await activities.cancel_activity(principal=who(leader), now=NOW, **ids)
    assert not view.activity.active and view.activity.next_run_at is None
    assert await activities.run_due(now=NINE + timedelta(days=2), render=render) == 0
    assert await _sent() == []
    assert await activities.list_activities(principal=who(leader), community_id=community.id) == []
    everything = await activities.list_activities(
        principal=who(leader), community_id=community.id, upcoming_only=False
    )
    assert [v.activity.id for v in everything] == [daily.id]
    with pytest.raises(Conflict):
        await activities.edit_activity(principal=who(leader), now=NOW, text="again", **ids)
    await activities.cancel_activity(principal=who(leader), now=NOW, **ids)  # idempotent
    assert await deadlines.next_due(NOW) is None


async def test_a_failing_activity_is_retried_with_backoff_and_stops_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    community, leader = await _community()
    broken = await _schedule(community, leader, cron="0 9 * * *", text="boom")
    fine = await _schedule(community, leader, cron="0 9 * * *", text="fine")
    with caplog.at_level(logging.ERROR, logger="services.activities"):
        assert await activities.run_due(now=NINE, render=render) == 1
    assert str(broken.id) in caplog.text
    assert await _sent() == ["announcement: fine"]  # the failure queued nothing
    assert (await Activity.get(id=broken.id)).next_run_at == NINE + timedelta(minutes=1)
    assert (await Activity.get(id=fine.id)).next_run_at == NINE + timedelta(days=1)
    failed = await JobRun.get(job=f"activity:{broken.id}")
    assert not failed.ok and "template is broken" in failed.error
    # 1, 2, 4 ... minutes
    at = NINE + timedelta(minutes=1)
    await activities.run_due(now=at, render=render)
    assert (await Activity.get(id=broken.id)).next_run_at == at + timedelta(minutes=2)
    # mended: it fires once, and the next failure starts again at a minute
    await Activity.filter(id=broken.id).update(payload={"text": "mended", "failures": 2})
    at += timedelta(minutes=2)
    assert await activities.run_due(now=at, render=render) == 1
    fresh = await Activity.get(id=broken.id)
    assert fresh.next_run_at == NINE + timedelta(days=1) and "failures" not in fresh.payload
    assert await ActivityRun.filter(activity_id=broken.id).count() == 1


async def test_a_firing_that_keeps_failing_is_given_up() -> None:
    community, leader = await _community()
    daily = await _schedule(community, leader, cron="0 9 * * *", text="boom")
    once = await _schedule(community, leader, run_at=NINE, text="boom")
    at = NINE
    for _ in range(activities.RETRY_ATTEMPTS):
        await activities.run_due(now=at, render=render)
        at = max((await Activity.get(id=once.id)).next_run_at or at, at)
    assert (await Activity.get(id=once.id)).next_run_at is None  # given up, logged
    # the recurring one skips to its next occurrence
    assert (await Activity.get(id=daily.id)).next_run_at == NINE + timedelta(days=1)
    assert await JobRun.filter(job=f"activity:{daily.id}", ok=False).count() == 6
    assert await ActivityRun.all().count() == 0


async def test_two_schedulers_fire_each_firing_once() -> None:
    community, leader = await _community()
    await _schedule(community, leader, cron="0 9 * * *")
    fired = await asyncio.gather(*(activities.run_due(now=NINE, render=render) for _ in range(5)))
    assert sum(fired) == 1
    assert await ActivityRun.all().count() == 1
    assert len(await _sent()) == 1


async def test_a_group_without_robot_is_skipped_not_failed() -> None:
    community, leader = await _community()
    await Community.filter(id=community.id).update(robot_key=None)
    made = await _schedule(community, leader, run_at=NINE)
    assert await activities.run_due(now=NINE, render=render) == 1
    assert await _sent() == []
    assert (await Activity.get(id=made.id)).next_run_at is None
