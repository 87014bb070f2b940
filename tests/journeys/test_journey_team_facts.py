"""What a mini-program shopper is told about her team and her order, walked through the JSON
API (and the chat, for a follower): whether a team is guaranteed, in every view of it; why a
paid order waiting for its team cannot be cancelled; and that an order picked up and then
refunded in full reads refunded."""

from __future__ import annotations

import re

from models.order import Order
from models.user import User
from tests.bot.helpers import OPENID
from tests.journeys.doors import Doors
from tests.support.factories import auth, make_campaign
from tests.web.test_console import _login


async def test_every_view_of_a_team_says_whether_it_is_guaranteed(doors: Doors) -> None:
    sure = await make_campaign(team_size=3, guaranteed=True)
    plain = await make_campaign(sure.community, team_size=3)  # type: ignore[arg-type]
    head = await doors.log_in("code-head", "o-head")
    friend = await doors.log_in("code-friend", "o-friend")
    payer = await doors.log_in("code-payer", "o-payer")

    for campaign, expected in ((sure, True), (plain, False)):
        path = f"/api/v1/campaigns/{campaign.id}/teams"
        status, started = await doors.api("POST", path, head, json={})
        assert status == 201 and started["team"]["guaranteed"] is expected, started
        code = started["team"]["code"]
        status, joined = await doors.api("POST", f"/api/v1/teams/{code}/join", friend, json={})
        assert status == 201 and joined["team"]["guaranteed"] is expected, joined
        status, listed = await doors.api("GET", path)  # joinable: one seat left
        assert status == 200 and [t["guaranteed"] for t in listed["items"]] == [expected], listed
        # Asked to pay: the one statement that also fixes the price for WeChat Pay.
        status, paying = await doors.api(
            "POST", f"/api/v1/teams/{code}/join", payer, json={"pay": True}
        )
        assert status == 201 and paying["team"]["guaranteed"] is expected, paying

        status, one = await doors.api("GET", f"/api/v1/teams/{code}")
        assert status == 200 and one["guaranteed"] is expected, one

    status, mine = await doors.api("GET", "/api/v1/me/teams", head)
    assert status == 200 and sorted(t["guaranteed"] for t in mine["items"]) == [False, True]

    # Under an Idempotency-Key the recorded answer is the same, and so is its replay.
    keyed = {**(await doors.log_in("code-keyed", "o-keyed")), "Idempotency-Key": "k-join-1"}
    other = await doors.log_in("code-other", "o-other")
    status, started = await doors.api("POST", f"/api/v1/campaigns/{sure.id}/teams", other)
    assert status == 201 and started["team"]["guaranteed"] is True, started
    code = started["team"]["code"]
    for _ in range(2):
        status, answer = await doors.api("POST", f"/api/v1/teams/{code}/join", keyed, json={})
        assert status == 201 and answer["team"]["guaranteed"] is True, answer

    status, spec = await doors.api("GET", "/openapi.json")
    field = spec["components"]["schemas"]["TeamOut"]["properties"]["guaranteed"]
    assert field["type"] == "boolean" and "null" not in str(field), field


async def test_a_paid_order_waiting_for_its_team_is_not_cancelled(doors: Doors) -> None:
    campaign = await make_campaign(team_size=2)
    me = await doors.log_in("code-waiting", "o-waiting")
    order_id = (await doors.start_team(campaign.id, me, pay=True))["order"]["id"]
    await doors.prepay_and_pay(order_id, me)

    status, refused = await doors.api("POST", f"/api/v1/orders/{order_id}/cancel", me)
    assert status == 409 and refused["code"] == "order_awaiting_team", refused
    assert "automatically" in refused["detail"] and "after-sales" in refused["detail"]
    status, order = await doors.api("GET", f"/api/v1/orders/{order_id}", me)
    assert status == 200 and order["status"] == "paid_awaiting_team", order

    status, spec = await doors.api("GET", "/openapi.json")
    cancel = spec["paths"]["/api/v1/orders/{order_id}/cancel"]["post"]["responses"]["409"]
    assert "order_awaiting_team" in str(cancel), cancel


