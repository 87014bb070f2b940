"""The demo shop as the README walks it: when the demo team fills, the group hears 成团."""

from __future__ import annotations

from datetime import timedelta

from models.groupbuy import Team
from models.order import Order
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from services import demo
from tests.journeys.doors import Doors


async def test_the_demo_group_hears_its_team_succeed(
    doors: Doors, settings: Settings, clock: FrozenClock
) -> None:
    await demo.seed(settings=settings)  # on the wall clock: the campaign starts now
    clock.advance(timedelta(minutes=1))
    team = await Team.get()
    head = await doors.log_in("code-head", "demo-shopper")
    (order,) = await Order.filter(team_id=team.id)
    await doors.prepay_and_pay(str(order.id), head)
    for name in ("li", "wang"):
        shopper = await doors.log_in(f"code-{name}", f"o-{name}")
        status, joined = await doors.api(
            "POST", f"/api/v1/teams/{team.code}/join", shopper, json={}
        )
        assert status == 201, joined
        await doors.prepay_and_pay(joined["order"]["id"], shopper)
    await doors.send()
    heard = [
        m["text"]["content"] for _, m in doors.wechat.robot_messages.get(demo.DEMO_ROBOT_KEY, [])
    ]
    assert any("成团" in text and team.code in text for text in heard), heard
