"""Sales net of refunds, as the leader reads them: a team of two pays, one buyer asks for
all of it back and gets it; the leader's 统计 in the group, the console's data page and its
home page's per-group table count what stayed paid (services/sales.py), the refund shown
beside it."""

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

    # The leader opens a team in the group; Li Si joins it there and pays in the mini-program
    # with the link she is sent; Zhao joins in the mini-program. ¥19.90 each.
    code = await doors.leader_opens_team(sender="wang")
    await doors.say_in_group(f"参团 {code}", sender="li-si")
    await doors.send()
    (token,) = set(re.findall(r"token=([A-Za-z0-9_-]+)", doors.wecom_member_receives("li-si")[0]))
    shopper = await doors.log_in("code-lisi", "o-lisi")
    status, _ = await doors.api("POST", "/api/v1/me/links", shopper, json={"token": token})
    assert status == 200
    status, mine = await doors.api("GET", "/api/v1/orders", shopper)
    order_id = mine["items"][0]["id"]
    await doors.prepay_and_pay(order_id, shopper)
    zhao = await doors.log_in("code-zhao", "o-zhao")
    status, seat = await doors.api("POST", f"/api/v1/teams/{code}/join", zhao)
    assert status == 201, seat
    await doors.prepay_and_pay(seat["order"]["id"], zhao)
    await doors.send()
    assert "订单 2 笔，成交 ¥39.80，" in await doors.say_in_group("统计", sender="wang")

    # Li Si's oranges were rotten: she asks for all of it back, the leader agrees, it is paid.
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
    # The home page's per-group table: the group's order was refunded, so nothing sold there.
    home = await (await doors.client.get("/console", headers={"Cookie": cookies})).text()
    # The group the leader bound is named by the community's name (make_community's).
    (row,) = re.findall(r'<tr><td data-label="群">测试社区</td>.*?</tr>', home)
    assert 'data-net="0"' in row and "退 ¥19.90" in row, row
