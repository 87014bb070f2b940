"""Reconciliation on PostgreSQL: the clock queues yesterday's bill once, the outbox downloads
it from (the fake) WeChat Pay, and every kind of difference planted in the bill is found,
listed and alerted."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient

from models.chat import ChatIdentity
from models.order import Order
from models.outbox import OutboxMessage, OutboxStatus
from models.payment import Payment, Refund
from models.reconciliation import BillDifference, BillRun, BillRunStatus, DifferenceKind
from models.user import Role
from qunshop.assembly.background import outbox_handlers
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from services import outbox, reconciliation, refunds
from tests.support.aftersale_world import paid_order
from tests.support.factories import make_community, make_user
from tests.support.fake_wechat import FakeWeChat
from wechat import bill

SHANGHAI = ZoneInfo("Asia/Shanghai")
K = DifferenceKind


def _next_morning(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(10, 30), tzinfo=SHANGHAI)


async def _reachable_admin(at: datetime) -> None:
    admin = await make_user(Role.ADMIN)
    await ChatIdentity.create(
        platform="wechat", external_id="o-operator-1", user=admin, last_seen_at=at
    )


async def test_every_kind_of_difference_planted_in_the_bill_is_found(
    api: TestClient,
    settings: Settings,
    wechat: FakeWeChat,
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = clock.now()
    community = await make_community()
    matched, dropped, changed, refunded, refund_changed, refund_dropped = [
        await paid_order(settings, wechat, now=now, community=community, price=1000 + i)
        for i in range(6)
    ]
    for order, amount in ((refunded, 300), (refund_changed, 400), (refund_dropped, 500)):
        await refunds.refund_part(
            order_id=order.id, amount=amount, reason="after_sale", cause="after_sale", now=now
        )
    handlers = outbox_handlers(api.server.app)
    await outbox.run_once(handlers, now=now)  # the refunds reach WeChat Pay
    numbers = {r.order_id: r.out_refund_no for r in await Refund.all()}
    day = next(iter(wechat.trades.values()))["time"].date()

    # What WeChat Pay's books say differently from ours:
    tid = {p.order_id: p.transaction_id for p in await Payment.all()}
    del wechat.trades[tid[dropped.id]]  # we think it was paid; WeChat Pay has no such payment
    wechat.trades[tid[changed.id]]["total_fee"] = 1  # paid 1 fen, not 10.02
    stranger = {
        "out_trade_no": "QSNOTOURS0001",
        "total_fee": 777,
        "time": wechat.trades[tid[matched.id]]["time"],
    }
    wechat.trades["4200000000NOTOURS"] = stranger  # money we never heard of
    wechat.refunds[numbers[refund_changed.id]]["refund_fee"] = "40"  # 0.40 went back, not 4.00
    del wechat.refunds[numbers[refund_dropped.id]]  # a refund WeChat Pay never made
    ghost = dict(wechat.refunds[numbers[refunded.id]], out_refund_no="RFGHOST", refund_fee="99")
    wechat.refunds["RFGHOST"] = ghost  # a refund we never asked for

    # The morning after: the clock queues the day's run once, the outbox runs it.
    morning = _next_morning(day)
    await _reachable_admin(morning)
    clock.set(morning)
    assert not await reconciliation.schedule(now=morning - timedelta(hours=1))  # bills not made
    assert await reconciliation.schedule(now=morning)
    assert not await reconciliation.schedule(now=morning + timedelta(minutes=30))
    with caplog.at_level(logging.ERROR, logger="services.reconciliation"):
        while await outbox.run_once(handlers, now=morning):
            pass
    assert len(wechat.calls_to("/pay/downloadbill")) == 1

    run = await BillRun.get(bill_date=day)
    assert (run.status, run.payments, run.refunds, run.differences) == (
        BillRunStatus.DONE,
        6,  # five of ours and the stranger
        3,  # two of ours and the ghost
        6,
    )
    found = {
        (d.kind, d.subject, d.out_trade_no, d.out_refund_no, d.bill_amount, d.our_amount)
        for d in await BillDifference.filter(run_id=run.id)
    }
    assert found == {
        (K.KNOWN_UNPAID, "payment", dropped.out_trade_no, "", None, 1001),
        (K.AMOUNT_MISMATCH, "payment", changed.out_trade_no, "", 1, 1002),
        (K.PAID_UNKNOWN, "payment", "QSNOTOURS0001", "", 777, None),
        (
            K.AMOUNT_MISMATCH,
            "refund",
            refund_changed.out_trade_no,
            numbers[refund_changed.id],
            40,
            400,
        ),
        (
            K.KNOWN_UNPAID,
            "refund",
            refund_dropped.out_trade_no,
            numbers[refund_dropped.id],
            None,
            500,
        ),
        (K.PAID_UNKNOWN, "refund", refunded.out_trade_no, "RFGHOST", 99, None),
    }

    # Alerted: an error in the log and a message to the operator who can be reached.
    assert any("reconciliation of" in r.getMessage() for r in caplog.records)
    sent = await OutboxMessage.filter(kind="chat.send")
    assert len(sent) == 1 and sent[0].payload["to"] == "o-operator-1"
    text = sent[0].payload["message"]["text"]
    assert text.startswith(f"⚠️ 对账提醒：{day.isoformat()} 的微信支付账单有 6 处差异。")
    assert "QSNOTOURS0001 账单 ¥7.77" in text

    # The operator resolves one; a second resolution is refused.
    admin_id = (await ChatIdentity.get(external_id="o-operator-1")).user_id
    one = (await reconciliation.differences(run))[0]
    done = await reconciliation.resolve(
        actor_id=admin_id, difference_id=str(one.id), note="已人工核对", now=morning
    )
    assert done.resolved_at == morning
    assert len(await reconciliation.differences(run, open_only=True)) == 5


async def test_a_day_that_matches_is_quiet_and_a_bill_not_made_yet_is_asked_again(
    api: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    now = clock.now()
    await paid_order(settings, wechat, now=now)
    day = next(iter(wechat.trades.values()))["time"].date()
    morning = _next_morning(day)
    clock.set(morning)
    wechat.bill_failures = ["Bill Creating"]
    await reconciliation.schedule(now=morning)
    handlers = outbox_handlers(api.server.app)
    await outbox.run_once(handlers, now=morning)
    assert not await BillRun.exists(bill_date=day)  # retried later, not recorded
    await outbox.run_once(handlers, now=morning + timedelta(minutes=1))
    run = await BillRun.get(bill_date=day)
    assert (run.status, run.payments, run.differences) == (BillRunStatus.DONE, 1, 0)
    assert not await OutboxMessage.filter(kind="chat.send").exists()  # nothing to say
    assert {m.status for m in await OutboxMessage.all()} == {OutboxStatus.DONE}


async def test_a_refused_bill_is_recorded_and_alerted(
    api: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    day = clock.now().astimezone(SHANGHAI).date()
    morning = _next_morning(day)
    await _reachable_admin(morning)
    clock.set(morning)
    wechat.bill_failures = ["invalid bill_date"]
    await reconciliation.schedule(now=morning)
    await outbox.run_once(outbox_handlers(api.server.app), now=morning)
    run = await BillRun.get(bill_date=day)
    assert (run.status, run.error) == (BillRunStatus.FAILED, "invalid bill_date: invalid bill_date")
    (sent,) = await OutboxMessage.filter(kind="chat.send")
    assert "没能取到" in sent.payload["message"]["text"]


def test_the_bill_reads_what_wechat_pay_writes() -> None:
    rows = [
        bill.BillRow("2026-12-04 10:00:00", "4200001", "QS1", "SUCCESS", 1990),
        bill.BillRow(
            "2026-12-04 11:00:00", "4200001", "QS1", "REFUND", 1990, "50001", "RF1", 500, "SUCCESS"
        ),
    ]
    text = bill.render(rows, appid="wx1", mch_id="123")
    assert text.splitlines()[1].startswith("`2026-12-04 10:00:00,`wx1,`123,")
    assert bill.parse(text) == rows
    assert bill.to_fen("0.01") == 1 and bill.to_fen("19.90") == 1990
    with pytest.raises(bill.BillFormatError):
        bill.to_fen("0.001")
    assert bill.parse("") == []
    assert Order  # the models above are the books the bill is matched with
