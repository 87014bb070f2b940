"""Members who accepted the reminder template get a subscribe message, one per consent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from models.activity import SubscribeConsent
from models.community import Community
from models.outbox import OutboxMessage
from qunshop.keys import CHAT_TEMPLATES, REDIS
from scheduler.jobs import Jobs
from services import groupbuy
from services.auth import Principal
from tests.support.factories import auth, make_campaign, make_user


async def test_reminder_subscribe_messages_spend_consent(client: TestClient, settings: Any) -> None:
    app = client.server.app
    jobs = Jobs(settings=settings, templates=app[CHAT_TEMPLATES], redis=app[REDIS])
    now = datetime.now(tz=UTC)
    # seats held long enough to still be there at the reminders
    campaign = await make_campaign(team_size=3, team_hours=2, reservation_minutes=120, now=now)
    await Community.filter(id=campaign.community_id).update(robot_key="robot-1")
    head, member, quiet = await make_user(), await make_user(), await make_user()
    started = await groupbuy.start_team(
        principal=Principal(user_id=head.id, role=head.role), campaign_id=str(campaign.id), now=now
    )
    await groupbuy.join_team(
        principal=Principal(user_id=quiet.id, role=quiet.role), team_ref=started.team.code, now=now
    )
    await groupbuy.join_team(
        principal=Principal(user_id=member.id, role=member.role),
        team_ref=started.team.code,
        now=now,
    )
    # head accepts the template twice (two messages), member once, quiet never
    for user, times in ((head, 2), (member, 1)):
        for _ in range(times):
            resp = await client.post(
                "/api/v1/me/subscriptions",
                json={"template_ids": ["team-reminder"]},
                headers=auth(user, settings),
            )
            assert resp.status == 200
    assert (await resp.json())["remaining"] == {"team-reminder": 1}

    deadline = started.team.deadline_at
    await jobs.due(deadline - timedelta(minutes=55))
    await jobs.due(deadline - timedelta(minutes=5))
    subs = await OutboxMessage.filter(dedupe_key__startswith="notify:subscribe").all()
    sent_to = sorted(m.payload["to"] for m in subs)
    # head: 60- and 10-minute reminders (two consents); member: the first only; quiet: none
    assert sent_to == sorted([head.openid, head.openid, member.openid])
    assert all(m.payload["template_id"] == "team-reminder" for m in subs)
    assert subs[0].payload["data"]["number2"] == {"value": "3"}
    remaining = dict(await SubscribeConsent.all().values_list("user_id", "remaining"))
    assert remaining == {head.id: 0, member.id: 0}
