"""Who a community's members are, as its leader reads them: a buyer who joined a team in the
group chat and one who joined in the mini-program never pressed 加入, yet both bought there,
so both are members (services/members.py) in the group's 统计, on the console's home page
and in the data page's weekly cohorts; someone who only looked is not."""

from __future__ import annotations

import re

from tests.journeys.doors import Doors
from tests.journeys.test_journey_account_link import _led_community
from tests.support.factories import make_campaign
from tests.web.test_console import _login


async def test_buyers_from_the_chat_and_the_mini_program_are_members(doors: Doors) -> None:
    community = await _led_community(doors)
    campaign = await make_campaign(community, team_size=3, group_price=1990, now=doors.clock.now())

    # Li Si joins the leader's team in the group and pays with the link she is sent; Zhao
    # joins in the mini-program and pays; Qian joins and never pays.
    code = await doors.leader_opens_team(sender="wang")
    await doors.say_in_group(f"参团 {code}", sender="li-si")
    await doors.send()
    (token,) = set(re.findall(r"token=([A-Za-z0-9_-]+)", doors.wecom_member_receives("li-si")[0]))
    li = await doors.log_in("code-lisi", "o-lisi")
    assert (await doors.api("POST", "/api/v1/me/links", li, json={"token": token}))[0] == 200
    _, mine = await doors.api("GET", "/api/v1/orders", li)
    await doors.prepay_and_pay(mine["items"][0]["id"], li)
    zhao = await doors.log_in("code-zhao", "o-zhao")
    status, seat = await doors.api("POST", f"/api/v1/teams/{code}/join", zhao)
    assert status == 201, seat
    await doors.prepay_and_pay(seat["order"]["id"], zhao)
    qian = await doors.log_in("code-qian", "o-qian")
    status, other = await doors.api("POST", f"/api/v1/campaigns/{campaign.id}/teams", qian)
    assert status == 201, other  # a seat held, never paid: not a member
    await doors.send()

    # 统计 in the group: two new members today, the two who paid.
    assert "新成员 2 人" in await doors.say_in_group("统计", sender="wang")

    await doors.jobs.roll_up(doors.clock.now())
    link = re.search(r"http\S+/console/login\?token=\S+", await doors.say_alone("后台", "wang"))
    assert link is not None
    cookies = await _login(doors.client, link.group(0))
    home = await (await doors.client.get("/console", headers={"Cookie": cookies})).text()
    assert "2 位成员" in home, home
    page = await (await doors.client.get("/console/stats", headers={"Cookie": cookies})).text()
    (cohort,) = re.findall(r'<tr class="cohort">.*?</tr>', page)
    # This week's new members: 2, both bought; and the page says who counts.
    counts = re.findall(r'<td data-label="[^"]+">(\d+)</td>', cohort)
    assert counts == ["2", "2", "0"], cohort
    assert "付款下过单的人" in page
