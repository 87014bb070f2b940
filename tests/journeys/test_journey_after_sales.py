"""After-sales as the people live it: a follower asks in the chat (售后), a mini-program
shopper through the API with photos; the leader approves one through the API and nobody
answers the other, which the clock approves; WeChat Pay refunds each once, notifying twice,
and each buyer is told."""

from __future__ import annotations

from datetime import timedelta

from models.aftersale import AfterSale
from models.community import Community
from models.order import Order, OrderStatus
from models.payment import Refund
from models.user import User
from tests.bot.helpers import OPENID
from tests.journeys.doors import Doors
from tests.support.factories import auth, make_campaign, make_community

PHOTO = "https://img.example.com/rotten-orange.jpg"


async def test_two_buyers_ask_one_leader_approves_the_clock_approves_the_other(
    doors: Doors,
) -> None:
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    campaign = await make_campaign(community, team_size=2, group_price=1990)

    # A team of two fills: the mini-program shopper starts it, the follower joins by chat.
    mini = await doors.log_in("code-zhao", "o-mini-zhao")
    await doors.accept_news(mini)
    resp = await doors.client.post(f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=mini)
    assert resp.status == 201, await resp.text()
    code = (await resp.json())["team"]["code"]
    assert "已为你占座" in await doors.say_to_oa(f"参团 {code}")
    head, follower = await Order.filter(team__code=code).order_by("created_at")
    await doors.notify_paid(head.out_trade_no, head.amount, "o-mini-zhao")
    await doors.notify_paid(follower.out_trade_no, follower.amount, f"wechat:{OPENID}")
    await doors.send()
    assert (await Order.get(id=follower.id)).status is OrderStatus.CONFIRMED

    # The follower types 售后, sees the order numbered, and asks for it back.
    listed = await doors.say_to_oa("售后")
    assert "售后 序号 原因" in listed and "1. 测试商品 ×1 ¥19.90" in listed
    why = await doors.say_to_oa("售后 1")  # no reason yet: asked for one, nothing filed
    assert why.startswith("第 1 个订单 测试商品 ×1：请写上原因再提交"), why
    assert not await AfterSale.exists(), why
    asked = await doors.say_to_oa("售后 1 有三个橙子烂了")
    assert asked.startswith("已提交售后申请：测试商品，仅退款 ¥19.90。"), asked
    assert "自动同意" in asked
    again = await doors.say_to_oa("售后 1 还是烂的")
    assert "已经有一个售后申请在处理" in again
    # The English alias; the request names its goods, and the order says it is being handled.
    progress = await doors.say_to_oa("aftersale")
    assert "· 测试商品 · 仅退款 ¥19.90 · 待处理" in progress, progress
    assert "1. 测试商品 ×1 ¥19.90 · 12-" in progress and "售后申请处理中，不用再申请" in progress

    # A minute later the mini-program shopper asks for part of theirs, with a photo.
    doors.clock.advance(timedelta(minutes=1))
    status, sale = await doors.api(
        "POST",
        f"/api/v1/orders/{head.id}/after-sales",
        mini,
        json={"kind": "return_refund", "reason": "quality", "photos": [PHOTO], "amount": 990},
    )
    assert status == 201 and (sale["status"], sale["photos"]) == ("pending", [PHOTO]), sale

    # The leader sees both, earliest deadline first, and approves the follower's.
    as_leader = auth(leader, doors.settings, doors.clock.now())
    status, queue = await doors.api("GET", "/api/v1/leader/after-sales?status=pending", as_leader)
    assert status == 200 and [i["order_id"] for i in queue["items"]] == [
        str(follower.id),
        str(head.id),
    ]
    follower_sale = queue["items"][0]["id"]
    status, approved = await doors.api(
        "POST", f"/api/v1/after-sales/{follower_sale}/approve", as_leader
    )
    assert status == 200 and approved["status"] == "approved", approved
    status, twice = await doors.api(
        "POST", f"/api/v1/after-sales/{follower_sale}/approve", as_leader
    )
    assert status == 409 and twice["code"] == "after_sale_decided"

    # Nobody answers the other within the stated hours: the clock says yes.
    doors.clock.advance(timedelta(hours=doors.settings.after_sale_response_hours, minutes=1))
    await doors.jobs.due(doors.clock.now())
    mini = await doors.log_in("code-zhao-2", "o-mini-zhao")  # two days on: a new session
    status, mine = await doors.api("GET", f"/api/v1/after-sales/{sale['id']}", mini)
    assert (mine["status"], mine["decided_by_clock"]) == ("approved", True)

    # The follower checks on it (and so is within the 48 hours customer service may write).
    assert "已同意，退款中" in await doors.say_to_oa("售后")

    # The outbox asks WeChat Pay once each; WeChat Pay reports each done twice.
    await doors.send()
    await doors.refunds_done()
    await doors.send()
    assert sorted(int(r["refund_fee"]) for r in doors.wechat.refunds.values()) == [990, 1990]
    assert await Refund.all().count() == 2
    assert (await Order.get(id=follower.id)).status is OrderStatus.REFUNDED  # all of it
    assert (await Order.get(id=head.id)).status is OrderStatus.CONFIRMED  # half of it

    status, mine = await doors.api("GET", "/api/v1/after-sales", mini)
    assert [i["refund_status"] for i in mine["items"]] == ["succeeded"]
    assert doors.follower_receives()[-1] == "💰 退款已完成：「测试商品」¥19.90 已原路退回。"
    assert doors.mini_user_receives("o-mini-zhao")[-1] == (
        doors.settings.subscribe_template_refunded,
        {"thing1": "测试商品", "amount2": "¥9.90", "thing3": "已原路退回"},
    )
    assert await Community.exists(id=community.id)
