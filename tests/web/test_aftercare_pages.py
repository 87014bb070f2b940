"""The console pages of after-sales (a leader), group claims and reconciliation (an operator):
each decision made on a page is the service's, once, with CSRF."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient

from models.aftersale import AfterSale, AfterSaleKind, AfterSaleReason, AfterSaleStatus
from models.audit import AuditEntry
from models.chat import ChatIdentity
from models.claim import ClaimStatus, GroupClaim
from models.moderation import ItemStatus, ModerationItem
from models.outbox import OutboxMessage, OutboxStatus
from models.payment import Refund
from models.reconciliation import BillDifference, BillRun, BillRunStatus, DifferenceKind
from models.user import User
from qunshop.chat import Platform
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from services import aftersales, claims, pickup
from tests.support.aftersale_world import paid_order, principal_of, refund_asked
from tests.support.factories import auth, make_community, make_sku, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.web.admin_world import operator
from tests.web.test_console import _login, _say


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def _leader_session(client: TestClient, leader: User) -> str:
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id="liu", user=leader)
    link = re.search(r"http\S+/console/login\?token=\S+", await _say(client, "后台", "liu"))
    return await _login(client, link.group(0))


async def _admin_session(client: TestClient) -> str:
    await operator()
    link = re.search(r"http\S+/console/login\?token=\S+", await _say(client, "后台", "ops"))
    return await _login(client, link.group(0), home="/admin")


async def test_a_leader_decides_after_sales_on_the_console(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    community = await make_community(name="幸福里社区")
    leader = await User.get(id=community.leader_id)
    cookies = await _leader_session(web_client, leader)
    asks = []
    for detail in ("三个烂了", "不新鲜"):
        order = await paid_order(settings, wechat, now=clock.now(), community=community)
        asks.append(
            await refund_asked(
                order, clock.now(), detail=detail, photos=("https://img.example.com/1.jpg",)
            )
        )
    page = await web_client.get("/console/after-sales", headers={"Cookie": cookies})
    html = await page.text()
    assert page.status == 200 and "待处理的售后（2）" in html and "三个烂了" in html
    assert 'href="https://img.example.com/1.jpg"' in html
    csrf = _csrf(html)
    # Money back and a refusal cannot be undone: the first press asks, and changes nothing.
    for verb, fields, asked in (
        ("approve", {"after_sale_id": str(asks[0].id)}, "同意退款 ¥5.00 给"),
        ("reject", {"after_sale_id": str(asks[1].id), "reason": "照片看不出问题"}, "拒绝"),
    ):
        question = await web_client.post(
            f"/console/after-sales/{verb}",
            data={"csrf_token": csrf, **fields},
            headers={"Cookie": cookies},
        )
        shown = await question.text()
        assert question.status == 200 and "data-confirm" in shown and asked in shown
        assert 'name="confirm" value="yes"' in shown and "不能再改成" in shown
        assert f'action="/console/after-sales/{verb}"' in shown  # posts back to the same verb
        for name, value in fields.items():  # the reason too, as it was typed
            assert f'name="{name}" value="{value}"' in shown
    assert await AfterSale.filter(status=AfterSaleStatus.PENDING).count() == 2
    assert await Refund.all().count() == 0 and await AuditEntry.all().count() == 0
    unexplained = await web_client.post(  # a refusal's missing reason is told before asking
        "/console/after-sales/reject",
        data={"csrf_token": csrf, "after_sale_id": str(asks[1].id)},
        headers={"Cookie": cookies},
    )
    assert unexplained.status == 400 and "data-confirm" not in await unexplained.text()
    approved = await web_client.post(
        "/console/after-sales/approve",
        data={"csrf_token": csrf, "after_sale_id": str(asks[0].id), "confirm": "yes"},
        headers={"Cookie": cookies},
    )
    assert approved.status == 200 and "已同意，¥5.00 将原路退回" in await approved.text()
    rejected = await web_client.post(
        "/console/after-sales/reject",
        data={
            "csrf_token": csrf,
            "after_sale_id": str(asks[1].id),
            "reason": "照片看不出问题",
            "confirm": "yes",
        },
        headers={"Cookie": cookies},
    )
    # Each decision lands on the request's own page, which says what became of it.
    assert rejected.status == 200 and "已拒绝 · " in await rejected.text()
    assert rejected.url.path == f"/console/after-sales/{asks[1].id}"
    listed = await web_client.get("/console/after-sales", headers={"Cookie": cookies})
    assert "待处理的售后（0）" in await listed.text()
    # Both asked at the same frozen instant: matched by id, not by creation order.
    assert {s.id: s.status for s in await AfterSale.all()} == {
        asks[0].id: AfterSaleStatus.APPROVED,
        asks[1].id: AfterSaleStatus.REJECTED,
    }
    assert await Refund.all().count() == 1
    # The leader's two decisions are in the audit log, as the operators read it.
    entries = await AuditEntry.all().order_by("at", "action")
    assert [(e.action, e.target, e.actor_id) for e in entries] == [
        ("after_sale.approve", f"after_sale:{asks[0].id}", leader.id),
        ("after_sale.reject", f"after_sale:{asks[1].id}", leader.id),
    ]
    assert entries[0].after["refunded"] == 500 and entries[1].after["note"] == "照片看不出问题"
    twice = await web_client.post(
        "/console/after-sales/approve",
        data={"csrf_token": csrf, "after_sale_id": str(asks[0].id)},
        headers={"Cookie": cookies},
    )
    assert twice.status == 409 and await Refund.all().count() == 1
    forged = await web_client.post(
        "/console/after-sales/approve",
        data={"after_sale_id": str(asks[1].id)},
        headers={"Cookie": cookies},
    )
    assert forged.status == 403


async def _filed_claim(settings: Settings, wechat: FakeWeChat, clock: FrozenClock) -> GroupClaim:
    """A leader's claim for one crushed ¥12.00 unit of today's delivery."""
    community = await make_community()
    leader = principal_of(await User.get(id=community.leader_id))
    sku = await make_sku(community, price=1200)
    await paid_order(settings, wechat, now=clock.now(), community=community, sku_id=str(sku.id))
    await pickup.arrived(principal=leader, community_id=str(community.id), now=clock.now())
    return await claims.file(
        principal=leader,
        community_id=str(community.id),
        filing=claims.Filing(
            sku_id=str(sku.id),
            delivery_date=clock.now().astimezone(ZoneInfo(community.timezone)).date(),
            units=1,
            reason="整箱压坏",
        ),
        now=clock.now(),
    )


async def test_an_operator_approves_a_claim_and_resolves_a_bill_difference(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    claim = await _filed_claim(settings, wechat, clock)
    cookies = await _admin_session(web_client)
    page = await web_client.get("/admin/claims", headers={"Cookie": cookies})
    html = await page.text()
    assert "待审核的理赔（1）" in html and "整箱压坏" in html and "¥12.00" in html
    fields = {"csrf_token": _csrf(html), "claim_id": str(claim.id)}
    question = await web_client.post(
        "/admin/claims/approve", data=fields, headers={"Cookie": cookies}
    )
    shown = await question.text()
    assert "批准这笔理赔（1 件，共 ¥12.00）并退款？" in shown and "确认批准并退款" in shown
    assert (await GroupClaim.get(id=claim.id)).status is ClaimStatus.PENDING  # nothing yet
    assert await Refund.all().count() == 0 and await AuditEntry.all().count() == 0
    done = await web_client.post(
        "/admin/claims/approve", data=fields | {"confirm": "yes"}, headers={"Cookie": cookies}
    )
    assert done.status == 200 and "已批准，共退 ¥12.00" in await done.text()
    assert (await GroupClaim.get(id=claim.id)).status is ClaimStatus.APPROVED
    assert await Refund.all().count() == 1
    (entry,) = await AuditEntry.filter(action="claim.approve")
    assert entry.target == f"claim:{claim.id}" and entry.after["refunded"] == 1200
    audit = await (await web_client.get("/admin/audit", headers={"Cookie": cookies})).text()
    assert "批准理赔" in audit

    run = await BillRun.create(
        bill_date=date(2026, 3, 1),
        status=BillRunStatus.DONE,
        payments=3,
        differences=1,
        ran_at=clock.now() - timedelta(hours=1),
    )
    item = await BillDifference.create(
        run=run,
        kind=DifferenceKind.PAID_UNKNOWN,
        subject="payment",
        out_trade_no="QSNOTOURS",
        bill_amount=990,
    )
    page = await web_client.get("/admin/reconciliation", headers={"Cookie": cookies})
    html = await page.text()
    assert "2026-03-01 的差异（1）" in html and "账单有、我们没有" in html and "¥9.90" in html
    resolved = await web_client.post(
        "/admin/reconciliation/resolve",
        data={"csrf_token": _csrf(html), "difference_id": str(item.id), "note": "他店订单"},
        headers={"Cookie": cookies},
    )
    assert resolved.status == 200 and "已处理：他店订单" in await resolved.text()
    assert (await BillDifference.get(id=item.id)).resolved_at == clock.now()
    assert isinstance(clock.now(), datetime)
    for day in ("2020-01-01", "昨天"):  # a day never reconciled, a date mistyped: said so
        missing = await web_client.get(
            f"/admin/reconciliation?date={day}", headers={"Cookie": cookies}
        )
        said = await missing.text()
        assert missing.status == 404 and "没有这一天的对账记录" in said, said
        assert "页面不存在" not in said


async def test_an_operator_is_asked_before_a_claim_is_refused(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    claim = await _filed_claim(settings, wechat, clock)
    cookies = await _admin_session(web_client)
    html = await (await web_client.get("/admin/claims", headers={"Cookie": cookies})).text()
    fields = {"csrf_token": _csrf(html), "claim_id": str(claim.id), "reason": "照片是别家的"}
    question = await web_client.post(
        "/admin/claims/reject", data=fields, headers={"Cookie": cookies}
    )
    shown = await question.text()
    assert "驳回这笔理赔（1 件，共 ¥12.00）？" in shown and "不能再改成批准" in shown
    assert 'name="reason" value="照片是别家的"' in shown
    assert (await GroupClaim.get(id=claim.id)).status is ClaimStatus.PENDING
    assert await AuditEntry.all().count() == 0
    done = await web_client.post(
        "/admin/claims/reject", data=fields | {"confirm": "yes"}, headers={"Cookie": cookies}
    )
    assert done.status == 200 and "已驳回" in await done.text()
    refused = await GroupClaim.get(id=claim.id)
    assert refused.status is ClaimStatus.REJECTED and refused.note == "照片是别家的"
    assert await Refund.all().count() == 0


async def test_the_console_shows_what_the_buyer_kept_after_earlier_refunds(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    """A second request on an order partly refunded already: the leader reads what the buyer
    paid, what went back and what they kept, not the order's price as if nothing had."""
    community = await make_community(name="幸福里社区")
    leader = await User.get(id=community.leader_id)
    order = await paid_order(settings, wechat, now=clock.now(), community=community, price=1990)
    buyer = principal_of(await User.get(id=order.user_id))

    def ask(amount: int | None) -> aftersales.Ask:
        return aftersales.Ask(
            kind=AfterSaleKind.REFUND_ONLY, reason=AfterSaleReason.QUALITY, amount=amount
        )

    first = await aftersales.request(
        principal=buyer,
        order_id=str(order.id),
        ask=ask(500),
        now=clock.now(),
        response_hours=48,
        after_sale_days=7,
    )
    await aftersales.decide(
        principal=principal_of(leader),
        after_sale_id=str(first.id),
        approve=True,
        note="",
        now=clock.now(),
    )
    await aftersales.request(
        principal=buyer,
        order_id=str(order.id),
        ask=ask(None),
        now=clock.now(),
        response_hours=48,
        after_sale_days=7,
    )
    cookies = await _leader_session(web_client, leader)
    html = await (await web_client.get("/console/after-sales", headers={"Cookie": cookies})).text()
    assert "仅退款 ¥14.90" in html
    assert "¥19.90，退款中 ¥5.00，还剩 ¥14.90" in html


