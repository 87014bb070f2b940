"""The clock with many pending deadlines: each one fires at its own time, whether it was known at
start-up or written later, and reminders are not hidden behind teams already reminded."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from models.activity import JobRun, TeamReminder
from models.community import Community
from models.groupbuy import Team, TeamStatus
from qunshop.assembly.app import create_app
from qunshop.assembly.background import CLOCKWORK
from qunshop.keys import CHAT_TEMPLATES, REDIS
from scheduler.jobs import Jobs
from services import groupbuy, reminders
from services.auth import Principal
from tests.support.factories import make_campaign, make_user


async def _team(now: datetime, deadline: datetime) -> Team:
    campaign = await make_campaign(now=now, team_size=3)
    head = await make_user()
    started = await groupbuy.start_team(
        principal=Principal(user_id=head.id, role=head.role), campaign_id=str(campaign.id), now=now
    )
    return await _due_at(started.team, deadline)


async def _due_at(team: Team, deadline: datetime) -> Team:
    await Team.filter(id=team.id).update(deadline_at=deadline)
    return await Team.get(id=team.id)


async def _settled(*teams: Team) -> list[datetime]:
    """Wait (bounded) until every team has settled and its run is recorded; the runs' due times.

    The sweep runs once a minute here, so a run due at a team's own deadline was the deadline
    job pointed at that deadline."""
    for _ in range(1200):  # a bound for a loaded machine, not a measure
        open_ = await Team.filter(id__in=[t.id for t in teams], status=TeamStatus.OPEN).count()
        if not open_ and await JobRun.filter(job="deadline").count() >= len(teams):
            break
        await asyncio.sleep(0.05)
    return list(await JobRun.filter(job="deadline").values_list("due_at", flat=True))


async def test_a_later_deadline_fires_at_its_own_time_after_the_earliest(
    make_settings: Any, start_client: Any
) -> None:
    # No periodic refresh to lean on: the job moves from one deadline to the next by itself.
    settings = make_settings(scheduler_refresh_seconds=3600, sweep_interval_seconds=60)
    client = await start_client(create_app(settings))
    now = datetime.now(tz=UTC)
    first, later, far = [await _team(now, now + timedelta(hours=5)) for _ in range(3)]
    soon = datetime.now(tz=UTC)  # the teams took their time to make: deadlines from here
    first = await _due_at(first, soon + timedelta(seconds=2))
    later = await _due_at(later, soon + timedelta(seconds=4))
    await client.server.app[CLOCKWORK].refresh()  # as at start-up, with these three pending

    due = await _settled(first, later)
    assert first.deadline_at in due and later.deadline_at in due
    assert (await Team.get(id=far.id)).status is TeamStatus.OPEN
    # The job moves on once the fire that settled `later` has finished (a moment after its
    # rows commit): to the far team's head's seat, which lapses first.
    clockwork = client.server.app[CLOCKWORK]
    for _ in range(200):  # a bound for a loaded machine, not a measure
        if clockwork.next_at is not None and clockwork.next_at > later.deadline_at:
            break
        await asyncio.sleep(0.05)
    assert clockwork.next_at is not None and clockwork.next_at > later.deadline_at


async def test_a_new_team_due_sooner_than_everything_held_fires_on_time(
    make_settings: Any, start_client: Any
) -> None:
    settings = make_settings(scheduler_refresh_seconds=0.1, sweep_interval_seconds=60)
    client = await start_client(create_app(settings))
    now = datetime.now(tz=UTC)
    far = await _team(now, now + timedelta(hours=5))
    await client.server.app[CLOCKWORK].refresh()
    held = client.server.app[CLOCKWORK].next_at  # the head's seat lapses first
    assert held is not None and held > now + timedelta(minutes=1)

    soon = await _team(now, datetime.now(tz=UTC) + timedelta(seconds=1))
    due = await _settled(soon)
    assert soon.deadline_at in due
    assert (await Team.get(id=far.id)).status is TeamStatus.OPEN


async def test_a_reminder_is_not_hidden_behind_many_teams_already_reminded(
    client: TestClient, settings: Any
) -> None:
    app = client.server.app
    jobs = Jobs(settings=settings, templates=app[CHAT_TEMPLATES], redis=app[REDIS])
    now = datetime.now(tz=UTC)
    campaign = await make_campaign(now=now, team_size=3, stock_cap=10)  # reminders at 60 and 10
    await Community.filter(id=campaign.community_id).update(robot_key="robot-key-1")
    head = await make_user()
    # 600 teams due within the hour, each reminded at 60 minutes already.
    reminded = [
        Team(
            code=f"R{i:05d}",
            size=3,
            seats_held=0,
            seats_paid=0,
            status=TeamStatus.OPEN,
            deadline_at=now + timedelta(minutes=20, seconds=i),
            campaign_id=campaign.id,
            head_id=head.id,
        )
        for i in range(600)
    ]
    await Team.bulk_create(reminded)
    reminded = await Team.filter(code__startswith="R").order_by("deadline_at")  # earliest first
    await TeamReminder.bulk_create(
        [TeamReminder(team_id=t.id, minutes_before=60, sent_at=now) for t in reminded]
    )
    waiting = await Team.create(
        code="W00001",
        size=3,
        seats_held=0,
        seats_paid=0,
        status=TeamStatus.OPEN,
        deadline_at=now + timedelta(minutes=50),
        campaign_id=campaign.id,
        head_id=head.id,
    )

    await jobs.due(now)
    assert await TeamReminder.filter(team_id=waiting.id, minutes_before=60).exists()
    assert await TeamReminder.all().count() == 601
    # The next reminder the clock waits for: the earliest team's at 10 minutes.
    assert await reminders.next_team_reminder(now) == reminded[0].deadline_at - timedelta(
        minutes=10
    )
