"""Followers hear of a new campaign by their consent: a subscribe message each, once."""

from __future__ import annotations

from datetime import timedelta

from models.user import User
from tests.journeys.doors import Doors
from tests.support.factories import auth, make_community, make_sku


async def test_followers_who_consented_hear_of_a_new_campaign(doors: Doors) -> None:
    community = await make_community(name="阳光花园")
    leader = await User.get(id=community.leader_id)
    sku = await make_sku(community, price=3990, stock=100)
    template = doors.settings.subscribe_template_new_campaign

    fan = await doors.log_in("code-fan", "o-mini-fan")  # follows the community, consents
    status, _ = await doors.api(
        "POST", "/api/v1/me/follows", fan, json={"community_id": str(community.id)}
    )
    assert status == 201
    await doors.api("POST", "/api/v1/me/subscriptions", fan, json={"template_ids": [template]})
    both = await doors.log_in("code-both", "o-mini-both")  # follows leader and community
    for body in ({"leader_id": str(leader.id)}, {"community_id": str(community.id)}):
        await doors.api("POST", "/api/v1/me/follows", both, json=body)
    await doors.api("POST", "/api/v1/me/subscriptions", both, json={"template_ids": [template]})
    quiet = await doors.log_in("code-quiet", "o-mini-quiet")  # follows, never consented
    await doors.api("POST", "/api/v1/me/follows", quiet, json={"community_id": str(community.id)})

    now = doors.clock.now()
    status, made = await doors.api(
        "POST",
        "/api/v1/campaigns",
        auth(leader, doors.settings, now),
        json={
            "community_id": str(community.id),
            "sku_id": str(sku.id),
            "title": "赣南脐橙",
            "group_price": 2990,
            "team_size": 3,
            "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(days=2)).isoformat(),
            "stock_cap": 30,
        },
    )
    assert status == 201, made
    await doors.send()
    await doors.send()
    expected = {"thing1": "赣南脐橙", "amount2": "¥29.90", "thing3": "阳光花园"}
    assert doors.mini_user_receives("o-mini-fan") == [(template, expected)]
    assert doors.mini_user_receives("o-mini-both") == [(template, expected)]  # once, not twice
    assert doors.mini_user_receives("o-mini-quiet") == []
    (sent,) = [m for m in doors.wechat.subscribe_messages if m["touser"] == "o-mini-fan"]
    assert sent["page"] == f"pages/campaign/index?id={made['id']}"
