"""A shopper who joins in the group chat, then pays in the mini-program: one person, one account.

Li Si joins a team by typing 参团 in the WeCom group. The order belongs to her chat identity;
the bot sends her, alone, a link. She opens it, logs in to the mini-program and links: the
order is hers there, she can pay it, and the bot knows her account from then on.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import xmltodict
from aiohttp.test_utils import TestClient

from models.chat import AccountLink, ChatIdentity
from models.community import Community, Membership
from models.groupbuy import Seat, Team
from models.order import Order, OrderStatus
from models.user import User
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from services import accounts, groupbuy
from services.auth import Principal
from services.chat_users import shell_openid
from tests.bot.helpers import OA, OPENID, WeComBot, oa_event, oa_text
from tests.journeys.doors import Doors
from tests.support.factories import auth, make_campaign, make_community, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.web.admin_world import operator
from tests.web.test_console import _login, _say

GROUP = "wrkSFfCgAAxxxx"
TOKEN = re.compile(r"pages/link/index\?token=([A-Za-z0-9_-]+)")


async def say(bot: WeComBot, text: str, sender: str) -> str:
    frame = await bot.reply(bot.text(f"@群团购助手 {text}", sender=sender, chat_id=GROUP))
    assert frame is not None and frame["stream"]["finish"] is True
    return frame["stream"]["content"]


async def log_in(client: TestClient, wechat: FakeWeChat, openid: str) -> dict[str, str]:
    wechat.sessions[f"code-{openid}"] = {"openid": openid, "session_key": "sk-" + openid}
    resp = await client.post("/api/v1/session", json={"code": f"code-{openid}"})
    assert resp.status == 200, await resp.text()
    return {"Authorization": f"Bearer {(await resp.json())['token']}"}


async def open_team(clock: FrozenClock) -> str:
    community = await make_community(name="阳光花园")
    await Community.filter(id=community.id).update(chat_id=GROUP)
    campaign = await make_campaign(community, team_size=3, group_price=2990, now=clock.now())
    head = await make_user()
    started = await groupbuy.start_team(
        principal=Principal(head.id, head.role), campaign_id=str(campaign.id), now=clock.now()
    )
    return started.team.code


async def link_sent_to(wechat: FakeWeChat, userid: str) -> str:
    """The WeCom app message the bot sent to ``userid`` alone: the link token in it."""
    sent = [m for m in wechat.wecom_app_messages if m["touser"] == userid]
    assert len(sent) == 1, sent
    content = sent[0]["text"]["content"]
    assert "关联小程序账号" in content and "/h5/link?token=" in content
    found = TOKEN.search(content)
    assert found is not None
    return found.group(1)


async def test_a_group_shopper_links_and_pays(
    journey: TestClient,
    wechat: FakeWeChat,
    clock: FrozenClock,
    send_outbox: Callable[[], Any],
) -> None:
    code = await open_team(clock)
    bot = WeComBot(journey)

    # In the group: she joins. The reply says where to pay, and that a link came privately;
    # the group sees no token.
    joined = await say(bot, f"参团 {code}", sender="li-si")
    assert "已为你占座" in joined and "¥29.90" in joined
    assert "关联链接已私信发给你" in joined and "token=" not in joined
    # The way to pay is a link the group may see: the team's page, whose button opens the
    # mini-program's team page.
    pay_page = re.search(r"付款入口[^:：]*[:：](\S+)", joined).group(1)
    assert pay_page.endswith(f"/h5/teams/{code}")
    team_page = await journey.get(pay_page.split("8080", 1)[1])
    assert team_page.status == 200 and code in await team_page.text()
    assert await send_outbox() >= 1
    token = await link_sent_to(wechat, "li-si")

    # In the mini-program: logged in, but the order is her chat identity's, not yet hers.
    headers = await log_in(journey, wechat, "o-lisi-mini")
    assert (await (await journey.get("/api/v1/orders", headers=headers)).json())["items"] == []
    me = await (await journey.get("/api/v1/me", headers=headers)).json()
    assert me["chat_identities"] == []

    # She opens the link: linked, the order moved over.
    resp = await journey.post("/api/v1/me/links", json={"token": token}, headers=headers)
    assert resp.status == 200, await resp.text()
    linked = await resp.json()
    assert linked["platform"] == "wecom_bot" and linked["external_id"] == "li-si"
    assert linked["already"] is False and linked["moved"]["orders"] == 1
    assert linked["moved"]["seats"] == 1

    me = await (await journey.get("/api/v1/me", headers=headers)).json()
    assert [(i["platform"], i["external_id"]) for i in me["chat_identities"]] == [
        ("wecom_bot", "li-si")
    ]
    assert me["chat_identities"][0]["linked_at"] is not None
    orders = (await (await journey.get("/api/v1/orders", headers=headers)).json())["items"]
    assert len(orders) == 1
    assert orders[0]["amount"] == 2990 and orders[0]["status"] == "pending_payment"

    # She pays: prepay answers with wx.requestPayment's parameters for her own openid.
    resp = await journey.post(f"/api/v1/orders/{orders[0]['id']}/prepay", headers=headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["package"].startswith("prepay_id=")
    [placed] = wechat.pay_orders.values()
    assert placed["openid"] == "o-lisi-mini" and placed["total_fee"] == "2990"

    # The same link again changes nothing.
    resp = await journey.post("/api/v1/me/links", json={"token": token}, headers=headers)
    assert resp.status == 409 and (await resp.json())["code"] == "link_token_used"
    assert await AccountLink.all().count() == 1

    # Back in the chat: the bot knows her account, and offers no more links.
    frame = await bot.reply(bot.text("我的订单", sender="li-si", chat_id=None))
    assert frame is not None
    mine = frame["stream"]["content"]
    assert "¥29.90" in mine and "待支付" in mine and "关联" not in mine
    assert await send_outbox() == 0


async def _led_community(doors: Doors) -> Community:
    """A leader (王) who bound his chat identity and this group, through the doors."""
    community = await make_community(name="阳光花园")
    await Community.filter(id=community.id).update(chat_id=None)  # not yet bound to a group
    leader = await User.get(id=community.leader_id)
    await doors.leader_binds_chat(leader, sender="wang")
    await doors.leader_binds_group(community, sender="wang")
    return community


async def _li_si_joins_links_and_pays(
    doors: Doors, code: str, *, accept_news: bool = True
) -> tuple[dict[str, str], str]:
    """团购 -> 参团 in the group -> the private link -> log in -> link -> pay. Her headers and
    her order's id."""
    deals = await doors.say_in_group("团购", sender="li-si")
    assert "「阳光花园」正在拼" in deals and f"团码 {code}：还差" in deals
    joined = await doors.say_in_group(f"参团 {code}", sender="li-si")
    assert "已为你占座" in joined and "¥29.90" in joined and "token=" not in joined
    assert "关联链接已私信发给你" in joined
    await doors.send()
    token = await link_sent_to(doors.wechat, "li-si")

    # The link opens (on a desktop, the H5 page; in WeChat, the mini-program's link page).
    page = await doors.client.get(f"/h5/link?token={token}")
    assert page.status == 200 and "关联账号" in await page.text()

    headers = await doors.log_in("code-lisi", "o-lisi-mini")
    if accept_news:
        await doors.accept_news(headers)
    status, linked = await doors.api("POST", "/api/v1/me/links", headers, json={"token": token})
    assert status == 200 and linked["moved"]["orders"] == 1, linked
    status, mine = await doors.api("GET", "/api/v1/orders", headers)
    (order,) = mine["items"]
    assert (order["status"], order["amount"]) == ("pending_payment", 2990)
    await doors.prepay_and_pay(order["id"], headers)
    status, mine = await doors.api("GET", "/api/v1/orders", headers)
    assert mine["items"][0]["status"] == "paid_awaiting_team"
    return headers, order["id"]


