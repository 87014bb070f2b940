"""Development mode with no API base: WeChat, WeCom and WeChat Pay are the server's stand-in."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from models.bargain import Bargain
from models.community import Community
from models.groupbuy import Team
from models.growth import Withdrawal, WithdrawalStatus
from models.order import Order, OrderKind, OrderStatus
from models.outbox import OutboxMessage, OutboxStatus
from models.payment import Refund, RefundStatus
from models.user import Role, User
from qunshop.assembly.app import create_app
from qunshop.assembly.background import outbox_handlers
from qunshop.assembly.standin import PNG, PREFIX, unset_bases
from qunshop.config import Mode, Settings
from qunshop.keys import PAY, SETTINGS
from services import demo, earnings, groupbuy, notify, outbox, withdrawals
from services.auth import Principal
from tests.conftest import TEST_SECRETS
from tests.support.chat_sim import in_group
from tests.support.factories import auth, make_campaign, make_community, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.support.growth import paid_order
from wechat.api import PayError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def dev(database_url: str, redis_url: str | None) -> AsyncIterator[TestClient]:
    """A development server on the embedded defaults: no API base set, nor the public URL
    (it follows the port)."""
    port = free_port()
    settings = Settings(
        _env_file=None,
        mode=Mode.DEVELOPMENT,
        database_url=database_url,
        redis_url=redis_url,
        port=port,
        **TEST_SECRETS,
    )
    client = TestClient(TestServer(create_app(settings, background=False), port=port))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


def test_a_development_servers_public_url_follows_its_port() -> None:
    assert Settings(_env_file=None, port=8093).public_base_url == "http://127.0.0.1:8093"
    listening = Settings(_env_file=None, host="0.0.0.0", port=8094)
    assert listening.public_base_url == "http://127.0.0.1:8094"
    chosen = Settings(_env_file=None, port=8093, public_base_url="https://shop.example.cn/")
    assert chosen.public_base_url == "https://shop.example.cn"
    production = Settings(_env_file=None, mode=Mode.TEST, port=8093, **TEST_SECRETS)
    assert production.public_base_url == "http://127.0.0.1:8080"  # not guessed outside dev


def test_only_a_development_server_with_unset_bases_uses_the_stand_in() -> None:
    dev = Settings(_env_file=None, mode=Mode.DEVELOPMENT)
    assert unset_bases(dev) == ["wechat_api_base", "wecom_api_base", "pay_api_base"]
    chosen = Settings(_env_file=None, mode=Mode.DEVELOPMENT, pay_api_base="http://pay.local")
    assert unset_bases(chosen) == ["wechat_api_base", "wecom_api_base"]
    assert unset_bases(Settings(_env_file=None, mode=Mode.TEST, **TEST_SECRETS)) == []


async def test_the_demo_flow_completes_offline(
    dev: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = dev.server.app[SETTINGS]
    port = dev.server.port
    assert settings.wechat_api_base == f"http://127.0.0.1:{port}{PREFIX}"
    assert settings.pay_api_base == settings.wecom_api_base == settings.wechat_api_base

    campaign = await make_campaign(team_size=2, stock_cap=5, group_price=2990)
    shopper = await make_user()
    headers = auth(shopper, settings)
    started = await dev.post(f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=headers)
    assert started.status == 201, await started.text()
    order_id = (await started.json())["order"]["id"]

    # Prepay: signed XML from the stand-in, checked as WeChat Pay's answer is.
    prepay = await dev.post(f"/api/v1/orders/{order_id}/prepay", headers=headers)
    assert prepay.status == 200, await prepay.text()
    params = await prepay.json()
    assert params["package"].startswith("prepay_id=wx") and params["paySign"]

    # The mini-program code of a share: a PNG, not a DNS error.
    shared = await (await dev.get(f"/api/v1/campaigns/{campaign.id}/share", headers=headers)).json()
    image = await dev.get(shared["wxacode_url"].removeprefix(settings.public_base_url))
    assert image.status == 200 and image.content_type == "image/png"
    assert await image.read() == PNG

    paid = await dev.post(f"/api/v1/dev/orders/{order_id}/simulate-payment", headers=headers)
    assert paid.status == 200, await paid.text()
    assert (await Order.get(id=order_id)).status is OrderStatus.PAID_AWAITING_TEAM

    # Nobody else joins: the team fails, the refund goes to the stand-in, which notifies back.
    team = await Team.get(campaign_id=campaign.id)
    after = team.deadline_at + timedelta(seconds=1)
    await groupbuy.close_team(team.id, now=after)
    community = await Community.get(id=campaign.community_id)
    await Community.filter(id=community.id).update(robot_key="demo-robot-key")
    community.robot_key = "demo-robot-key"
    # A group message too, as the clock sends them: to the stand-in's robot webhook.
    assert await notify.to_group(
        community=community, message=notify.text("拼团未成，已退款"), dedupe_key="t", now=after
    )
    handlers = outbox_handlers(dev.server.app)
    # the refund, the group message, and the team-failed news (fanned out on the next run)
    assert await outbox.run_once(handlers, now=after) == 3
    assert await OutboxMessage.filter(status=OutboxStatus.DONE).count() == 3
    refund = await Refund.get(order_id=order_id)
    for _ in range(50):  # the refund notify arrives a moment after the refund's answer
        await refund.refresh_from_db()
        if refund.status is RefundStatus.SUCCEEDED:
            break
        await asyncio.sleep(0.1)
    assert refund.status is RefundStatus.SUCCEEDED
    assert (await Order.get(id=order_id)).status is OrderStatus.REFUNDED
    logged: list[Any] = [r.getMessage() for r in caplog.records]
    assert not [m for m in logged if "unreachable" in m or "Cannot connect" in m], logged

    # Had the notify been lost, the clock's refundquery would hear the same from the stand-in.
    pay_client = dev.server.app[PAY]
    answer = await pay_client.refund_query(out_refund_no=refund.out_refund_no)
    assert (answer["out_refund_no_0"], answer["refund_status_0"]) == (
        refund.out_refund_no,
        "SUCCESS",
    )
    with pytest.raises(PayError) as unknown:
        await pay_client.refund_query(out_refund_no="RF-nobody-asked")
    assert unknown.value.code == "REFUNDNOTEXIST"


async def test_a_team_share_gets_its_updatable_card_from_the_stand_in(dev: TestClient) -> None:
    """activityid/create and updatablemsg/send answer offline (WECHAT.md section 11)."""
    settings = dev.server.app[SETTINGS]
    campaign = await make_campaign(team_size=2, stock_cap=5, group_price=2990)
    headers = auth(await make_user(), settings)
    started = await dev.post(f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=headers)
    code = (await started.json())["team"]["code"]
    shared = await (await dev.get(f"/api/v1/teams/{code}/share", headers=headers)).json()
    assert shared["updatable"]["activity_id"].startswith("activity")
    assert shared["updatable"]["room_limit"] == 2

    base = f"{settings.wechat_api_base}/cgi-bin/message/wxopen/updatablemsg/send"
    body = {
        "activity_id": shared["updatable"]["activity_id"],
        "target_state": 0,
        "template_info": {"parameter_list": [{"name": "member_count", "value": "1"}]},
    }
    sent = await dev.session.post(base, params={"access_token": "t"}, json=body)
    assert (await sent.json())["errcode"] == 0
    empty = await dev.session.post(base, params={"access_token": "t"}, data=b"")
    assert (await empty.json())["errcode"] == 44002


async def test_content_security_answers_and_pushes_image_verdicts_offline(
    dev: TestClient,
) -> None:
    """msg_sec_check passes; mediaCheckAsync answers a trace_id and, as WeChat does, pushes
    the verdict to /bot/wechat (signed with the server's token), which shows the post."""
    from models.moderation import ItemStatus, ModerationItem
    from tests.support.factories import join, make_community

    settings = dev.server.app[SETTINGS]
    community = await make_community()
    user = await make_user()
    await join(user, community)
    resp = await dev.post(
        f"/api/v1/communities/{community.id}/posts",
        json={"text": "晒单", "images": ["https://img.example.com/x.jpg"]},
        headers=auth(user, settings),
    )
    written = await resp.json()
    assert resp.status == 201 and written["held"] is True, written
    item = await ModerationItem.get(ref=written["post"]["id"])
    for _ in range(50):
        await asyncio.sleep(0.1)
        item = await ModerationItem.get(id=item.id)
        if item.status is ItemStatus.APPROVED:
            break
    assert item.status is ItemStatus.APPROVED
    feed = await (await dev.get(f"/api/v1/communities/{community.id}/posts")).json()
    assert [p["text"] for p in feed["items"]] == ["晒单"]


async def test_a_second_prepay_of_an_order_gets_the_same_prepay_id(dev: TestClient) -> None:
    """As WeChat Pay answers the same out_trade_no: a page retried, or a join with pay
    replayed under its Idempotency-Key, opens the same cashier (README)."""
    settings = dev.server.app[SETTINGS]
    campaign = await make_campaign(team_size=2)
    headers = auth(await make_user(), settings)
    started = await dev.post(f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=headers)
    order_id = (await started.json())["order"]["id"]
    packages = []
    for _ in range(2):
        prepay = await dev.post(f"/api/v1/orders/{order_id}/prepay", headers=headers)
        assert prepay.status == 200, await prepay.text()
        packages.append((await prepay.json())["package"])
    assert packages[0] == packages[1]


async def test_a_shared_team_page_on_a_phone_offers_its_join_button_offline(
    dev: TestClient,
) -> None:
    """generate_urllink answers a link, so the H5 page's 参团 button shows in the demo too
    (it answered {errcode: 0} with no link, which reads as refused: a phone got only a QR)."""
    campaign = await make_campaign(team_size=2, stock_cap=5, group_price=2990)
    headers = auth(await make_user(), dev.server.app[SETTINGS])
    started = await dev.post(f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=headers)
    code = (await started.json())["team"]["code"]
    html = await (await dev.get(f"/h5/teams/{code}")).text()
    assert f'<a class="btn mobile-only" href="http://127.0.0.1:{dev.port}{PREFIX}/urllink?' in html


async def test_the_readme_walk_takes_the_demo_teams_head_from_the_chat_to_paying(
    dev: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The chat sender ``demo-shopper`` is the demo team's head, and so is the mini-program
    sign-in with the code ``demo-shopper`` (the stand-in's jscode2session): the head pays,
    two more sign in, join and pay, and the group hears 成团."""
    caplog.set_level(logging.INFO)
    settings = dev.server.app[SETTINGS]
    await demo.seed(settings=settings)
    team = await Team.get()
    (head_order,) = await Order.filter(team_id=team.id)
    async with aiohttp.ClientSession() as http:
        chat = in_group(dev, settings, http, user="demo-shopper", group="demo-group-chat")
        alone = in_group(dev, settings, http, user="demo-shopper", group=None)
        assert any("私聊" in line for line in await chat.say("我的订单"))  # not to the group
        before = await alone.say("我的订单")
        assert any("待支付" in line for line in before), before

        async def signed_in(code: str) -> dict[str, str]:
            resp = await dev.post("/api/v1/session", json={"code": code})
            assert resp.status == 200, await resp.text()
            return {"Authorization": f"Bearer {(await resp.json())['token']}"}

        async def pays(order_id: str, headers: dict[str, str]) -> None:
            paid = await dev.post(
                f"/api/v1/dev/orders/{order_id}/simulate-payment", headers=headers
            )
            assert paid.status == 200, await paid.text()

        head = await signed_in("demo-shopper")
        listed = await (await dev.get("/api/v1/orders", headers=head)).json()
        assert [o["id"] for o in listed["items"]] == [str(head_order.id)]
        await pays(str(head_order.id), head)
        assert any("已付款" in line for line in await alone.say("我的订单"))
        for code in ("li-si", "wang-wu"):
            shopper = await signed_in(code)
            joined = await dev.post(f"/api/v1/teams/{team.code}/join", json={}, headers=shopper)
            assert joined.status == 201, await joined.text()
            await pays((await joined.json())["order"]["id"], shopper)
    for _ in range(2):  # the team's news, then what it fans out to (the group's robot)
        await outbox.run_once(outbox_handlers(dev.server.app), now=datetime.now(tz=UTC))
    robot = [m for m in (r.getMessage() for r in caplog.records) if "webhook/send" in m]
    assert any("成团" in line and team.code in line for line in robot), robot


async def test_the_readme_walk_bargains_on_the_demo_rice_in_the_demo_group(
    dev: TestClient,
) -> None:
    """The demo opens its rice for bargaining: in the demo group li-si finds it with 砍价,
    starts one, a friend cuts it, someone else may not buy it, and she buys at the price
    reached, as the README walks it."""
    settings = dev.server.app[SETTINGS]
    await demo.seed(settings=settings)
    async with aiohttp.ClientSession() as http:

        def member(user: str) -> Any:
            return in_group(dev, settings, http, user=user, group="demo-group-chat")

        li, wang, zhao = member("li-si"), member("wang-wu"), member("zhao-liu")
        listed = "\n".join(await li.say("砍价"))
        assert "1. 东北五常大米（10斤） ¥59.90，找 3 位好友砍到 ¥9.90" in listed, listed
        started = "\n".join(await li.say("砍价 1"))
        bargain = await Bargain.get()
        assert f"「帮砍 {bargain.code}」" in started and f"砍价购买 {bargain.code}" in started
        assert "你帮忙砍掉了" in "\n".join(await wang.say(f"帮砍 {bargain.code}"))
        theirs = "\n".join(await zhao.say(f"砍价购买 {bargain.code}"))
        assert "是别人发起的" in theirs and not await Order.filter(kind=OrderKind.BARGAIN)
        bought = "\n".join(await li.say(f"砍价购买 {bargain.code}"))
        price = (await Bargain.get()).price_now
        # The group reads that she ordered, not for how much; alone, 砍价 says it and that
        # the order waits for her payment.
        assert "已按砍后价下单。" in bought and f"{price / 100:.2f}" not in bought, bought
        alone = in_group(dev, settings, http, user="li-si", group=None)
        waiting = "\n".join(await alone.say("砍价"))
        assert f"已按 ¥{price / 100:.2f} 下单，待付款" in waiting and price < 5990, waiting


async def test_the_stand_in_signs_in_no_chat_only_user(dev: TestClient) -> None:
    """A chat-only user's openid has a colon; no code the stand-in takes becomes one."""
    resp = await dev.post("/api/v1/session", json={"code": "wecom_bot:li-si"})
    assert resp.status == 401 and (await resp.json())["code"] == "wechat_code_invalid"


async def test_the_join_button_offline_opens_a_local_page_whose_steps_join(
    dev: TestClient,
) -> None:
    """Offline, WeChat's wxaurl.cn cannot be reached: the stand-in's URL link is its own page
    (development only), naming the mini-program page it stands for and the API calls that do
    what that page would; those calls join the team and pay."""
    campaign = await make_campaign(team_size=3, stock_cap=5, group_price=2990)
    headers = auth(await make_user(), dev.server.app[SETTINGS])
    started = await dev.post(f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=headers)
    code = (await started.json())["team"]["code"]
    html = await (await dev.get(f"/h5/teams/{code}")).text()
    link = re.search(r'<a class="btn mobile-only" href="([^"]+)"', html).group(1)
    assert "wxaurl.cn" not in link and link.startswith(f"http://127.0.0.1:{dev.port}/__dev/")
    page = await dev.get(link.split(str(dev.port), 1)[1].replace("&amp;", "&"))
    text = unescape(await page.text())
    assert page.status == 200 and "开发环境" in text
    assert f"pages/team/index?code={code}" in text and f"/api/v1/teams/{code}/join" in text

    # The page's calls, as a person would paste them: sign in, join, pay.
    signed = await dev.post("/api/v1/session", json={"code": "dev-neighbour"})
    neighbour = {"Authorization": f"Bearer {(await signed.json())['token']}"}
    joined = await dev.post(f"/api/v1/teams/{code}/join", json={}, headers=neighbour)
    assert joined.status == 201, await joined.text()
    order_id = (await joined.json())["order"]["id"]
    paid = await dev.post(f"/api/v1/dev/orders/{order_id}/simulate-payment", headers=neighbour)
    assert paid.status == 200, await paid.text()
    assert await Order.filter(team__code=code, paid_at__not_isnull=True).count() == 1


async def test_the_stand_in_page_is_not_served_outside_development(client: TestClient) -> None:
    resp = await client.get("/__dev/wechat/urllink?path=pages/team/index&query=code%3DX")
    assert resp.status == 404


async def test_a_withdrawal_is_paid_into_wechat_change_by_the_stand_in(dev: TestClient) -> None:
    """提现 offline: the API asks, an operator approves, the outbox's 企业付款到零钱 reaches
    the stand-in, which pays once per partner_trade_no and refuses less than ¥1."""
    settings = dev.server.app[SETTINGS]
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    order = await paid_order(settings, FakeWeChat(), await make_user(), community, price=100_000)
    await earnings.on_completed(order, now=datetime.now(tz=UTC))
    made = await dev.post(
        "/api/v1/me/withdrawals", json={"amount": 2_000}, headers=auth(leader, settings)
    )
    assert made.status == 201, await made.text()
    admin = await make_user(Role.ADMIN)
    await withdrawals.decide(
        principal=Principal(user_id=admin.id, role=Role.ADMIN),
        withdrawal_id=(await made.json())["id"],
        approve=True,
        reason="",
        now=datetime.now(tz=UTC),
    )
    await outbox.run_once(outbox_handlers(dev.server.app), now=datetime.now(tz=UTC))
    (paid,) = await Withdrawal.all()
    assert paid.status is WithdrawalStatus.PAID and paid.payment_no.startswith("10100")
    assert (await earnings.balance(leader.id)).available == 3_000

    pay_client = dev.server.app[PAY]
    again = await pay_client.transfer(
        partner_trade_no=paid.partner_trade_no, openid=paid.openid, amount=2_000, desc="提现"
    )
    assert again["payment_no"] == paid.payment_no
    with pytest.raises(PayError) as small:
        await pay_client.transfer(partner_trade_no="n2", openid=paid.openid, amount=99, desc="提现")
    assert (small.value.code, small.value.retryable) == ("AMOUNT_LIMIT", False)
