"""From pickup to the product page: two buyers review what they picked up, the leader
answers, and the reviews (held until WeChat's image verdicts came back) show with their
average on the product and the campaign, in the API and the H5 pages."""

from __future__ import annotations

from datetime import timedelta

from models.activity import PointsEntry
from models.community import Community
from models.moderation import ItemStatus, ModerationItem
from models.order import Order
from models.user import Role, User
from tests.bot.helpers import OPENID
from tests.journeys.doors import Doors
from tests.support.factories import auth, make_campaign, make_community, make_user

SHOTS = ["https://img.example.com/a.jpg", "https://img.example.com/b.jpg"]


async def test_reviews_from_pickup_to_the_product_page(doors: Doors) -> None:
    community = await make_community(await make_user(Role.LEADER, nickname="王团长"))
    await Community.filter(id=community.id).update(chat_id=None)
    leader = await User.get(id=community.leader_id)
    await doors.leader_binds_chat(leader, sender="wang")
    await doors.leader_binds_group(community, sender="wang")
    campaign = await make_campaign(community, team_size=2, group_price=1990)

    # A mini-program shopper starts a team; an Official Account follower joins it by chat.
    wang_wu = await doors.log_in("code-wangwu", "o-mini-wangwu")
    status, started = await doors.api(
        "POST", f"/api/v1/campaigns/{campaign.id}/teams", wang_wu, json={}
    )
    assert status == 201, started
    code = started["team"]["code"]
    assert "已为你占座" in await doors.say_to_oa(f"参团 {code}")
    head, follower = await Order.filter(team__code=code).order_by("created_at")
    await doors.notify_paid(head.out_trade_no, head.amount, "o-mini-wangwu")
    await doors.notify_paid(follower.out_trade_no, follower.amount, f"wechat:{OPENID}")
    await doors.send()

    # Before pickup there is nothing to review.
    assert "没有待评价的订单" in await doors.say_to_oa("评价")
    status, early = await doors.api(
        "POST", f"/api/v1/orders/{head.id}/review", wang_wu, json={"rating": 5}
    )
    assert status == 409 and early["code"] == "order_not_picked_up"

    assert (await doors.say_in_group("到货")).startswith("已确认到货")
    for order in (head, follower):
        code_of = (await Order.get(id=order.id)).pickup_code
        assert (await doors.say_in_group(f"核销 {code_of}")).startswith("核销成功")

    # The follower reviews in chat: 评价 lists the order, 评价 1 5 … writes it.
    listing = await doors.say_to_oa("评价")
    assert "1. 测试商品 ×1" in listing and "评价 1 5 很新鲜" in listing
    written = await doors.say_to_oa("评价 1 5 橙子很甜")
    assert "谢谢你的评价" in written and "★★★★★" in written and "橙子很甜" not in written
    assert "没有待评价的订单" in await doors.say_to_oa("评价")

    # Later the mini-program shopper reviews with two photos: held until WeChat's
    # verdicts come back.
    doors.clock.advance(timedelta(minutes=30))
    status, mine = await doors.api(
        "POST",
        f"/api/v1/orders/{head.id}/review",
        wang_wu,
        json={"rating": 4, "text": "新鲜，个头略小", "images": SHOTS},
    )
    assert status == 201 and mine["held"] is True, mine
    assert sorted(c["media_url"] for c in doors.wechat.media_checks.values()) == SHOTS
    product = f"/api/v1/products/{mine['review']['product_id']}/reviews"
    status, shown = await doors.api("GET", product)
    assert status == 200 and shown["count"] == 1 and shown["average"] == 5.0
    status, twice = await doors.api(
        "POST", f"/api/v1/orders/{head.id}/review", wang_wu, json={"rating": 1}
    )
    assert status == 409 and twice["code"] == "already_reviewed"

    await doors.wechat_pushes_media_verdicts()
    await doors.wechat_pushes_media_verdicts()  # WeChat may push again: nothing changes
    item = await ModerationItem.get(ref=mine["review"]["id"])
    assert item.status is ItemStatus.APPROVED
    status, shown = await doors.api("GET", product)
    assert shown["count"] == 2 and shown["average"] == 4.5
    assert [r["rating"] for r in shown["items"]] == [4, 5]
    assert shown["items"][0]["images"] == SHOTS

    # Each shown review earned its author points once (the held one when it was let through).
    points = await PointsEntry.filter(reason="review").order_by("created_at")
    assert [(p.delta, p.ref) for p in points] == [
        (5, f"review:{follower.id}"),
        (5, f"review:{head.id}"),
    ]

    # The leader answers the photo review.
    leader_headers = auth(leader, doors.settings, doors.clock.now())
    status, replied = await doors.api(
        "POST",
        f"/api/v1/reviews/{mine['review']['id']}/reply",
        leader_headers,
        json={"text": "谢谢，下批挑大的"},
    )
    assert status == 200 and replied["reply"] == "谢谢，下批挑大的"
    assert replied["reply_by"] == "王团长"  # who answered, as the reply is shown
    stranger = auth(await make_user(), doors.settings, doors.clock.now())
    status, refused = await doors.api(
        "POST", f"/api/v1/reviews/{mine['review']['id']}/reply", stranger, json={"text": "x"}
    )
    assert status == 403

    status, by_campaign = await doors.api("GET", f"/api/v1/campaigns/{campaign.id}/reviews")
    assert by_campaign["count"] == 2 and by_campaign["average"] == 4.5

    # The H5 pages show the same.
    for path in (f"/h5/products/{mine['review']['product_id']}", f"/h5/campaigns/{campaign.id}"):
        resp = await doors.client.get(path)
        html = await resp.text()
        assert resp.status == 200, html
        assert "2 条，平均" in html and ">4.5<" in html
        assert "橙子很甜" in html and "王团长 回复：谢谢，下批挑大的" in html and SHOTS[0] in html

    # A neighbour reports the chat review: it reaches the operators' queue.
    status, reported = await doors.api(
        "POST",
        "/api/v1/reports",
        stranger,
        json={"kind": "review", "ref": shown["items"][1]["id"], "reason": "广告"},
    )
    assert status == 201 and reported["status"] == "review" and reported["reports"] == 1
    admin = auth(await make_user(Role.ADMIN), doors.settings, doors.clock.now())
    status, queue = await doors.api("GET", "/api/v1/admin/moderation/queue", admin)
    assert [i["ref"] for i in queue["items"]] == [shown["items"][1]["id"]]
