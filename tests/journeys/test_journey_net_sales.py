"""Sales net of refunds, as the leader reads them: a team of two pays, one buyer asks for
all of it back and gets it; the leader's 统计 in the group, and the console's data page
count what stayed paid (services/sales.py), the refund shown beside it."""

from __future__ import annotations

import re

from models.community import Community
from models.user import User
from tests.journeys.doors import Doors
from tests.support.factories import auth, make_campaign, make_community
from tests.web.test_console import _login


async def test_a_refunded_order_is_not_counted_as_a_sale(doors: Doors) -> None:
    community = await make_community()
    await Community.filter(id=community.id).update(chat_id=None)  # not yet bound to a group
    leader = await User.get(id=community.leader_id)
    await doors.leader_binds_chat(leader, sender="wang")
    await doors.leader_binds_group(community, sender="wang")
    await make_campaign(community, team_size=2, group_price=1990, now=doors.clock.now())

    # The leader opens a team in the group; two neighbours join it and pay ¥19.90 each.
    code = await doors.leader_opens_team(sender="wang")
    buyers = []
    for name in ("zhao", "qian"):
        shopper = await doors.log_in(f"code-{name}", f"o-{name}")
        status, seat = await doors.api("POST", f"/api/v1/teams/{code}/join", shopper)
        assert status == 201, seat
        await doors.prepay_and_pay(seat["order"]["id"], shopper)
        buyers.append((shopper, seat["order"]["id"]))
    await doors.send()
    assert "订单 2 笔，成交 ¥39.80，" in await doors.say_in_group("统计", sender="wang")

    # Qian's oranges were rotten: she asks for all of it back, the leader agrees, it is paid.
    shopper, order_id = buyers[1]
    status, sale = await doors.api(
        "POST",
        f"/api/v1/orders/{order_id}/after-sales",
        shopper,
        json={"kind": "refund_only", "reason": "quality", "photos": []},
    )
    assert status == 201, sale
    as_leader = auth(leader, doors.settings, doors.clock.now())
    status, approved = await doors.api(
        "POST", f"/api/v1/after-sales/{sale['id']}/approve", as_leader
    )
    assert status == 200, approved
    await doors.send()
    await doors.refunds_done()
    await doors.send()

    # 统计: the order was paid today, but its money went back: ¥19.90 of sales, not ¥39.80.
    stats = await doors.say_in_group("统计", sender="wang")
    assert "成交 ¥19.90（已扣退款 ¥19.90）" in stats, stats

    # The console's data page, after the clock's rollup: the same figure.
    await doors.jobs.roll_up(doors.clock.now())
    link = re.search(r"http\S+/console/login\?token=\S+", await doors.say_alone("后台", "wang"))
    assert link is not None
    cookies = await _login(doors.client, link.group(0))
    page = await (await doors.client.get("/console/stats", headers={"Cookie": cookies})).text()
    assert 'data-net="1990"' in page and "成交额 ¥19.90" in page, page
    assert "退款 1 笔 ¥19.90" in page
