"""A leader's daily digest: the day's new questions and reports in their community, to the
leader alone, once a day, from 20:00 local time."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from models.chat import ChatIdentity
from models.user import User
from qunshop.chat import Platform
from tests.journeys.doors import Doors
from tests.support.factories import join, make_community, make_sku


async def test_the_leader_gets_a_daily_digest(doors: Doors) -> None:
    tz = ZoneInfo(doors.settings.timezone)
    morning = datetime.now(tz=tz).replace(hour=9, minute=0, second=0, microsecond=0)
    doors.clock.set(morning)
    community = await make_community(name="阳光花园")
    leader = await User.get(id=community.leader_id)
    await ChatIdentity.create(
        platform=Platform.WECOM_BOT.value, external_id="wang", user=leader, last_seen_at=morning
    )
    sku = await make_sku(community)
    li = await doors.log_in("code-li", "o-mini-li")
    await doors.api(
        "POST", f"/api/v1/products/{sku.product_id}/questions", li, json={"text": "几号到货？"}
    )
    member = await User.get(openid="o-mini-li")
    await join(member, community)
    status, post = await doors.api(
        "POST", f"/api/v1/communities/{community.id}/posts", li, json={"text": "我家的橙子"}
    )
    assert status == 201, post
    for code in ("code-r1", "code-r2"):
        reporter = await doors.log_in(code, f"o-{code}")
        status, _ = await doors.api(
            "POST",
            "/api/v1/reports",
            reporter,
            json={"kind": "post", "ref": post["post"]["id"], "reason": "广告"},
        )
        assert status == 201

    await doors.jobs.sweep(doors.clock.now())  # 09:00: not yet
    await doors.send()
    assert doors.wecom_member_receives("wang") == []
    doors.clock.set(morning.replace(hour=20, minute=5))
    for _ in range(2):
        await doors.jobs.sweep(doors.clock.now())
        await doors.send()
    (digest,) = doors.wecom_member_receives("wang")
    assert "「阳光花园」今日社区动态" in digest
    assert "新提问 1 条：\n1. 几号到货？" in digest
    assert "1. 帖子（2 人举报）" in digest and "我家的橙子" not in digest

    doors.clock.set(morning + timedelta(days=1, hours=12))  # the next evening: nothing new
    await doors.jobs.sweep(doors.clock.now())
    await doors.send()
    assert len(doors.wecom_member_receives("wang")) == 1