async def test_a_group_shopper_from_deals_to_a_completed_order(
    doors: Doors, clock: FrozenClock
) -> None:
    await _led_community(doors)
    community = await Community.get(name="阳光花园")
    await make_campaign(community, team_size=2, group_price=2990, now=clock.now())
    code = await doors.leader_opens_team(sender="wang")
    li_si, order_id = await _li_si_joins_links_and_pays(doors, code)

    # A neighbour takes the last seat in the mini-program and pays: 成团.
    zhang = await doors.log_in("code-zhang", "o-zhang-mini")
    status, seat = await doors.api("POST", f"/api/v1/teams/{code}/join", zhang)
    assert status == 201, seat
    await doors.prepay_and_pay(seat["order"]["id"], zhang)
    await doors.send()
    assert doors.group_sees() == [
        f"🎉 成团啦！「测试拼团」团码 {code}，2 人已付款。\n"
        "到货后在「门口小店」（1 号楼，9-21）自提，到货时会再通知大家。"
    ]
    s = doors.settings
    assert doors.mini_user_receives("o-lisi-mini") == [
        (
            s.subscribe_template_team_succeeded,
            {"thing1": "测试拼团", "thing2": "门口小店", "amount3": "¥29.90"},
        )
    ]
    mine = await doors.say_alone("我的订单", sender="li-si")
    assert "¥29.90 · 已成团，待到货" in mine and "关联" not in mine

    # The goods arrive: the leader says so; she hears it with her pickup code.
    arrived = await doors.say_in_group("到货", sender="wang")
    assert arrived.startswith("已确认到货：「阳光花园」2 份订单可以提货了。")
    await doors.send()
    assert doors.group_sees()[1].startswith("📦 到货啦！")
    template, data = doors.mini_user_receives("o-lisi-mini")[1]
    assert template == s.subscribe_template_arrived and data["thing3"] == "门口小店"
    pickup_code = data["character_string2"]
    # Her code is hers alone: the group does not read it (nor her orders); she reads it alone.
    in_group = await doors.say_in_group("我的订单", sender="li-si")
    assert "私聊" in in_group and "¥" not in in_group and pickup_code not in in_group
    assert f"已到货，待自提 · 提货码 {pickup_code}" in await doors.say_alone(
        "我的订单", sender="li-si"
    )

    # At the pickup point: she shows the code, the leader verifies it.
    verified = await doors.say_in_group(f"核销 {pickup_code}", sender="wang")
    assert verified.startswith("核销成功：") and "已取货" in verified
    status, mine = await doors.api("GET", "/api/v1/orders", li_si)
    assert [o["status"] for o in mine["items"] if o["id"] == order_id] == ["picked_up"]

    # After the after-sale days the clock completes it.
    clock.advance(timedelta(days=s.auto_complete_days, hours=1))
    await doors.jobs.sweep(clock.now())
    li_si = await doors.log_in("code-lisi-later", "o-lisi-mini")  # days later: a new session
    status, mine = await doors.api("GET", "/api/v1/orders", li_si)
    assert [o["status"] for o in mine["items"] if o["id"] == order_id] == ["completed"]
    assert "¥29.90 · 已完成" in await doors.say_alone("我的订单", sender="li-si")