async def test_an_order_picked_up_then_refunded_in_full_reads_refunded(doors: Doors) -> None:
    campaign = await make_campaign(team_size=2, group_price=1990)
    community = await campaign.community
    leader_user = await User.get(id=community.leader_id)
    leader = auth(leader_user, doors.settings, doors.clock.now())

    # A team of two: the mini-program shopper starts it, the follower joins by chat; both pay.
    mini = await doors.log_in("code-refund", "o-refund")
    started = await doors.start_team(campaign.id, mini, pay=True)
    await doors.prepay_and_pay(started["order"]["id"], mini)
    code = started["team"]["code"]
    assert "已为你占座" in await doors.say_to_oa(f"参团 {code}")
    head_order, follower = await Order.filter(team__code=code).order_by("created_at")
    await doors.notify_paid(follower.out_trade_no, follower.amount, f"wechat:{OPENID}")
    await doors.send()

    # The goods arrive; the leader hands both over by their pickup codes.
    status, arrived = await doors.api("POST", "/api/v1/pickups/arrived", leader, json={})
    assert status == 200 and arrived["orders"] == 2, arrived
    status, ticket = await doors.api("GET", f"/api/v1/orders/{head_order.id}/pickup", mini)
    assert status == 200, ticket
    listed = await doors.say_to_oa("我的订单")
    follower_code = listed.split("提货码 ")[1].split(" ")[0]
    for pickup_code in (ticket["code"], follower_code):
        status, handed = await doors.api(
            "POST", "/api/v1/pickups/verify", leader, json={"code": pickup_code}
        )
        assert status == 200, handed

    # Both ask for all of it back (the shopper by the API, the follower by chat 售后); the
    # leader approves both; WeChat Pay refunds them.
    status, asked = await doors.api(
        "POST",
        f"/api/v1/orders/{head_order.id}/after-sales",
        mini,
        json={"kind": "return_refund", "reason": "quality"},
    )
    assert status == 201 and asked["amount"] == 1990, asked
    assert (await doors.say_to_oa("售后 1 全坏了")).startswith("已提交售后申请")
    status, queue = await doors.api("GET", "/api/v1/leader/after-sales?status=pending", leader)
    assert status == 200 and len(queue["items"]) == 2, queue
    for sale in queue["items"]:
        status, approved = await doors.api(
            "POST", f"/api/v1/after-sales/{sale['id']}/approve", leader
        )
        assert status == 200, approved
    status, order = await doors.api("GET", f"/api/v1/orders/{head_order.id}", mini)
    assert order["status"] == "refunding", order  # owed, not yet back
    await doors.send()
    await doors.refunds_done()
    await doors.send()

    # The shopper, the follower and the leader each read it refunded.
    status, order = await doors.api("GET", f"/api/v1/orders/{head_order.id}", mini)
    assert status == 200 and order["status"] == "refunded", order
    assert [r["status"] for r in order["refunds"]] == ["succeeded"]
    status, mine = await doors.api("GET", "/api/v1/orders", mini)
    assert [o["status"] for o in mine["items"]] == ["refunded"], mine
    listed = await doors.say_to_oa("我的订单")
    assert "· 已退款" in listed and "已自提" not in listed, listed
    status, day = await doors.api("GET", "/api/v1/pickups/today", leader)
    assert status == 200 and [line["status"] for line in day["picked_up"]] == ["refunded"] * 2
    await doors.leader_binds_chat(leader_user, sender="wang")
    link = re.search(r"http\S+/console/login\?token=\S+", await doors.say_alone("后台", "wang"))
    assert link is not None
    cookies = {"Cookie": await _login(doors.client, link.group(0))}
    page = await (await doors.client.get("/console/pickups", headers=cookies)).text()
    handed = page.split('id="done-h"')[1]
    assert "今日已提（2）" in handed and handed.count("已退款") == 2, handed
    sheet = await (await doors.client.get("/console/pickups.csv", headers=cookies)).text()
    assert sheet.count("已退款") == 2 and "已自提" not in sheet, sheet
    # The money views count what stayed paid (nothing), the pickups as they happened.
    await doors.jobs.roll_up(doors.clock.now())
    page = await (await doors.client.get("/console/stats", headers=cookies)).text()
    assert 'data-net="0"' in page and "退款 2 笔 ¥39.80" in page, page
    teams = f"/console/campaigns/{campaign.id}/teams"
    page = await (await doors.client.get(teams, headers=cookies)).text()
    assert page.count("已退款") == 2 and "已自提" not in page, page

    # Handed over is handed over: its code stays used, and nothing more is asked back.
    status, again = await doors.api(
        "POST", "/api/v1/pickups/verify", leader, json={"code": ticket["code"]}
    )
    assert status == 409 and again["code"] == "pickup_code_used", again
    status, more = await doors.api(
        "POST",
        f"/api/v1/orders/{head_order.id}/after-sales",
        mini,
        json={"kind": "refund_only", "reason": "quality"},
    )
    assert status == 409, more
