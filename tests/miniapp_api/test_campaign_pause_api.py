"""A leader pauses, resumes and closes a campaign through the API; joins follow at once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from models.groupbuy import Campaign, Seat
from models.user import Role
from qunshop.assembly.app import create_app
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from tests.support.factories import auth, make_campaign, make_community, make_user


async def test_pause_resume_close(settings: Settings, start_client: Any) -> None:
    clock = FrozenClock(datetime.now(tz=UTC))
    client = await start_client(create_app(settings, clock=clock, background=False))
    leader = await make_user(Role.LEADER)
    campaign = await make_campaign(await make_community(leader), now=clock.now())
    as_leader = auth(leader, settings, now=clock.now())

    async def post(path: str, user: Any = None, **kw: Any) -> tuple[int, Any]:
        headers = as_leader if user is None else auth(user, settings, now=clock.now())
        resp = await client.post(path, headers=headers, **kw)
        return resp.status, await resp.json()

    status, started = await post(
        f"/api/v1/campaigns/{campaign.id}/teams", await make_user(), json={}
    )
    assert status == 201
    code = started["team"]["code"]

    status, paused = await post(f"/api/v1/campaigns/{campaign.id}/pause")
    assert status == 200 and paused["paused_at"] is not None
    assert (await post(f"/api/v1/campaigns/{campaign.id}/pause"))[0] == 200  # twice is once
    # Paused: the join function refuses with its own code, and no team starts either.
    member = await make_user()
    status, refused = await post(f"/api/v1/teams/{code}/join", member, json={})
    assert (status, refused["code"]) == (409, "campaign_paused")
    status, refused = await post(f"/api/v1/campaigns/{campaign.id}/teams", member, json={})
    assert (status, refused["code"]) == (409, "campaign_paused")
    assert await Seat.filter(user_id=member.id).count() == 0
    listed = await client.get(f"/api/v1/campaigns?community_id={campaign.community_id}")
    assert (await listed.json())["items"] == []

    status, resumed = await post(f"/api/v1/campaigns/{campaign.id}/resume")
    assert status == 200 and resumed["paused_at"] is None
    assert (await post(f"/api/v1/teams/{code}/join", member, json={}))[0] == 201

    # Another community's leader and a shopper may not touch it.
    stranger = await make_user(Role.LEADER)
    status, body = await post(f"/api/v1/campaigns/{campaign.id}/close", stranger)
    assert (status, body["code"]) == (403, "not_community_leader")
    assert (await post(f"/api/v1/campaigns/{campaign.id}/close", await make_user()))[0] == 403

    status, closed = await post(f"/api/v1/campaigns/{campaign.id}/close")
    assert status == 200
    assert datetime.fromisoformat(closed["ends_at"]) == clock.now()
    late = await make_user()
    status, refused = await post(f"/api/v1/teams/{code}/join", late, json={})
    assert (status, refused["code"]) == (409, "campaign_not_active")
    status, refused = await post(f"/api/v1/campaigns/{campaign.id}/pause")
    assert (status, refused["code"]) == (409, "campaign_not_active")
    assert (await Campaign.get(id=campaign.id)).ends_at == clock.now()
    assert (await post("/api/v1/campaigns/nope/close"))[0] == 404