async def test_a_group_shopper_without_consents_hears_the_news_in_wecom(
    doors: Doors, clock: FrozenClock
) -> None:
    """She never accepted subscribe messages: her WeCom identity (the app message) is how she
    is told; the leader's 到货 answer says truthfully who will hear it."""
    await _led_community(doors)
    community = await Community.get(name="阳光花园")
    await make_campaign(community, team_size=2, group_price=2990, now=clock.now())
    code = await doors.leader_opens_team(sender="wang")
    await _li_si_joins_links_and_pays(doors, code, accept_news=False)
    zhang = await doors.log_in("code-zhang", "o-zhang-mini")
    status, seat = await doors.api("POST", f"/api/v1/teams/{code}/join", zhang)
    assert status == 201, seat
    await doors.prepay_and_pay(seat["order"]["id"], zhang)
    await doors.send()
    assert doors.mini_user_receives("o-lisi-mini") == []
    (succeeded,) = doors.wecom_member_receives("li-si")[1:]  # after the link message
    assert "成团" in succeeded

    arrived = await doors.say_in_group("到货", sender="wang")
    assert "已在本群发到货通知。" in arrived
    assert "提货码会私信发给 1 位买家；另 1 位没有可用的私信渠道" in arrived
    await doors.send()
    pickup_code = (await Order.get(user__openid="o-lisi-mini")).pickup_code
    assert pickup_code
    (told,) = doors.wecom_member_receives("li-si")[2:]
    assert pickup_code in told