async def test_a_leaders_own_request_shows_no_decision_on_their_console(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    community = await make_community(name="幸福里社区")
    leader = await User.get(id=community.leader_id)
    cookies = await _leader_session(web_client, leader)
    own = await paid_order(settings, wechat, now=clock.now(), community=community, buyer=leader)
    theirs = await paid_order(settings, wechat, now=clock.now(), community=community)
    for order in (own, theirs):
        await refund_asked(order, clock.now())
    html = await (await web_client.get("/console/after-sales", headers={"Cookie": cookies})).text()
    assert "待处理的售后（2）" in html
    # Both listed; only the buyer's request can be decided here (services refuse the own one).
    assert html.count("这是你自己的申请，由运营处理。") == 1
    assert html.count('action="/console/after-sales/approve"') == 1
    mine = await AfterSale.get(order_id=own.id)
    forged = await web_client.post(  # posted anyway: refused at once, not asked about first
        "/console/after-sales/approve",
        data={"csrf_token": _csrf(html), "after_sale_id": str(mine.id)},
        headers={"Cookie": cookies},
    )
    refused = await forged.text()
    assert forged.status == 403 and "data-confirm" not in refused
    assert "自己的售后申请由运营处理" in refused
    assert (await AfterSale.get(id=mine.id)).status is AfterSaleStatus.PENDING


async def test_the_operators_overview_counts_what_waits_with_links(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    """The overview said 没有待处理的消息或退款 while after-sales and a supplier waited:
    it counts each queue an operator works, each with the way to it."""
    cookies = await _admin_session(web_client)
    home = await (await web_client.get("/admin", headers={"Cookie": cookies})).text()
    assert "没有等你处理的事" in home and "data-waiting" not in home

    community = await make_community(name="幸福里社区")
    leader = await User.get(id=community.leader_id)
    for buyer in (None, leader):  # a shopper's request, and the leader's own purchase's
        order = await paid_order(
            settings, wechat, now=clock.now(), community=community, buyer=buyer
        )
        await refund_asked(order, clock.now())
    applicant = await make_user()
    applied = await web_client.post(
        "/api/v1/suppliers",
        json={
            "name": "果园",
            "contact_name": "王",
            "contact_phone": "13800000000",
            "business_licence": "91110000000000000X",
        },
        headers=auth(applicant, settings, clock.now()),
    )
    assert applied.status == 201, await applied.text()
    await ModerationItem.create(
        kind="nickname", ref="x", author=applicant, text="广告", status=ItemStatus.REVIEW,
        payload={}, created_at=clock.now(),
    )  # fmt: skip
    await OutboxMessage.create(
        kind="chat.send", payload={}, dedupe_key="dead", next_attempt_at=clock.now(),
        status=OutboxStatus.DEAD,
    )  # fmt: skip

    home = await (await web_client.get("/admin", headers={"Cookie": cookies})).text()
    assert "没有等你处理的事" not in home
    for link in (
        '<a href="/console/after-sales">2 件售后申请待处理（其中 1 件是团长自己买的',
        '<a href="/admin/suppliers">1 个供应商申请待审核</a>',
        '<a href="/admin/moderation">1 条内容被拦下待审核</a>',
        '<a href="/admin/parked">1 条消息或退款重试失败，待处理</a>',
    ):
        assert link in home, link
    assert "理赔" not in home.split("data-waiting")[1].split("</ul>")[0]  # none waits
