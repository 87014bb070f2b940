"""The after-sales console as the person deciding a refund reads it: who asked and how to reach
them, the order, what is asked and what went back already, when the clock decides; each
request's own page, with the way back; a list that pages and costs the same statements
however long it is."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient

from models.aftersale import AfterSale
from models.chat import ChatIdentity
from models.community import Community
from models.order import Order
from models.payment import Refund, RefundStatus
from models.user import User
from qunshop.assembly.background import outbox_handlers
from qunshop.chat import Platform
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from services import aftersale_board, outbox
from tests.support.aftersale_world import decided, paid_order, refund_asked
from tests.support.factories import auth, make_community, make_sku, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.support.statements import Statements
from tests.web.test_aftercare_pages import _admin_session, _csrf, _leader_session

PHOTO = "https://img.example.com/rotten.jpg"


async def asked_through_the_api(
    client: TestClient,
    settings: Settings,
    wechat: FakeWeChat,
    clock: FrozenClock,
    community: Community,
) -> tuple[Order, dict]:
    """小王 (in the WeCom group as wang-xiao) pays ¥39.80 for two boxes, then asks ¥12.00
    back through the mini-program API, with a reason and a photo."""
    buyer = await make_user(nickname="小王")
    await ChatIdentity.create(
        platform=Platform.WECOM_BOT.value, external_id="wang-xiao", user=buyer
    )
    sku = await make_sku(community, price=1990)
    order = await paid_order(
        settings,
        wechat,
        now=clock.now(),
        community=community,
        buyer=buyer,
        sku_id=str(sku.id),
        quantity=2,
    )
    asked = await client.post(
        f"/api/v1/orders/{order.id}/after-sales",
        json={
            "kind": "refund_only",
            "reason": "quality",
            "detail": "两盒草莓烂了一半",
            "photos": [PHOTO],
            "amount": 1200,
        },
        headers=auth(buyer, settings, clock.now()),
    )
    assert asked.status == 201, await asked.text()
    return order, await asked.json()


async def test_the_list_and_the_request_page_say_what_a_refund_decision_needs(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    community = await make_community(name="幸福里社区")
    leader = await User.get(id=community.leader_id)
    order, sale = await asked_through_the_api(web_client, settings, wechat, clock, community)
    cookies = await _leader_session(web_client, leader)

    html = await (await web_client.get("/console/after-sales", headers={"Cookie": cookies})).text()
    # START is 10:00 in Shanghai; 48 hours later the clock approves it.
    for seen in (
        "小王 · 企业微信 wang-xiao",
        "×2",
        order.out_trade_no,
        "已付款，待到货",  # a direct order: no team to form
        "未提货",
        "¥39.80，还没有退过款",
        "仅退款 ¥12.00</strong> · 质量问题",
        "2026-03-02 10:00",
        "2026-03-04 10:00 前不处理将自动同意并退款",
        "两盒草莓烂了一半",
        f'href="/console/after-sales/{sale["id"]}"',
    ):
        assert seen in html, seen

    page = await web_client.get(f"/console/after-sales/{sale['id']}", headers={"Cookie": cookies})
    detail = await page.text()
    assert page.status == 200 and "售后申请 · 小王" in detail
    assert '<a href="/console/after-sales">← 返回售后列表</a>' in detail
    assert f'<img src="{PHOTO}"' in detail and "2026-03-04 10:00" in detail
    approved = await web_client.post(
        "/console/after-sales/approve",
        data={"csrf_token": _csrf(detail), "after_sale_id": sale["id"], "confirm": "yes"},
        headers={"Cookie": cookies},
    )
    told = await approved.text()
    assert approved.url.path == f"/console/after-sales/{sale['id']}"
    assert "已同意，¥12.00 将原路退回买家的微信" in told
    assert "已同意 · 2026-03-02 10:00 · 退款待发起" in told
    assert "自动同意</dt>" not in told and 'action="/console/after-sales/approve"' not in told
    again = await web_client.post(
        "/console/after-sales/approve",
        data={"csrf_token": _csrf(detail), "after_sale_id": sale["id"]},
        headers={"Cookie": cookies, "Referer": str(approved.url)},
    )
    said = await again.text()
    assert again.status == 409 and "这个售后申请已经处理过了" in said
    assert f'href="/console/after-sales/{sale["id"]}?note=' in said  # the way back, not a dead end


async def test_another_communitys_request_is_not_found_for_a_leader_but_seen_by_an_operator(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    ours = await make_community(name="幸福里社区")
    theirs = await make_community(name="阳光花园")
    _, sale = await asked_through_the_api(web_client, settings, wechat, clock, theirs)
    leader = await User.get(id=ours.leader_id)
    cookies = await _leader_session(web_client, leader)
    hidden = await web_client.get(f"/console/after-sales/{sale['id']}", headers={"Cookie": cookies})
    assert hidden.status == 404 and "没有找到这个售后申请" in await hidden.text()
    ops = await _admin_session(web_client)
    seen = await web_client.get(f"/console/after-sales/{sale['id']}", headers={"Cookie": ops})
    assert seen.status == 200 and "小王 · 企业微信 wang-xiao" in await seen.text()


async def test_decided_requests_page_by_keyset(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    community = await make_community(name="幸福里社区")
    leader = await User.get(id=community.leader_id)
    for _ in range(23):
        clock.advance(timedelta(minutes=1))
        order = await paid_order(settings, wechat, now=clock.now(), community=community)
        sale = await refund_asked(order, clock.now())
        await decided(sale, leader, clock.now(), approve=False, note="已当面换货")
    cookies = await _leader_session(web_client, leader)
    first = await (await web_client.get("/console/after-sales", headers={"Cookie": cookies})).text()
    assert first.count("已拒绝 · ") == 20 and "待处理的售后（0）" in first
    more = re.search(r'href="(/console/after-sales\?after=[^"]+)"', first).group(1)
    second = await (await web_client.get(more, headers={"Cookie": cookies})).text()
    assert second.count("已拒绝 · ") == 3 and "待处理的售后" not in second
    assert "更早的" not in second and "← 回到第一页" in second
    shown = set(re.findall(r'data-after-sale="([^"]+)"', first + second))
    assert shown == {str(s.id) for s in await AfterSale.all()}


async def test_the_list_costs_the_same_statements_however_many_requests(
    web_client: TestClient,
    settings: Settings,
    wechat: FakeWeChat,
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    community = await make_community(name="幸福里社区")
    leader = await User.get(id=community.leader_id)
    cookies = await _leader_session(web_client, leader)
    statements = Statements(caplog)
    counts = []
    for each in (1, 6):  # waiting and decided: 1 of each, then 7 of each
        for decide in [False] * each + [True] * each:
            order = await paid_order(settings, wechat, now=clock.now(), community=community)
            sale = await refund_asked(order, clock.now(), photos=(PHOTO,))
            if decide:
                await decided(sale, leader, clock.now())
        statements.start()
        page = await web_client.get("/console/after-sales", headers={"Cookie": cookies})
        shown = (await page.text()).count("data-after-sale=")
        counts.append((shown, len(statements.since())))
    # Each list: the requests joined with order, goods and buyer, then their payments, chats
    # and home deliveries; and the session. 2 requests or 14, the same statements.
    assert counts[0][0] == 2 and counts[1][0] == 14
    assert counts[0][1] == counts[1][1] <= 10, counts


async def test_a_full_waiting_queue_says_how_many_more_wait(
    web_client: TestClient,
    settings: Settings,
    wechat: FakeWeChat,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Five wait and a queue lists three (100 in earnest): the console's heading counts all
    five and says two are not listed; the leader API answers the same total. Deciding one
    lists the next."""
    monkeypatch.setattr(aftersale_board, "WAITING_MAX", 3)
    community = await make_community(name="幸福里社区")
    leader = await User.get(id=community.leader_id)
    sales = []
    for _ in range(5):
        clock.advance(timedelta(minutes=1))  # the first asked is the first due
        order = await paid_order(settings, wechat, now=clock.now(), community=community)
        sales.append(await refund_asked(order, clock.now()))
    cookies = await _leader_session(web_client, leader)

    page = await (await web_client.get("/console/after-sales", headers={"Cookie": cookies})).text()
    assert "待处理的售后（5）" in page
    assert "还有 2 件没有列出：这里先列出截止时间最早的 3 件" in page
    assert re.findall(r'data-after-sale="([^"]+)"', page) == [str(s.id) for s in sales[:3]]

    api = auth(leader, settings, clock.now())
    queue = await (await web_client.get("/api/v1/leader/after-sales", headers=api)).json()
    assert [i["id"] for i in queue["items"]] == [str(s.id) for s in sales[:3]]
    assert queue["total"] == 5

    await decided(sales[0], leader, clock.now())
    queue = await (
        await web_client.get("/api/v1/leader/after-sales?status=pending", headers=api)
    ).json()
    assert [i["id"] for i in queue["items"]] == [str(s.id) for s in sales[1:4]]
    assert queue["total"] == 4
    page = await (await web_client.get("/console/after-sales", headers={"Cookie": cookies})).text()
    assert "待处理的售后（4）" in page and "还有 1 件没有列出" in page