async def test_a_group_shopper_whose_team_fails_is_refunded_and_told(
    doors: Doors, clock: FrozenClock
) -> None:
    await _led_community(doors)
    community = await Community.get(name="阳光花园")
    await make_campaign(community, team_size=3, group_price=2990, now=clock.now())
    code = await doors.leader_opens_team(sender="wang")
    li_si, order_id = await _li_si_joins_links_and_pays(doors, code)

    # Nobody else joins; the deadline passes and the clock closes the team.
    team = await Team.get(code=code)
    clock.set(team.deadline_at + timedelta(seconds=1))
    await doors.jobs.due(clock.now())
    await doors.send()
    assert doors.group_sees() == [
        f"「测试拼团」团码 {code} 人数未满，未能成团。\n已付款的 1 位成员共 ¥29.90 将原路退回。"
    ]
    s = doors.settings
    assert doors.mini_user_receives("o-lisi-mini") == [
        (
            s.subscribe_template_team_failed,
            {"thing1": "测试拼团", "amount2": "¥29.90", "thing3": "未成团，原路退款"},
        )
    ]
    li_si = await doors.log_in("code-lisi-later", "o-lisi-mini")  # a day later: a new session
    status, mine = await doors.api("GET", "/api/v1/orders", li_si)
    assert mine["items"][0]["status"] == "refunding"

    # WeChat Pay reports the refund done: she hears it once, and sees it on the order.
    await doors.refunds_done()
    await doors.send()
    assert doors.mini_user_receives("o-lisi-mini")[1:] == [
        (
            s.subscribe_template_refunded,
            {"thing1": "测试商品", "amount2": "¥29.90", "thing3": "已原路退回"},
        )
    ]
    status, mine = await doors.api("GET", "/api/v1/orders", li_si)
    (order,) = mine["items"]
    assert order["id"] == order_id and order["status"] == "refunded"
    assert [r["amount"] for r in order["refunds"]] == [2990]
    assert "¥29.90 · 已退款" in await doors.say_alone("我的订单", sender="li-si")
    assert len(doors.group_sees()) == 1


async def test_a_one_to_one_reply_carries_the_link(journey: TestClient, wechat: FakeWeChat) -> None:
    bot = WeComBot(journey)
    frame = await bot.reply(bot.text("我的订单", sender="zhao-liu", chat_id=None))
    assert frame is not None
    content = frame["stream"]["content"]
    assert "还没有订单" in content and "小程序打开：pages/link/index?token=" in content
    assert "电脑上打开：http://127.0.0.1:8080/h5/link?token=" in content


