"""The dashboards' funnel: of the orders placed, those paid, of those the ones picked up; each
step a subset of the one before, so no step shows more than 100 % of the one before it.

The old funnel set ``paid`` (orders paid that day) beside ``joined`` (orders placed that day):
a team filled at 23:50 and paid at 00:05 was placed one day and paid the next, so the next
day showed more paid than placed. And a pickup days after the order lands on the day the
order was placed, however long ago the clock's rollup last read that day.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from models.order import Order
from models.user import User
from qunshop.config import Settings
from services import dashboards, pickup, rollups
from tests.services.test_rollups import Week
from tests.support.factories import make_campaign, make_community, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.web.world import who

TZ = ZoneInfo("Asia/Shanghai")


def shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=TZ).astimezone(UTC)


@pytest.mark.usefixtures("api")  # the app opens the ORM
async def test_each_step_is_a_subset_of_the_one_before(
    settings: Settings, wechat: FakeWeChat
) -> None:
    community = await make_community()
    leader = who(await User.get(id=community.leader_id))
    campaign = await make_campaign(community, team_size=2, now=shanghai(2, 10))
    week = Week(settings, wechat)  # orders placed in the past: a join's created_at is the
    # wall clock's (services/join_sql.py), so no door places an order on a day of our choosing

    async def order(placed: datetime, paid: datetime | None = None) -> Order:
        return await week.order(
            await make_user(), campaign, campaign.sku, community, placed=placed, paid=paid
        )

    # 2 March, 23:50: a team of two fills; they pay five minutes after midnight. A third
    # person opens a team at 23:55 and never pays.
    late = [await order(shanghai(2, 23, 50), shanghai(3, 0, 5)) for _ in range(2)]
    await order(shanghai(2, 23, 55))
    # 3 March, 10:00: another team of two fills and pays.
    for _ in range(2):
        await order(shanghai(3, 10), shanghai(3, 10, 5))
    await rollups.refresh(now=shanghai(3, 23, 59), tz=TZ)

    board = await dashboards.community_dashboard(
        principal=leader, community_id=str(community.id), days=1, now=shanghai(3, 12), tz=TZ
    )
    t = board.totals
    # The day's events, as before: 2 orders placed, 4 paid (the old funnel's 200 %).
    assert (t["joined"], t["paid"]) == (2, 4)
    # The funnel: of the 2 placed that day, 2 paid; none picked up yet.
    assert (t["joined"], t["joined_paid"], t["joined_picked_up"]) == (2, 2, 0)
    assert (t["joined_paid_rate"], t["joined_picked_up_rate"]) == (1.0, 0.0)

    # 6 March: the goods arrive and the late team's head picks up. The clock's run that day
    # reads 5 and 6 March, yet the pickup counts on 2 March, when the order was placed.
    await pickup.arrived(principal=leader, community_id=str(community.id), now=shanghai(6, 9))
    code = (await Order.get(id=late[0].id)).pickup_code
    assert code is not None
    await pickup.verify(principal=leader, code=code, now=shanghai(6, 10))
    await rollups.refresh(now=shanghai(6, 23, 59), tz=TZ)

    board = await dashboards.community_dashboard(
        principal=leader, community_id=str(community.id), days=7, now=shanghai(6, 12), tz=TZ
    )
    t = board.totals
    assert (t["joined"], t["joined_paid"], t["joined_picked_up"]) == (5, 4, 1)
    by_day = {
        d["day"].day: (d["joined"], d["joined_paid"], d["joined_picked_up"]) for d in board.days
    }
    assert by_day[2] == (3, 2, 1) and by_day[3] == (2, 2, 0)
    for day in board.days:  # every day's funnel nests too
        assert day["joined"] >= day["joined_paid"] >= day["joined_picked_up"]