async def test_a_queue_that_fits_says_nothing_more(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    community = await make_community(name="幸福里社区")
    leader = await User.get(id=community.leader_id)
    order = await paid_order(settings, wechat, now=clock.now(), community=community)
    await refund_asked(order, clock.now())
    cookies = await _leader_session(web_client, leader)
    page = await (await web_client.get("/console/after-sales", headers={"Cookie": cookies})).text()
    assert "待处理的售后（1）" in page and "没有列出" not in page
    api = auth(leader, settings, clock.now())
    queue = await (await web_client.get("/api/v1/leader/after-sales", headers=api)).json()
    assert (len(queue["items"]), queue["total"]) == (1, 1)


async def test_the_money_line_and_the_result_follow_the_refund(
    web_client: TestClient, web_app, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    """Approved, the refund is owed but not sent: 退款中 beside 退款待发起, never 已退; once
    WeChat Pay has paid it back (the outbox sends it, the notify settles it): 已退 beside
    已退到买家微信."""
    community = await make_community(name="幸福里社区")
    leader = await User.get(id=community.leader_id)
    order, sale = await asked_through_the_api(web_client, settings, wechat, clock, community)
    cookies = await _leader_session(web_client, leader)
    page = f"/console/after-sales/{sale['id']}"
    detail = await (await web_client.get(page, headers={"Cookie": cookies})).text()
    await web_client.post(
        "/console/after-sales/approve",
        data={"csrf_token": _csrf(detail), "after_sale_id": sale["id"], "confirm": "yes"},
        headers={"Cookie": cookies},
    )
    owed = await (await web_client.get(page, headers={"Cookie": cookies})).text()
    assert "¥39.80，退款中 ¥12.00，还剩 ¥27.80" in owed and "退款待发起" in owed
    assert "已退 ¥" not in owed

    handlers = outbox_handlers(web_app)
    while await outbox.run_once(handlers, now=clock.now()):
        pass
    refund = await Refund.get(order_id=order.id)
    body = wechat.refund_done(refund.out_refund_no)
    assert (await web_client.post("/pay/wechat/refund-notify", data=body)).status == 200
    assert (await Refund.get(id=refund.id)).status is RefundStatus.SUCCEEDED
    sent = await (await web_client.get(page, headers={"Cookie": cookies})).text()
    assert "¥39.80，已退 ¥12.00，还剩 ¥27.80" in sent and "已退到买家微信" in sent
    assert "退款中" not in sent and "退款待发起" not in sent