async def test_bad_links_are_refused_and_change_nothing(
    journey: TestClient,
    wechat: FakeWeChat,
    clock: FrozenClock,
    send_outbox: Callable[[], Any],
) -> None:
    code = await open_team(clock)
    bot = WeComBot(journey)
    await say(bot, f"参团 {code}", sender="li-si")
    await send_outbox()
    token = await link_sent_to(wechat, "li-si")
    chat_user = (await ChatIdentity.get(external_id="li-si").prefetch_related("user")).user
    headers = await log_in(journey, wechat, "o-lisi-mini")

    async def refused(body: dict[str, Any], status: int, code: str) -> None:
        resp = await journey.post("/api/v1/me/links", json=body, headers=headers)
        assert resp.status == status, await resp.text()
        problem = await resp.json()
        assert problem["code"] == code
        assert await AccountLink.all().count() == 0
        assert await Order.filter(user_id=chat_user.id).count() == 1

    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    await refused({"token": forged}, 400, "link_token_invalid")
    await refused({"token": "not-a-token"}, 400, "link_token_invalid")
    await refused({"token": ""}, 422, "validation_failed")
    resp = await journey.post("/api/v1/me/links", json={"token": token})
    assert resp.status == 401  # a link needs a logged-in account

    clock.advance(timedelta(minutes=31))
    await refused({"token": token}, 400, "link_token_expired")


async def test_a_chat_identity_linked_elsewhere_stays_put(
    journey: TestClient, wechat: FakeWeChat, clock: FrozenClock, send_outbox: Callable[[], Any]
) -> None:
    bot = WeComBot(journey)
    frame = await bot.reply(bot.text("我的订单", sender="li-si", chat_id=None))
    assert frame is not None
    first = TOKEN.search(frame["stream"]["content"])
    frame = await bot.reply(bot.text("我的订单", sender="li-si", chat_id=None))
    assert frame is not None
    second = TOKEN.search(frame["stream"]["content"])
    assert first and second and first.group(1) != second.group(1)

    mine = await log_in(journey, wechat, "o-lisi-mini")
    other = await log_in(journey, wechat, "o-someone-else")
    ok = await journey.post("/api/v1/me/links", json={"token": first.group(1)}, headers=mine)
    assert ok.status == 200
    resp = await journey.post("/api/v1/me/links", json={"token": second.group(1)}, headers=other)
    assert resp.status == 409
    assert (await resp.json())["code"] == "chat_identity_linked_elsewhere"
    identity = await ChatIdentity.get(external_id="li-si").prefetch_related("user")
    assert identity.user.openid == "o-lisi-mini"


async def test_concurrent_links_bind_one_account(
    journey: TestClient, wechat: FakeWeChat, clock: FrozenClock, settings: Settings
) -> None:
    """Twenty accounts redeem twenty links to one chat identity at once: one wins, whole."""
    code = await open_team(clock)
    bot = WeComBot(journey)
    await say(bot, f"参团 {code}", sender="li-si")
    secret = settings.secret_key.get_secret_value()
    # As many links as twenty replies would carry (the chat's rate limit stops a real sender
    # well before twenty, so they are issued by the service that signs the replies' links).
    tokens = [
        await accounts.link_token_for(
            platform="wecom_bot", external_id="li-si", secret=secret, now=clock.now()
        )
        for _ in range(20)
    ]
    # Twenty mini-program accounts (the login door's per-address limit allows ten a minute).
    logins = [auth(await make_user(), settings, clock.now()) for _ in range(20)]

    answers = await asyncio.gather(
        *(
            journey.post("/api/v1/me/links", json={"token": t}, headers=h)
            for t, h in zip(tokens, logins, strict=True)
        )
    )
    statuses = sorted(r.status for r in answers)
    assert statuses == [200] + [409] * 19
    codes = {(await r.json())["code"] for r in answers if r.status == 409}
    assert codes == {"chat_identity_linked_elsewhere"}

    assert await AccountLink.all().count() == 1
    link = await AccountLink.get()
    identity = await ChatIdentity.get(external_id="li-si")
    assert identity.user_id == link.account_id
    winner = await User.get(id=link.account_id)
    assert await Order.filter(user_id=winner.id, status=OrderStatus.PENDING_PAYMENT).count() == 1
    assert await Seat.filter(user_id=winner.id).count() == 1
    assert await Order.filter(user_id=link.from_user_id).count() == 0


