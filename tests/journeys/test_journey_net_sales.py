"""Sales net of refunds, as the leader reads them: a team of two pays, one buyer asks for
all of it back and gets it; the leader's 统计 in the group, the console's data page and its
home page's per-group table count what stayed paid (services/sales.py), the refund shown
beside it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from models.community import Community
from models.order import Order
from models.payment import Refund
from models.user import User
from tests.journeys.doors import Doors
from tests.support.factories import auth, make_campaign, make_community
from tests.web.test_console import _login


async def _a_team_of_two_pays(doors: Doors) -> tuple[dict[str, str], str, dict[str, str]]:
    """The leader opens a team in the group; Li Si joins it there and pays in the
    mini-program with the link she is sent; Zhao joins in the mini-program and pays. Li Si's
    headers and order, Zhao's headers."""
    code = await doors.leader_opens_team(sender="wang")
    await doors.say_in_group(f"参团 {code}", sender="li-si")
    await doors.send()
    (token,) = set(re.findall(r"token=([A-Za-z0-9_-]+)", doors.wecom_member_receives("li-si")[0]))
    li_si = await doors.log_in("code-lisi", "o-lisi")
    status, _ = await doors.api("POST", "/api/v1/me/links", li_si, json={"token": token})
    assert status == 200
    status, mine = await doors.api("GET", "/api/v1/orders", li_si)
    first = mine["items"][0]["id"]
    await doors.prepay_and_pay(first, li_si)
    zhao = await doors.log_in("code-zhao", "o-zhao")
    status, seat = await doors.api("POST", f"/api/v1/teams/{code}/join", zhao)
    assert status == 201, seat
    await doors.prepay_and_pay(seat["order"]["id"], zhao)
    await doors.send()
    return li_si, first, zhao


async def test_a_refunded_order_is_not_counted_as_a_sale(doors: Doors) -> None:
    community = await make_community()
    await Community.filter(id=community.id).update(chat_id=None)  # not yet bound to a group
    leader = await User.get(id=community.leader_id)
    await doors.leader_binds_chat(leader, sender="wang")
    await doors.leader_binds_group(community, sender="wang")
    await make_campaign(community, team_size=2, group_price=1990, now=doors.clock.now())

    # The leader opens a team in the group; Li Si joins it there and pays in the mini-program
    # with the link she is sent; Zhao joins in the mini-program. ¥19.90 each.
    shopper, order_id, zhao = await _a_team_of_two_pays(doors)
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


def _bars(html: str, figure: str) -> list[int]:
    """A home-page chart's net-sales bars, oldest day first (``figure``: its figure tag's
    attribute, ``data-community`` or ``data-group="…"``)."""
    chart = html.split(f'<figure class="chart" {figure}>', 1)[1].split("</figure>", 1)[0]
    return [int(v) for v in re.findall(r'data-series="gmv" data-value="(-?\d+)"', chart)]


async def test_one_days_sales_agree_across_midnight_and_a_refund(doors: Doors) -> None:
    """Orders paid either side of midnight in Shanghai (one UTC day) and a refund after it:
    统计, the console's charts, its data page and the per-group table show one figure."""
    yesterday = doors.clock.now().date() - timedelta(days=1)
    doors.clock.set(datetime.combine(yesterday, time(15, 40), tzinfo=UTC))  # 23:40 in Shanghai
    community = await make_community()
    await Community.filter(id=community.id).update(chat_id=None)
    leader = await User.get(id=community.leader_id)
    await doors.leader_binds_chat(leader, sender="wang")
    await doors.leader_binds_group(community, sender="wang")
    now = doors.clock.now()
    await make_campaign(community, team_size=2, group_price=1990, per_user_limit=2, now=now)

    # Day one, 23:40: Li Si (in the group) and Zhao (in the mini-program) fill a team, paid.
    li_si, first, zhao = await _a_team_of_two_pays(doors)

    # Day two, 00:10 in Shanghai (still the same day in UTC): a second team, both paid, and
    # Li Si's first order refunded in full.
    doors.clock.set(datetime.combine(yesterday, time(16, 10), tzinfo=UTC))
    code = await doors.leader_opens_team(sender="wang", number=1)
    await doors.say_in_group(f"参团 {code}", sender="li-si")
    status, mine = await doors.api("GET", "/api/v1/orders", li_si)
    (second,) = [o["id"] for o in mine["items"] if o["status"] == "pending_payment"]
    await doors.prepay_and_pay(second, li_si)
    status, seat = await doors.api("POST", f"/api/v1/teams/{code}/join", zhao)
    assert status == 201, seat
    await doors.prepay_and_pay(seat["order"]["id"], zhao)
    await doors.send()
    status, sale = await doors.api(
        "POST",
        f"/api/v1/orders/{first}/after-sales",
        li_si,
        json={"kind": "refund_only", "reason": "quality", "photos": []},
    )
    assert status == 201, sale
    as_leader = auth(leader, doors.settings, doors.clock.now())
    status, _ = await doors.api("POST", f"/api/v1/after-sales/{sale['id']}/approve", as_leader)
    assert status == 200
    await doors.send()
    await doors.refunds_done()
    await doors.send()
    assert await Order.filter(community_id=community.id, paid_at__not_isnull=True).count() == 4
    assert await Refund.filter(order_id=first, status="succeeded").count() == 1

    # Day two in Shanghai: ¥39.80 paid, ¥19.90 back: ¥19.90. (A UTC day would say ¥59.70.)
    stats = await doors.say_in_group("统计", sender="wang")
    assert "订单 2 笔，成交 ¥19.90（已扣退款 ¥19.90）" in stats, stats

    link = re.search(r"http\S+/console/login\?token=\S+", await doors.say_alone("后台", "wang"))
    cookies = await _login(doors.client, link.group(0))
    home = await (await doors.client.get("/console", headers={"Cookie": cookies})).text()
    community_bars = _bars(home, "data-community")
    assert community_bars[-2:] == [3980, 1990], community_bars  # day one, day two
    # The group's own chart: Li Si's orders came through the group, the refund too.
    group = (await Community.get(id=community.id)).chat_id
    group_bars = _bars(home, f'data-group="{group}"')
    assert group_bars[-2:] == [1990, 0], group_bars
    # The per-group table is the group's whole life: the sum of its chart, same rule.
    # The bound group is named by its community (the console shows no chat id).
    (row,) = re.findall(r'<tr><td data-label="群">测试社区</td>.*?</tr>', home)
    assert f'data-net="{sum(group_bars)}"' in row and "退 ¥19.90" in row, row

    # The data page, after the clock's rollup: day two the same ¥19.90, the window ¥59.70.
    await doors.jobs.roll_up(doors.clock.now())
    page = await (await doors.client.get("/console/stats", headers={"Cookie": cookies})).text()
    day_two = doors.clock.now().astimezone(ZoneInfo("Asia/Shanghai")).strftime("%m-%d")
    assert re.search(
        rf'<td data-label="日期">{day_two}</td>.*?<td data-label="成交额">¥19.90</td>', page
    ), page
    assert f'data-net="{sum(community_bars)}"' in page
