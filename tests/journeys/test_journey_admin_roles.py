"""Leaders who can lead: apply, be approved, bind the chat identity, lead in the group; admins
grant and revoke roles, in force from the next request (not when a two-hour token lapses)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from models.chat import AccountLink, ChatIdentity
from models.community import Community
from models.user import Role, User
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from tests.bot.helpers import WeComBot
from tests.journeys.doors import Doors
from tests.support.factories import auth, make_user

GROUP = "wrkSFfCgAAxxxx"

APPLICATION = {
    "community_name": "翠湖小区团",
    "pickup_name": "翠湖东门驿站",
    "pickup_address": "翠湖小区东门 3 号",
    "pickup_hours": "08:00-20:00",
    "note": "小区 300 户，我是业主群群主",
}


async def say(bot: WeComBot, text: str, sender: str = "wang-wu") -> str:
    frame = await bot.reply(bot.text(f"@群团购助手 {text}", sender=sender, chat_id=GROUP))
    assert frame is not None and frame["stream"]["finish"] is True
    return frame["stream"]["content"]


async def call(
    client: TestClient, method: str, path: str, headers: dict[str, str], **kw: Any
) -> tuple[int, Any]:
    resp = await client.request(method, path, headers=headers, **kw)
    return resp.status, await resp.json()


async def test_a_leader_applies_is_approved_binds_chat_and_leads(
    journey: TestClient, doors: Doors, settings: Settings, clock: FrozenClock
) -> None:
    """apply -> approved -> 认证 -> 绑定 -> (roles revoked and granted) -> 开团 -> 统计 -> 到货 ->
    核销 -> 收益."""
    admin = await make_user(Role.ADMIN, nickname="管理员")
    as_admin = auth(admin, settings, clock.now())
    wang = await make_user(nickname="王五")
    # One token for the whole journey: issued while Wang is a shopper, never renewed.
    as_wang = auth(wang, settings, clock.now())
    bot = WeComBot(journey)

    # Before: a shopper in the group is refused leader commands.
    assert "只有团长" in await say(bot, "统计")

    # Wang applies.
    status, applied = await call(
        journey, "POST", "/api/v1/me/leader/application", as_wang, json=APPLICATION
    )
    assert status == 201 and applied["status"] == "pending" and applied["community_id"] is None
    status, again = await call(
        journey, "POST", "/api/v1/me/leader/application", as_wang, json=APPLICATION
    )
    assert status == 409 and again["code"] == "application_pending"
    status, denied = await call(journey, "POST", "/api/v1/me/leader/chat-code", as_wang)
    assert status == 403 and denied["code"] == "forbidden"
    status, peek = await call(journey, "GET", "/api/v1/admin/leader-applications", as_wang)
    assert status == 403

    # The admin sees it and approves.
    status, pending = await call(
        journey, "GET", "/api/v1/admin/leader-applications?status=pending", as_admin
    )
    assert status == 200 and [a["id"] for a in pending["items"]] == [applied["id"]]
    assert pending["items"][0]["note"] == APPLICATION["note"]
    status, approved = await call(
        journey, "POST", f"/api/v1/admin/leader-applications/{applied['id']}/approve", as_admin
    )
    assert status == 200 and approved["status"] == "approved" and approved["community_id"]
    status, twice = await call(
        journey, "POST", f"/api/v1/admin/leader-applications/{applied['id']}/approve", as_admin
    )
    assert status == 409 and twice["code"] == "application_decided"

    # Wang leads from his next request, with the same token.
    status, me = await call(journey, "GET", "/api/v1/me", as_wang)
    assert status == 200 and me["role"] == "leader"
    status, mine = await call(journey, "GET", "/api/v1/me/leader/application", as_wang)
    assert mine["status"] == "approved" and mine["community_id"] == approved["community_id"]
    status, code = await call(journey, "POST", "/api/v1/me/leader/chat-code", as_wang)
    assert status == 201 and len(code["code"]) == 8

    # In the group, still a stranger to the bot until he types the code.
    assert "只有团长" in await say(bot, "绑定")
    verified = await say(bot, f"认证 {code['code']}")
    assert "认证成功" in verified and "王五" in verified
    assert "认证码不对" in await say(bot, f"认证 {code['code']}")  # used once

    status, me = await call(journey, "GET", "/api/v1/me", as_wang)
    assert [(i["platform"], i["external_id"]) for i in me["chat_identities"]] == [
        ("wecom_bot", "wang-wu")
    ]
    assert (await AccountLink.get()).via == "leader_code"

    # Now he leads in the group: binds it to his new community, reads today's figures.
    bound = await say(bot, "绑定")
    assert APPLICATION["community_name"] in bound
    community = await Community.get(id=approved["community_id"])
    assert community.chat_id == GROUP and community.leader_id == wang.id
    stats = await say(bot, "统计")
    assert "只有团长" not in stats and "订单 0 笔" in stats
    assert "团长命令" in await say(bot, "帮助")

    # The admin revokes: refused at once, in the API and in chat, token unchanged.
    status, revoked = await call(
        journey, "DELETE", f"/api/v1/admin/users/{wang.id}/roles/leader", as_admin
    )
    assert status == 200 and revoked["role"] == "shopper"
    status, denied = await call(journey, "POST", "/api/v1/me/leader/chat-code", as_wang)
    assert status == 403
    assert "只有团长" in await say(bot, "统计")

    # And grants it back: allowed at once again.
    status, granted = await call(
        journey, "POST", f"/api/v1/admin/users/{wang.id}/roles", as_admin, json={"role": "leader"}
    )
    assert status == 200 and granted["role"] == "leader"
    assert "订单 0 笔" in await say(bot, "统计")

    # Before his community takes payments he verifies his real name and phone.
    status, checked = await call(
        journey,
        "POST",
        "/api/v1/me/leader/identity",
        as_wang,
        json={"real_name": "王五", "phone": "13800138000"},
    )
    assert status == 200 and checked["status"] == "verified", checked

    # He puts a product on sale for his community and opens a team for the group.
    product = {
        "title": "翠湖土鸡蛋",
        "community_id": approved["community_id"],
        "skus": [{"name": "30枚", "price": 3600, "stock": 50}],
    }
    status, made = await call(journey, "POST", "/api/v1/products", as_wang, json=product)
    assert status == 201, made
    now = clock.now()
    campaign = {
        "community_id": approved["community_id"],
        "sku_id": made["skus"][0]["id"],
        "title": "土鸡蛋两人团",
        "group_price": 2990,
        "team_size": 2,
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=2)).isoformat(),
        "stock_cap": 20,
    }
    status, deal = await call(journey, "POST", "/api/v1/campaigns", as_wang, json=campaign)
    assert status == 201, deal
    started = await bot.reply(bot.text("@群团购助手 开团 1", sender="wang-wu", chat_id=GROUP))
    assert started is not None and started["msgtype"] == "stream_with_template_card"
    assert "土鸡蛋两人团" in started["template_card"]["main_title"]["title"]
    code = started["template_card"]["button_list"][0]["key"].removeprefix("参团 ")

    # Two neighbours join from the card in the mini-program and pay.
    buyers = []
    for n in (1, 2):
        shopper = await doors.log_in(f"code-neighbour-{n}", f"o-neighbour-{n}")
        status, seat = await call(journey, "POST", f"/api/v1/teams/{code}/join", shopper)
        assert status == 201, seat
        await doors.prepay_and_pay(seat["order"]["id"], shopper)
        buyers.append(shopper)
    assert "订单 2 笔，成交 ¥59.80" in await say(bot, "统计")

    # The eggs arrive; each neighbour sees a pickup code; the leader verifies them.
    assert (await say(bot, "到货")).startswith("已确认到货：「翠湖小区团」2 份订单可以提货了。")
    codes = []
    for shopper in buyers:
        status, mine = await call(journey, "GET", "/api/v1/orders", shopper)
        (order,) = mine["items"]
        assert order["status"] == "ready_for_pickup" and order["pickup_code"]
        codes.append(order["pickup_code"])
    for pickup_code in codes:
        assert (await say(bot, f"核销 {pickup_code}")).startswith("核销成功：")

    # 收益: his share of both orders, frozen until the after-sale days pass, then his.
    earnings = await doors.say_alone("收益", sender="wang-wu")
    assert "冻结中 ¥2.98" in earnings and "可结算 ¥0.00" in earnings
    assert "新增 ¥2.98，来自 2 笔订单" in earnings
    clock.advance(timedelta(days=settings.auto_complete_days, hours=1))
    await doors.jobs.sweep(clock.now())
    earnings = await doors.say_alone("收益", sender="wang-wu")
    assert "冻结中 ¥0.00" in earnings and "可结算 ¥2.98" in earnings and "到账 ¥2.98" in earnings


async def test_admin_grants_and_revokes_admin_at_once(
    journey: TestClient, settings: Settings, clock: FrozenClock
) -> None:
    admin = await make_user(Role.ADMIN)
    as_admin = auth(admin, settings, clock.now())
    zhou = await make_user(nickname="周")
    as_zhou = auth(zhou, settings, clock.now())
    listing = "/api/v1/admin/leader-applications"

    assert (await journey.get(listing, headers=as_zhou)).status == 403
    status, _ = await call(
        journey, "POST", f"/api/v1/admin/users/{zhou.id}/roles", as_admin, json={"role": "admin"}
    )
    assert status == 200
    assert (await journey.get(listing, headers=as_zhou)).status == 200  # the same token
    assert (await User.get(id=zhou.id)).role is Role.ADMIN

    status, _ = await call(
        journey, "DELETE", f"/api/v1/admin/users/{zhou.id}/roles/admin", as_admin
    )
    assert status == 200
    assert (await journey.get(listing, headers=as_zhou)).status == 403

    # Not one's own role; not a role that does not exist; not for someone who is not there.
    status, own = await call(
        journey, "DELETE", f"/api/v1/admin/users/{admin.id}/roles/admin", as_admin
    )
    assert status == 409 and own["code"] == "own_role"
    status, bad = await call(
        journey, "POST", f"/api/v1/admin/users/{zhou.id}/roles", as_admin, json={"role": "king"}
    )
    assert status == 422 and bad["code"] == "validation_failed"
    status, missing = await call(
        journey, "POST", "/api/v1/admin/users/nobody/roles", as_admin, json={"role": "leader"}
    )
    assert status == 422 and missing["code"] == "user_not_found"
    # Only admins grant.
    status, _ = await call(
        journey, "POST", f"/api/v1/admin/users/{zhou.id}/roles", as_zhou, json={"role": "admin"}
    )
    assert status == 403


async def test_a_rejected_application(
    journey: TestClient, settings: Settings, clock: FrozenClock
) -> None:
    admin = await make_user(Role.ADMIN)
    as_admin = auth(admin, settings, clock.now())
    li = await make_user()
    as_li = auth(li, settings, clock.now())
    status, applied = await call(
        journey, "POST", "/api/v1/me/leader/application", as_li, json=APPLICATION
    )
    assert status == 201
    status, rejected = await call(
        journey,
        "POST",
        f"/api/v1/admin/leader-applications/{applied['id']}/reject",
        as_admin,
        json={"reason": "该小区已有团长"},
    )
    assert status == 200 and rejected["status"] == "rejected"
    status, mine = await call(journey, "GET", "/api/v1/me/leader/application", as_li)
    assert mine["status"] == "rejected" and mine["reason"] == "该小区已有团长"
    assert (await User.get(id=li.id)).role is Role.SHOPPER
    assert await Community.all().count() == 0
    # A new application may follow a decided one.
    status, _ = await call(
        journey, "POST", "/api/v1/me/leader/application", as_li, json=APPLICATION
    )
    assert status == 201
    status, missing = await call(
        journey, "POST", "/api/v1/admin/leader-applications/nope/approve", as_admin
    )
    assert status == 404 and missing["code"] == "application_not_found"


async def test_a_chat_sender_with_orders_binds_as_leader(
    journey: TestClient, settings: Settings, clock: FrozenClock
) -> None:
    """A leader who had chatted before binding: the chat user's things move to the account."""
    leader = await make_user(Role.LEADER, nickname="赵团长")
    bot = WeComBot(journey)
    await say(bot, "帮助", sender="zhao")  # first contact: a chat-only user
    shell = (await ChatIdentity.get(external_id="zhao").prefetch_related("user")).user
    assert shell.id != leader.id
    status, code = await call(
        journey, "POST", "/api/v1/me/leader/chat-code", auth(leader, settings, clock.now())
    )
    assert status == 201
    assert "认证成功" in await say(bot, f"verify-leader {code['code']}", sender="zhao")
    identity = await ChatIdentity.get(external_id="zhao")
    assert identity.user_id == leader.id
    assert "用法" in await say(bot, "认证", sender="zhao")