async def test_a_follower_with_a_unionid_is_linked_without_a_link(
    journey: TestClient, wechat: FakeWeChat, send_outbox: Callable[[], Any]
) -> None:
    """The Official Account and the mini-program share an Open Platform account: WeChat says
    who is who, so following after logging in links at once, and nobody is offered a link."""
    wechat.sessions["code-zhou"] = {"openid": "o-zhou-mini", "session_key": "sk", "unionid": "u-7"}
    resp = await journey.post("/api/v1/session", json={"code": "code-zhou"})
    headers = {"Authorization": f"Bearer {(await resp.json())['token']}"}
    wechat.unionids[OPENID] = "u-7"
    oa = OA(journey)

    resp = await oa.post_safe(oa_event("subscribe"))
    assert "欢迎" in xmltodict.parse(oa.open(await resp.text()))["xml"]["Content"]
    assert await send_outbox() == 1
    assert wechat.calls_to("/cgi-bin/user/info")[0].query["openid"] == OPENID

    me = await (await journey.get("/api/v1/me", headers=headers)).json()
    assert [(i["platform"], i["external_id"]) for i in me["chat_identities"]] == [
        ("wechat", OPENID)
    ]
    assert (await AccountLink.get()).via == "unionid"
    resp = await oa.post_safe(oa_text("我的订单"))
    content = xmltodict.parse(oa.open(await resp.text()))["xml"]["Content"]
    assert "还没有订单" in content and "token=" not in content


async def test_a_follower_who_logs_in_later_is_linked_at_login(
    journey: TestClient, wechat: FakeWeChat, send_outbox: Callable[[], Any]
) -> None:
    wechat.unionids[OPENID] = "u-8"
    oa = OA(journey)
    await oa.post_safe(oa_event("subscribe"))
    await send_outbox()
    assert await AccountLink.all().count() == 0  # nobody to link to yet

    wechat.sessions["code-wu"] = {"openid": "o-wu-mini", "session_key": "sk", "unionid": "u-8"}
    resp = await journey.post("/api/v1/session", json={"code": "code-wu"})
    headers = {"Authorization": f"Bearer {(await resp.json())['token']}"}
    me = await (await journey.get("/api/v1/me", headers=headers)).json()
    assert [i["external_id"] for i in me["chat_identities"]] == [OPENID]


async def test_a_follower_who_erased_her_account_and_writes_again_is_a_new_person(
    journey: TestClient, wechat: FakeWeChat, send_outbox: Callable[[], Any]
) -> None:
    """Erasure takes the linked identity's platform id; the chat-only user the link left
    behind still held the shell openid, so writing again met a unique key and then nothing."""
    wechat.sessions["code-qian"] = {"openid": "o-qian-mini", "session_key": "sk", "unionid": "u-9"}
    resp = await journey.post("/api/v1/session", json={"code": "code-qian"})
    headers = {"Authorization": f"Bearer {(await resp.json())['token']}"}
    account_id = (await (await journey.get("/api/v1/me", headers=headers)).json())["id"]
    wechat.unionids[OPENID] = "u-9"
    oa = OA(journey)
    await oa.post_safe(oa_event("subscribe"))
    await send_outbox()
    assert (await AccountLink.get()).account_id == uuid.UUID(account_id)

    erased = await journey.delete("/api/v1/me", headers=headers)
    assert erased.status in (200, 202), await erased.text()
    # No user row keeps her platform id, the link's left-behind one included.
    assert not await User.filter(openid=f"wechat:{OPENID}").exists()

    resp = await oa.post_safe(oa_text("我的订单"))
    assert resp.status == 200
    content = xmltodict.parse(oa.open(await resp.text()))["xml"]["Content"]
    assert "还没有订单" in content
    again = await ChatIdentity.get(platform="wechat", external_id=OPENID).select_related("user")
    assert str(again.user_id) != account_id
    assert again.user.openid == f"wechat:{OPENID}"
    resp = await oa.post_safe(oa_text("我的订单"))  # and the next message finds her at once
    assert "还没有订单" in xmltodict.parse(oa.open(await resp.text()))["xml"]["Content"]


