"""After-sales on PostgreSQL: asked, decided once, refunded once through WeChat Pay whatever
the notify does, earnings reversed on the refunded part, and the clock's yes."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient

from models.aftersale import AfterSale, AfterSaleKind, AfterSaleReason, AfterSaleStatus
from models.catalog import Product, Sku
from models.community import Community
from models.growth import EarningEntry, EarningEvent, EarningKind
from models.order import Order, OrderStatus
from models.outbox import OutboxMessage
from models.payment import Refund, RefundStatus
from models.user import Role, User
from qunshop.assembly.background import outbox_handlers
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from qunshop.errors import Conflict, ErrorCode, Forbidden, Invalid
from qunshop.keys import CHAT_TEMPLATES
from scheduler.news import NewsWords
from services import aftersales, deadlines, lifecycle, news, outbox, pickup, refunds
from tests.support.aftersale_world import paid_order, principal_of
from tests.support.factories import make_community, make_user
from tests.support.fake_wechat import FakeWeChat

QUALITY = aftersales.Ask(
    kind=AfterSaleKind.REFUND_ONLY,
    reason=AfterSaleReason.QUALITY,
    detail="三个烂了",
    photos=("https://img.example.com/a.jpg",),
    amount=500,
)


async def _ask(order: Order, ask: aftersales.Ask, now: datetime, settings: Settings) -> AfterSale:
    buyer = await User.get(id=order.user_id)
    return await aftersales.request(
        principal=principal_of(buyer),
        order_id=str(order.id),
        ask=ask,
        now=now,
        response_hours=settings.after_sale_response_hours,
        after_sale_days=settings.auto_complete_days,
    )


async def _leader(order: Order) -> User:
    community = await Community.get(id=order.community_id)
    return await User.get(id=community.leader_id)


async def _notify(api: TestClient, wechat: FakeWeChat, refund: Refund, order: Order) -> str:
    body = wechat.refund_notify(
        out_refund_no=refund.out_refund_no,
        out_trade_no=order.out_trade_no,
        refund_fee=refund.amount,
        total_fee=refund.total,
    )
    resp = await api.post("/pay/wechat/refund-notify", data=body)
    assert resp.status == 200
    return await resp.text()


async def test_approved_request_is_refunded_exactly_once_however_often_notified(
    api: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    now = clock.now()
    order = await paid_order(settings, wechat, now=now, price=1990)
    sale = await _ask(order, QUALITY, now, settings)
    assert (sale.status, sale.amount, sale.photos) == (
        AfterSaleStatus.PENDING,
        500,
        ["https://img.example.com/a.jpg"],
    )
    assert sale.due_at == now + timedelta(hours=settings.after_sale_response_hours)

    leader = principal_of(await _leader(order))
    decided = await aftersales.decide(
        principal=leader, after_sale_id=str(sale.id), approve=True, note="", now=now
    )
    assert decided.status is AfterSaleStatus.APPROVED and decided.refund_id is not None
    with pytest.raises(Conflict) as again:
        await aftersales.decide(
            principal=leader, after_sale_id=str(sale.id), approve=True, note="", now=now
        )
    assert again.value.code is ErrorCode.AFTER_SALE_DECIDED

    # The outbox asks WeChat Pay for 5.00 of the 19.90 paid, once, however often it runs.
    handlers = outbox_handlers(api.server.app)
    await outbox.run_once(handlers, now=now)
    await outbox.run_once(handlers, now=now + timedelta(minutes=5))
    (refund,) = await Refund.filter(order_id=order.id)
    assert (refund.amount, refund.total, refund.reason) == (500, 1990, "after_sale")
    assert len(wechat.calls_to("/secapi/pay/refund")) == 1
    assert wechat.refunds[refund.out_refund_no]["refund_fee"] == "500"

    # WeChat Pay notifies three times at once and once more later: settled once, told once.
    replies = await asyncio.gather(*(_notify(api, wechat, refund, order) for _ in range(3)))
    replies.append(await _notify(api, wechat, refund, order))
    assert all("SUCCESS" in r for r in replies)
    settled = await Refund.get(id=refund.id)
    assert settled.status is RefundStatus.SUCCEEDED
    assert await Refund.filter(order_id=order.id).count() == 1
    told = await OutboxMessage.filter(kind=news.KIND, dedupe_key=f"news:refunded:{refund.id}")
    assert len(told) == 1
    # A partial refund leaves the order as it was: the buyer still picks up the rest.
    assert (await Order.get(id=order.id)).status is OrderStatus.CONFIRMED

    # The leader's 5% of 19.90 (99 fen) gives back the refunded part's share: 99 - 99*1490//1990.
    (reversed_,) = await EarningEntry.filter(
        order_id=order.id, kind=EarningKind.LEADER_SHARE, event=EarningEvent.REVERSE
    )
    assert reversed_.amount == 99 - 99 * 1490 // 1990 == 25

    # A second request may ask for what is left (14.90), never more.
    with pytest.raises(Invalid) as beyond:
        await _ask(order, dataclasses.replace(QUALITY, amount=1491), now, settings)
    assert beyond.value.code is ErrorCode.REFUND_EXCEEDS_PAID


async def test_all_of_an_order_not_handed_over_ends_it(
    api: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    now = clock.now()
    order = await paid_order(settings, wechat, now=now, price=1200)
    whole = aftersales.Ask(kind=AfterSaleKind.REFUND_ONLY, reason=AfterSaleReason.MISSING)
    sale = await _ask(order, whole, now, settings)
    assert sale.amount == 1200
    admin = principal_of(await make_user(Role.ADMIN))
    await aftersales.decide(
        principal=admin, after_sale_id=str(sale.id), approve=True, note="", now=now
    )
    assert (await Order.get(id=order.id)).status is OrderStatus.REFUNDING
    await outbox.run_once(outbox_handlers(api.server.app), now=now)
    (refund,) = await Refund.filter(order_id=order.id)
    assert "SUCCESS" in await _notify(api, wechat, refund, order)
    assert (await Order.get(id=order.id)).status is OrderStatus.REFUNDED


async def test_rejection_needs_a_reason_and_the_right_person(
    api: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    now = clock.now()
    order = await paid_order(settings, wechat, now=now)
    sale = await _ask(order, QUALITY, now, settings)
    stranger = principal_of(await User.get(id=(await make_community()).leader_id))
    with pytest.raises(Forbidden):
        await aftersales.decide(
            principal=stranger, after_sale_id=str(sale.id), approve=True, note="", now=now
        )
    leader = principal_of(await _leader(order))
    with pytest.raises(Invalid):
        await aftersales.decide(
            principal=leader, after_sale_id=str(sale.id), approve=False, note=" ", now=now
        )
    done = await aftersales.decide(
        principal=leader, after_sale_id=str(sale.id), approve=False, note="照片看不出问题", now=now
    )
    assert (done.status, done.note, done.refund_id) == (
        AfterSaleStatus.REJECTED,
        "照片看不出问题",
        None,
    )
    assert await Refund.all().count() == 0
    # The buyer is told why, once.
    (told,) = await OutboxMessage.filter(dedupe_key=f"news:after_sale_rejected:{sale.id}")
    facts = await news.gather(told.payload)
    assert facts is not None
    words = NewsWords(settings=settings, templates=api.server.app[CHAT_TEMPLATES])
    assert words.member(facts, facts.items[0])["text"] == (
        "你对「测试商品」的售后申请（¥5.00）没有通过：照片看不出问题\n"
        "有疑问可以联系团长，或补充说明后发送「售后」重新申请。"
    )
    assert words.subscribe(facts, facts.items[0])[2] == {
        "thing1": "测试商品",
        "amount2": "¥5.00",
        "thing3": "照片看不出问题",
    }
    # Rejected is not the end: the buyer may ask again, with better photos.
    assert (await _ask(order, QUALITY, now, settings)).status is AfterSaleStatus.PENDING
    with pytest.raises(Conflict) as open_:
        await _ask(order, QUALITY, now, settings)
    assert open_.value.code is ErrorCode.AFTER_SALE_OPEN


async def test_fresh_goods_take_no_no_reason_return_but_a_product_may(
    api: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    now = clock.now()
    order = await paid_order(settings, wechat, now=now)  # the factory's category is "fresh"
    no_reason = aftersales.Ask(kind=AfterSaleKind.RETURN_REFUND, reason=AfterSaleReason.NO_REASON)
    assert await aftersales.no_reason_return(order.sku_id)  # no rule: the law's default
    await aftersales.set_rule(
        category="fresh", product_id=None, no_reason_return=False, note="鲜活易腐", now=now
    )
    with pytest.raises(Conflict) as refused:
        await _ask(order, no_reason, now, settings)
    assert refused.value.code is ErrorCode.NO_REASON_RETURN_EXCLUDED
    sku = await Sku.get(id=order.sku_id)
    product = await Product.get(id=sku.product_id)
    await aftersales.set_rule(
        category=None, product_id=str(product.id), no_reason_return=True, note="罐头", now=now
    )
    assert (await _ask(order, no_reason, now, settings)).reason is AfterSaleReason.NO_REASON
    with pytest.raises(Invalid):
        await aftersales.set_rule(
            category="fresh", product_id=str(product.id), no_reason_return=True, note="", now=now
        )


async def test_the_window_closes_after_the_after_sale_days(
    api: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    """Picked up through the doors (到货, the buyer's code, the leader's 核销), completed by
    the clock: the window is the after-sale days from pickup, then closed for good."""
    now = clock.now()
    picked = now - timedelta(days=2)
    order = await paid_order(settings, wechat, now=picked - timedelta(hours=1))
    leader = principal_of(await _leader(order))
    await pickup.arrived(principal=leader, community_id=str(order.community_id), now=picked)
    buyer = principal_of(await User.get(id=order.user_id))
    code = (await pickup.ticket(principal=buyer, order_id=str(order.id))).code
    await pickup.verify(principal=leader, code=code, now=picked)
    order = await Order.get(id=order.id)
    assert (order.status, order.picked_up_at) == (OrderStatus.PICKED_UP, picked)

    assert (await _ask(order, QUALITY, now, settings)).status is AfterSaleStatus.PENDING
    days = timedelta(days=settings.auto_complete_days)
    late = picked + days + timedelta(minutes=1)
    with pytest.raises(Conflict) as closed:
        await _ask(order, QUALITY, late, settings)
    assert closed.value.code is ErrorCode.AFTER_SALE_WINDOW_CLOSED
    assert await lifecycle.auto_complete(now=late, after=days) == 1
    with pytest.raises(Conflict) as completed:
        await _ask(await Order.get(id=order.id), QUALITY, late, settings)
    assert completed.value.code is ErrorCode.AFTER_SALE_WINDOW_CLOSED


async def test_nobody_answering_is_a_yes_by_the_clock(
    api: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    now = clock.now()
    order = await paid_order(settings, wechat, now=now)
    sale = await _ask(order, QUALITY, now, settings)
    assert await deadlines.next_due(now) == sale.due_at
    assert await aftersales.approve_overdue(now=sale.due_at - timedelta(seconds=1)) == 0
    assert await aftersales.approve_overdue(now=sale.due_at) == 1
    assert await aftersales.approve_overdue(now=sale.due_at + timedelta(hours=1)) == 0
    done = await AfterSale.get(id=sale.id)
    assert (done.status, done.decided_by_clock, done.decided_by_id) == (
        AfterSaleStatus.APPROVED,
        True,
        None,
    )
    (refund,) = await Refund.filter(order_id=order.id)
    assert refund.id == done.refund_id and refund.amount == 500


async def test_two_people_approving_at_once_refund_once(
    api: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    now = clock.now()
    order = await paid_order(settings, wechat, now=now)
    sale = await _ask(order, QUALITY, now, settings)
    deciders = [principal_of(await _leader(order)), principal_of(await make_user(Role.ADMIN))]
    results = await asyncio.gather(
        *(
            aftersales.decide(
                principal=who, after_sale_id=str(sale.id), approve=True, note="", now=now
            )
            for who in deciders * 3
        ),
        return_exceptions=True,
    )
    assert sum(isinstance(r, AfterSale) for r in results) == 1
    assert all(
        isinstance(r, AfterSale)
        or (isinstance(r, Conflict) and r.code is ErrorCode.AFTER_SALE_DECIDED)
        for r in results
    )
    assert await Refund.filter(order_id=order.id).count() == 1
    assert await OutboxMessage.filter(kind=refunds.SUBMIT).count() == 1


async def test_each_cause_refunds_once_and_all_never_more_than_paid(
    api: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    now = clock.now()
    order = await paid_order(settings, wechat, now=now, price=1000)

    async def part(amount: int, cause: str) -> Refund:
        return await refunds.refund_part(
            order_id=order.id, amount=amount, reason="after_sale", cause=cause, now=now
        )

    with pytest.raises(Invalid) as too_much:
        await part(1001, "after_sale:a")
    assert too_much.value.code is ErrorCode.REFUND_EXCEEDS_PAID
    await part(300, "after_sale:a")
    with pytest.raises(Conflict) as twice:
        await part(300, "after_sale:a")
    assert twice.value.code is ErrorCode.ORDER_ALREADY_REFUNDED
    with pytest.raises(Invalid) as beyond:
        await part(701, "after_sale:b")
    assert beyond.value.code is ErrorCode.REFUND_EXCEEDS_PAID
    await part(700, "after_sale:b")
    assert sorted(r.amount for r in await Refund.filter(order_id=order.id)) == [300, 700]


async def test_the_leader_is_told_of_a_new_request(
    api: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    """「团长会在 48 小时内处理」: the leader hears of the request in chat, with where to decide
    it, or nobody decides and the clock says yes."""
    now = clock.now()
    order = await paid_order(settings, wechat, now=now)
    sale = await _ask(order, QUALITY, now, settings)
    (told,) = await OutboxMessage.filter(dedupe_key=f"news:after_sale_asked:{sale.id}")
    facts = await news.gather(told.payload)
    assert facts is not None and facts.community is None  # nothing for the group
    [item] = facts.items
    assert item.user.id == (await _leader(order)).id
    words = NewsWords(settings=settings, templates=api.server.app[CHAT_TEMPLATES])
    assert words.subscribe(facts, item)[0] == ""  # no subscribe template: chat only
    assert words.member(facts, item)["text"] == (
        "🧾 新的售后申请：「测试商品」仅退款 ¥5.00，原因：三个烂了\n"
        "私聊我发送「后台」，在「售后」里同意或拒绝；到期没人处理会自动同意退款。"
    )
