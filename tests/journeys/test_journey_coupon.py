"""A shopper's coupon, from the group chat to a failed team, through the real doors only.

An operator makes a coupon for the community (the API); the group hears its card; li-si
claims it in the group (领券) and sees it, alone (我的券); she joins a team (参团), links her
mini-program account from the link she is sent, picks the coupon at checkout and pays less
(WeChat Pay is asked for exactly that); the team does not fill by its deadline, she is
refunded what she paid, and the coupon is hers to use again.
"""

from __future__ import annotations

import re
from datetime import timedelta

from models.community import Community
from models.user import Role, User
from qunshop.clock import FrozenClock
from tests.journeys.doors import Doors
from tests.support.factories import auth, make_campaign, make_community, make_user


async def test_a_coupon_claimed_in_the_group_pays_less_and_comes_back_when_the_team_fails(
    doors: Doors, clock: FrozenClock
) -> None:
    community = await make_community(name="阳光花园")
    await Community.filter(id=community.id).update(chat_id=None)  # not yet bound to a group
    leader = await User.get(id=community.leader_id)
    await doors.leader_binds_chat(leader, sender="wang")
    await doors.leader_binds_group(community, sender="wang")
    await make_campaign(community, team_size=2, group_price=2990, now=clock.now())

    # The operator makes the coupon; the group hears its card.
    operator = auth(await make_user(Role.ADMIN), doors.settings, clock.now())
    status, template = await doors.api(
        "POST",
        "/api/v1/admin/coupon-templates",
        operator,
        json={
            "name": "阳光花园满20减5",
            "kind": "amount",
            "threshold": 2000,
            "amount_off": 500,
            "stock_total": 100,
            "valid_days": 7,
            "community_id": str(community.id),
        },
    )
    assert status == 201, template
    await doors.send()
    (card,) = doors.group_sees()
    assert "阳光花园满20减5" in card and "满¥20.00减¥5.00" in card and "领券" in card

    # li-si claims it in the group and sees it.
    offered = await doors.say_in_group("领券", sender="li-si")
    assert "1. 阳光花园满20减5 · 满¥20.00减¥5.00 · 剩 100 张" in offered, offered
    claimed = await doors.say_in_group("领券 1", sender="li-si")
    assert claimed.startswith("🎉 领到了：阳光花园满20减5"), claimed
    again = await doors.say_in_group("领券 1", sender="li-si")
    assert "已经领够了" in again, again
    mine = await doors.say_alone("我的券", sender="li-si")  # hers: named alone only
    assert "阳光花园满20减5" in mine and "可用" in mine, mine

    # She joins a team in the group, and links her mini-program account from the link sent.
    code = await doors.leader_opens_team(sender="wang")
    joined = await doors.say_in_group(f"参团 {code}", sender="li-si")
    assert "已为你占座" in joined, joined
    await doors.send()
    (token,) = set(re.findall(r"token=([A-Za-z0-9_-]+)", doors.wecom_member_receives("li-si")[0]))
    li_si = await doors.log_in("code-lisi", "o-lisi-mini")
    status, linked = await doors.api("POST", "/api/v1/me/links", li_si, json={"token": token})
    assert status == 200 and linked["moved"]["coupons"] == 1, linked

    # Checkout: the coupon she holds, on the order awaiting payment.
    status, coupons = await doors.api("GET", "/api/v1/me/coupons", li_si)
    (coupon,) = coupons["items"]
    assert coupon["usable"] and coupon["template"]["id"] == template["id"]
    status, orders = await doors.api("GET", "/api/v1/orders", li_si)
    (order,) = orders["items"]
    assert order["amount"] == 2990 and order["coupon_off"] == 0
    status, priced = await doors.api(
        "PUT", f"/api/v1/orders/{order['id']}/discounts", li_si, json={"coupon_id": coupon["id"]}
    )
    assert status == 200, priced
    assert (priced["unit_price"], priced["coupon_off"], priced["amount"]) == (2990, 500, 2490)
    await doors.prepay_and_pay(order["id"], li_si)
    (asked,) = [o for o in doors.wechat.pay_orders.values() if o["openid"] == "o-lisi-mini"]
    assert asked["total_fee"] == "2490"  # WeChat Pay charged exactly what she pays
    used = await doors.say_alone("我的券", sender="li-si")
    assert "已使用" in used, used

    # Nobody else joins: the deadline passes and the clock closes the team.
    clock.advance(timedelta(hours=25))
    await doors.jobs.due(clock.now())
    await doors.send()
    refunds = [
        r for r in doors.wechat.refunds.values() if r["out_trade_no"] == asked["out_trade_no"]
    ]
    assert [r["refund_fee"] for r in refunds] == ["2490"]  # what she paid, no more
    li_si = await doors.log_in("code-lisi-next-day", "o-lisi-mini")  # a day later: a new token
    status, coupons = await doors.api("GET", "/api/v1/me/coupons", li_si)
    (back,) = coupons["items"]
    assert back["id"] == coupon["id"] and back["status"] == "available" and back["usable"]
    status, order_now = await doors.api("GET", f"/api/v1/orders/{order['id']}", li_si)
    assert order_now["status"] in ("refunding", "refunded")
    assert (order_now["amount"], order_now["coupon_off"]) == (2490, 500)  # the breakdown kept