async def test_a_tier_price_team_shows_what_was_paid_and_given_back(
    doors: Doors, clock: FrozenClock
) -> None:
    """A 2-person tier brings ¥29.90 down to ¥26.90: the team page shows the final price and
    no seats left to fill; 我的订单 shows the ¥3 on its way back, then back; 售后 does not
    offer an order whose refund is still on its way."""
    await _led_community(doors)
    community = await Community.get(name="阳光花园")
    await make_campaign(
        community,
        team_size=2,
        group_price=2990,
        price_tiers=[{"min_members": 2, "price": 2690}],
        now=clock.now(),
    )
    code = await doors.leader_opens_team(sender="wang")
    await _li_si_joins_links_and_pays(doors, code)
    zhang = await doors.log_in("code-zhang", "o-zhang-mini")
    status, seat = await doors.api("POST", f"/api/v1/teams/{code}/join", zhang)
    assert status == 201, seat
    await doors.prepay_and_pay(seat["order"]["id"], zhang)
    await doors.send()
    assert (await Team.get(code=code)).final_price == 2690

    page = await doors.client.get(f"/h5/teams/{code}")
    html = await page.text()
    assert page.status == 200 and "还差0人" not in html and "拼团成功" in html
    assert "26.90" in html

    mine = await doors.say_alone("我的订单", sender="li-si")
    assert "¥29.90（退款中 ¥3.00） · 已成团，待到货" in mine
    offered = await doors.say_alone("售后", sender="li-si")
    assert "退款中，不用再申请" in offered

    await doors.refunds_done()
    mine = await doors.say_alone("我的订单", sender="li-si")
    assert "¥29.90（已退 ¥3.00，实付 ¥26.90） · 已成团，待到货" in mine
    offered = await doors.say_alone("售后", sender="li-si")
    assert "1. 测试商品 ×1 ¥29.90（已退 ¥3.00，实付 ¥26.90） · " in offered  # what is left to ask


async def test_after_a_link_the_admin_lists_one_person(
    journey: TestClient,
    wechat: FakeWeChat,
    clock: FrozenClock,
    send_outbox: Callable[[], Any],
) -> None:
    """The chat-only user left behind by a link is the account now: not a second person in
    the operators' user list, its count, or the community's members."""
    code = await open_team(clock)
    community = await Community.get(chat_id=GROUP)
    await say(WeComBot(journey), f"参团 {code}", sender="li-si")
    await send_outbox()
    token = await link_sent_to(wechat, "li-si")
    headers = await log_in(journey, wechat, "o-lisi-mini")
    account = await User.get(openid="o-lisi-mini")
    await User.filter(id=account.id).update(nickname="李四")
    # She is a member from the chat and from the mini-program: after the link, one member.
    shell = await User.get(openid=shell_openid("wecom_bot", "li-si"))
    await Membership.create(user_id=shell.id, community_id=community.id)
    await Membership.create(user_id=account.id, community_id=community.id)

    resp = await journey.post("/api/v1/me/links", json={"token": token}, headers=headers)
    assert resp.status == 200, await resp.text()

    assert await Membership.filter(community_id=community.id, user_id=shell.id).count() == 0
    assert await Membership.filter(community_id=community.id, user_id=account.id).count() == 1
    admin = await operator()
    link = re.search(r"http\S+/console/login\?token=\S+", await _say(journey, "后台", "ops"))
    cookies = await _login(journey, link.group(0), home="/admin")
    page = await journey.get("/admin/users?q=li-si", headers={"Cookie": cookies})
    assert page.status == 200 and f'data-user="{shell.id}"' not in await page.text()
    html = await (await journey.get("/admin/users", headers={"Cookie": cookies})).text()
    listed = set(re.findall(r'data-user="([^"]+)"', html))
    head = await Team.get(code=code).values_list("head_id", flat=True)
    leader = community.leader_id
    assert listed == {str(account.id), str(admin.id), str(head), str(leader)}
    assert f"用户（{len(listed)}）" in html and "wecom_bot:li-si" not in html
