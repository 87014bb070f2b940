"""Refunds: owed once when a team fails or a tier is reached, sent by the outbox with
backoff, settled once by WeChat Pay's refund notify."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import functools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from models.groupbuy import Campaign, Seat, SeatStatus, Team, TeamStatus
from models.order import Order, OrderStatus
from models.outbox import OutboxMessage, OutboxStatus
from models.payment import Payment, Refund, RefundStatus
from models.user import User
from qunshop.assembly.background import outbox_handlers
from qunshop.config import Settings
from qunshop.keys import PAY
from services import groupbuy, news, outbox, payments, refunds
from services.auth import Principal
from tests.support.db import connect
from tests.support.factories import make_campaign, make_user, stock_left
from tests.support.fake_wechat import FakeWeChat
from wechat import pay

REFUND_CALLS = "/secapi/pay/refund"
REFUND_NOTIFY = "/pay/wechat/refund-notify"
WAITING = (
    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE NOT l.granted AND a.datname = current_database()"
)


def as_principal(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.role)


def _now() -> datetime:
    return datetime.now(tz=UTC)


async def _team(campaign: Campaign, members: int, now: datetime) -> list[groupbuy.Reservation]:
    """A team started by one new user and joined by ``members - 1`` more."""
    head = await groupbuy.start_team(
        principal=as_principal(await make_user()), campaign_id=str(campaign.id), now=now
    )
    seats = [head]
    for _ in range(members - 1):
        seats.append(
            await groupbuy.join_team(
                principal=as_principal(await make_user()), team_ref=str(head.team.id), now=now
            )
        )
    return seats


async def _pay(settings: Settings, wechat: FakeWeChat, order: Order) -> None:
    user = await User.get(id=order.user_id)
    body = wechat.payment_notify(
        out_trade_no=order.out_trade_no, total_fee=order.amount, openid=user.openid
    )
    outcome = await payments.handle_notify(
        body,
        api_key=settings.pay_api_key.get_secret_value(),
        appid=settings.wechat_appid,
        mch_id=settings.pay_mch_id,
        now=_now(),
    )
    assert outcome.applied and outcome.honoured


async def _refund_notify(client: TestClient, body: bytes) -> tuple[int, bytes]:
    resp = await client.post(REFUND_NOTIFY, data=body, headers={"Content-Type": "application/xml"})
    return resp.status, await resp.read()


def _handlers(client: TestClient, settings: Settings) -> dict[str, outbox.Handler]:
    """As qunshop/assembly/background.py builds them: refunds.submit with the app's PayClient, and
    the news (a failed team is told once, beside its refunds)."""
    return outbox_handlers(client.server.app)


def _notify_for(wechat: FakeWeChat, refund: Refund, order: Order, **kw: Any) -> bytes:
    return wechat.refund_notify(
        out_refund_no=refund.out_refund_no,
        out_trade_no=order.out_trade_no,
        refund_fee=refund.amount,
        total_fee=refund.total,
        **kw,
    )


async def _failed_team(
    settings: Settings, wechat: FakeWeChat, *, paid: int, reserved: int = 0
) -> tuple[Team, datetime, list[groupbuy.Reservation]]:
    """A team of ``paid + reserved`` members, ``paid`` of them paid, closed after its deadline."""
    now = _now()
    campaign = await make_campaign(team_size=3, stock_cap=10, group_price=990, head_price=800)
    seats = await _team(campaign, paid + reserved, now)
    for seat in seats[:paid]:
        await _pay(settings, wechat, seat.order)
    team = await Team.get(id=seats[0].team.id)
    after = team.deadline_at + timedelta(minutes=1)
    assert await groupbuy.close_team(team.id, now=after) is TeamStatus.FAILED
    return team, after, seats


# A failed team --------------------------------------------------------------------------------


async def test_failed_team_refunds_every_paid_member_once(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    team, after, seats = await _failed_team(settings, wechat, paid=2, reserved=1)
    paid_ids = {seats[0].order.id, seats[1].order.id}

    owed = await Refund.all()
    assert {r.order_id for r in owed} == paid_ids
    assert sorted((r.amount, r.total, r.reason, r.status) for r in owed) == [
        (800, 800, "team_failed", RefundStatus.PENDING),
        (990, 990, "team_failed", RefundStatus.PENDING),
    ]
    assert {r.payment_id for r in owed} == {p.id for p in await Payment.filter(outcome="honoured")}
    statuses = {o.id: o.status for o in await Order.filter(team_id=team.id)}
    assert statuses == {
        seats[0].order.id: OrderStatus.REFUNDING,
        seats[1].order.id: OrderStatus.REFUNDING,
        seats[2].order.id: OrderStatus.CANCELLED,
    }
    assert {s.status for s in await Seat.filter(team_id=team.id)} == {
        SeatStatus.REFUNDED,  # paid, and the money goes back: no longer held against the limit
        SeatStatus.RELEASED,
    }
    assert await stock_left(seats[0].order.campaign_id) == 10
    assert await OutboxMessage.filter(kind=refunds.SUBMIT).count() == 2

    # Closing again, and the sweeper, owe nothing more.
    assert await groupbuy.close_team(team.id, now=after + timedelta(hours=1)) is TeamStatus.FAILED
    assert await groupbuy.settle_due_teams(now=after + timedelta(hours=2)) == 0
    assert await Refund.all().count() == 2
    assert await OutboxMessage.filter(kind=refunds.SUBMIT).count() == 2
    assert await OutboxMessage.filter(kind=news.KIND).count() == 1  # the failed team's news
    assert await stock_left(seats[0].order.campaign_id) == 10

    # The outbox asks WeChat Pay once per member (and tells the news).
    handlers = _handlers(client, settings)
    assert await outbox.run_once(handlers, now=after) == 3
    assert set(wechat.refunds) == {r.out_refund_no for r in owed}
    for refund in owed:
        sent = wechat.refunds[refund.out_refund_no]
        order = await Order.get(id=refund.order_id)
        assert (sent["out_trade_no"], sent["refund_fee"], sent["total_fee"]) == (
            order.out_trade_no,
            str(refund.amount),
            str(refund.total),
        )
        assert sent["notify_url"] == f"{settings.public_base_url}{REFUND_NOTIFY}"
    submitted = await Refund.all()
    assert {(r.status, r.refund_id) for r in submitted} == {
        (RefundStatus.SUBMITTED, wechat.refunds[r.out_refund_no]["refund_id"]) for r in submitted
    }
    assert {m.status for m in await OutboxMessage.all()} == {OutboxStatus.DONE}

    assert await outbox.run_once(handlers, now=after + timedelta(days=1)) == 0
    assert len(wechat.calls_to(REFUND_CALLS)) == 2

    # WeChat Pay reports each refund done: every paid member's order is refunded.
    for refund in submitted:
        order = await Order.get(id=refund.order_id)
        status, reply = await _refund_notify(client, _notify_for(wechat, refund, order))
        assert (status, reply) == (200, pay.SUCCESS_REPLY)
    assert {o.status for o in await Order.filter(id__in=paid_ids)} == {OrderStatus.REFUNDED}
    assert {r.status for r in await Refund.all()} == {RefundStatus.SUCCEEDED}


async def test_refund_submission_retries_with_backoff(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    _, after, _ = await _failed_team(settings, wechat, paid=1)
    handlers = _handlers(client, settings)
    wechat.refund_failures = 2

    assert await outbox.run_once(handlers, now=after) == 2  # the refund, and the news
    message = await OutboxMessage.get(kind=refunds.SUBMIT)
    assert (message.status, message.attempts, message.locked_until) == (
        OutboxStatus.PENDING,
        1,
        None,
    )
    assert message.next_attempt_at == after + outbox.backoff(1) > after
    assert "SYSTEMERROR" in message.last_error
    assert (await Refund.get()).status is RefundStatus.PENDING

    # Nothing is sent before the backoff has passed.
    assert await outbox.run_once(handlers, now=message.next_attempt_at - timedelta(seconds=1)) == 0
    assert len(wechat.calls_to(REFUND_CALLS)) == 1

    assert await outbox.run_once(handlers, now=message.next_attempt_at) == 1
    message = await OutboxMessage.get(kind=refunds.SUBMIT)
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 2)
    assert len(wechat.calls_to(REFUND_CALLS)) == 2
    assert await outbox.run_once(handlers, now=message.next_attempt_at - timedelta(seconds=1)) == 0

    assert await outbox.run_once(handlers, now=message.next_attempt_at) == 1
    message = await OutboxMessage.get(kind=refunds.SUBMIT)
    assert (message.status, message.attempts, message.last_error) == (OutboxStatus.DONE, 3, "")
    refund = await Refund.get()
    assert refund.status is RefundStatus.SUBMITTED
    assert list(wechat.refunds) == [refund.out_refund_no]
    assert len(wechat.calls_to(REFUND_CALLS)) == 3
    assert await outbox.run_once(handlers, now=after + timedelta(days=1)) == 0
    assert len(wechat.calls_to(REFUND_CALLS)) == 3


async def test_refund_refused_for_good_is_parked(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    _, after, _ = await _failed_team(settings, wechat, paid=1)
    wrong = dataclasses.replace(client.server.app[PAY], mch_id="1999999999")
    handlers = {
        **_handlers(client, settings),
        refunds.SUBMIT: functools.partial(
            refunds.submit, pay=wrong, notify_url=f"{settings.public_base_url}{REFUND_NOTIFY}"
        ),
    }

    assert await outbox.run_once(handlers, now=after) == 2  # the refund, and the news

    message = await OutboxMessage.get(kind=refunds.SUBMIT)
    assert (message.status, message.attempts, message.done_at) == (OutboxStatus.DEAD, 1, after)
    assert "MCHID_NOT_EXIST" in message.last_error
    assert (await Refund.get()).status is RefundStatus.PENDING  # for a person to look at
    assert wechat.refunds == {}
    assert await outbox.run_once(handlers, now=after + timedelta(days=1)) == 0
    assert len(wechat.calls_to(REFUND_CALLS)) == 1


# The refund notify ------------------------------------------------------------------------


async def _submitted_refund(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> tuple[Refund, Order]:
    _, after, _ = await _failed_team(settings, wechat, paid=1)
    assert await outbox.run_once(_handlers(client, settings), now=after) == 2  # and the news
    refund = await Refund.get()
    assert refund.status is RefundStatus.SUBMITTED
    order = await Order.get(id=refund.order_id)
    assert order.status is OrderStatus.REFUNDING
    return refund, order


async def test_refund_notify_settles_once(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    refund, order = await _submitted_refund(client, settings, wechat)
    body = _notify_for(wechat, refund, order)

    together = await asyncio.gather(*(_refund_notify(client, body) for _ in range(3)))
    settled = await Refund.get(id=refund.id)
    one_by_one = [await _refund_notify(client, body) for _ in range(2)]

    assert together + one_by_one == [(200, pay.SUCCESS_REPLY)] * 5
    again = await Refund.get(id=refund.id)
    assert again.status is RefundStatus.SUCCEEDED and again.settled_at is not None
    assert again.settled_at == settled.settled_at  # the later deliveries changed nothing
    assert again.refund_id == wechat.refunds[refund.out_refund_no]["refund_id"]
    assert (await Order.get(id=order.id)).status is OrderStatus.REFUNDED


async def test_concurrent_settlements_report_one_winner(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    refund, order = await _submitted_refund(client, settings, wechat)
    body = _notify_for(wechat, refund, order)

    results = await asyncio.gather(
        *(
            refunds.settle_from_notify(
                body,
                api_key=settings.pay_api_key.get_secret_value(),
                appid=settings.wechat_appid,
                mch_id=settings.pay_mch_id,
                now=_now(),
            )
            for _ in range(5)
        )
    )

    assert sorted(results) == [False, False, False, False, True]
    assert (await Order.get(id=order.id)).status is OrderStatus.REFUNDED


def _tampered(body: bytes) -> bytes:
    envelope = pay.parse_xml(body)
    cipher = bytearray(base64.b64decode(envelope["req_info"]))
    cipher[3] ^= 0x55  # the first block holds the opening tags
    return pay.to_xml({**envelope, "req_info": base64.b64encode(bytes(cipher)).decode()})


@pytest.mark.parametrize("case", ["tampered_req_info", "wrong_key", "wrong_appid", "unknown"])
async def test_refused_refund_notify_changes_nothing(
    client: TestClient, settings: Settings, wechat: FakeWeChat, case: str
) -> None:
    refund, order = await _submitted_refund(client, settings, wechat)
    bodies = {
        "tampered_req_info": lambda: _tampered(_notify_for(wechat, refund, order)),
        "wrong_key": lambda: _notify_for(FakeWeChat(api_key="e" * 32), refund, order),
        "wrong_appid": lambda: _notify_for(FakeWeChat(appid="wxffffffffffffffff"), refund, order),
        "unknown": lambda: wechat.refund_notify(
            out_refund_no="RFnosuchrefund", out_trade_no="QSx", refund_fee=1, total_fee=1
        ),
    }

    status, reply = await _refund_notify(client, bodies[case]())

    assert status == 200 and pay.parse_xml(reply)["return_code"] == "FAIL"
    again = await Refund.get(id=refund.id)
    assert (again.status, again.settled_at, again.refund_id) == (
        RefundStatus.SUBMITTED,
        None,
        refund.refund_id,
    )
    assert (await Order.get(id=order.id)).status is OrderStatus.REFUNDING


async def test_refund_closed_by_wechat_pay_is_failed(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    refund, order = await _submitted_refund(client, settings, wechat)

    body = _notify_for(wechat, refund, order, refund_status="REFUNDCLOSE")
    assert await _refund_notify(client, body) == (200, pay.SUCCESS_REPLY)

    failed = await Refund.get(id=refund.id)
    assert failed.status is RefundStatus.FAILED and failed.settled_at is not None
    assert (await Order.get(id=order.id)).status is OrderStatus.REFUNDING  # a person decides

    # A late SUCCESS does not reopen what was closed.
    assert await _refund_notify(client, _notify_for(wechat, refund, order)) == (
        200,
        pay.SUCCESS_REPLY,
    )
    assert (await Refund.get(id=refund.id)).status is RefundStatus.FAILED


# Tier prices and guaranteed teams ----------------------------------------------------------


async def test_tier_price_refunds_the_difference_when_the_team_fills(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    now = _now()
    campaign = await make_campaign(
        price_tiers=[{"min_members": 2, "price": 800}], group_price=1000, team_size=2
    )
    seats = await _team(campaign, 2, now)
    assert [s.order.amount for s in seats] == [1000, 1000]

    await _pay(settings, wechat, seats[0].order)
    assert await Refund.all().count() == 0
    await _pay(settings, wechat, seats[1].order)

    team = await Team.get(id=seats[0].team.id)
    assert (team.status, team.final_price, team.seats_paid) == (TeamStatus.SUCCEEDED, 800, 2)
    owed = await Refund.all()
    assert sorted((r.order_id, r.amount, r.total, r.reason) for r in owed) == sorted(
        (s.order.id, 200, 1000, "tier_price") for s in seats
    )
    assert {o.status for o in await Order.filter(team_id=team.id)} == {OrderStatus.CONFIRMED}
    assert await OutboxMessage.filter(kind=refunds.SUBMIT).count() == 2

    assert await outbox.run_once(_handlers(client, settings), now=_now()) == 3  # and 成团 news
    assert sorted((r["refund_fee"], r["total_fee"]) for r in wechat.refunds.values()) == [
        ("200", "1000"),
        ("200", "1000"),
    ]
    for refund in owed:
        order = await Order.get(id=refund.order_id)
        assert await _refund_notify(client, _notify_for(wechat, refund, order)) == (
            200,
            pay.SUCCESS_REPLY,
        )
    assert {r.status for r in await Refund.all()} == {RefundStatus.SUCCEEDED}
    # A partial refund does not undo the purchase.
    assert {o.status for o in await Order.filter(team_id=team.id)} == {OrderStatus.CONFIRMED}


async def test_guaranteed_team_succeeds_at_the_deadline_with_whoever_paid(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    now = _now()
    campaign = await make_campaign(guaranteed=True, team_size=3, stock_cap=10, group_price=990)
    paid, reserved = await _team(campaign, 2, now)
    await _pay(settings, wechat, paid.order)
    assert await stock_left(campaign.id) == 8

    team = await Team.get(id=paid.team.id)
    after = team.deadline_at + timedelta(minutes=1)
    assert await groupbuy.close_team(team.id, now=after) is TeamStatus.SUCCEEDED

    team = await Team.get(id=team.id)
    assert (team.status, team.seats_paid, team.seats_held, team.final_price) == (
        TeamStatus.SUCCEEDED,
        1,
        1,
        990,
    )
    assert (await Order.get(id=paid.order.id)).status is OrderStatus.CONFIRMED
    assert (await Order.get(id=reserved.order.id)).status is OrderStatus.CANCELLED
    assert (await Seat.get(order_id=reserved.order.id)).status is SeatStatus.RELEASED
    assert (await Seat.get(order_id=paid.order.id)).status is SeatStatus.PAID
    assert await stock_left(campaign.id) == 9
    assert await Refund.all().count() == 0
    assert await OutboxMessage.filter(kind=refunds.SUBMIT).count() == 0
    # 成团, and the seat released unpaid is told to its holder (once, however often it closes)
    assert await _news_keys() == {
        f"news:{news.TEAM_SUCCEEDED}:{team.id}",
        f"news:{news.ORDER_LAPSED}:{reserved.order.id}",
    }
    assert await groupbuy.close_team(team.id, now=after) is TeamStatus.SUCCEEDED
    assert await OutboxMessage.filter(kind=news.KIND).count() == 2
    assert await stock_left(campaign.id) == 9


async def test_a_guaranteed_team_closing_at_the_deadline_pays_the_tier_its_payers_reached(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    now = _now()
    campaign = await make_campaign(
        guaranteed=True,
        team_size=4,
        group_price=1000,
        price_tiers=[{"min_members": 3, "price": 800}, {"min_members": 2, "price": 900}],
    )
    first, second, reserved = await _team(campaign, 3, now)
    for seat in (first, second):
        await _pay(settings, wechat, seat.order)
    assert await Refund.all().count() == 0

    team = await Team.get(id=first.team.id)
    after = team.deadline_at + timedelta(minutes=1)
    assert await groupbuy.close_team(team.id, now=after) is TeamStatus.SUCCEEDED

    team = await Team.get(id=team.id)
    # Two paid members reach the 900 tier, not the 800 one.
    assert (team.status, team.final_price, team.seats_paid, team.seats_held) == (
        TeamStatus.SUCCEEDED,
        900,
        2,
        2,
    )
    owed = await Refund.all()
    assert sorted((r.order_id, r.amount, r.reason) for r in owed) == sorted(
        (s.order.id, 100, "tier_price") for s in (first, second)
    )
    assert (await Order.get(id=reserved.order.id)).status is OrderStatus.CANCELLED
    assert {(await Order.get(id=s.order.id)).status for s in (first, second)} == {
        OrderStatus.CONFIRMED
    }
    assert not await Seat.filter(team_id=team.id, in_open_team=True).exists()
    assert await _news_keys() == {
        f"news:{news.TEAM_SUCCEEDED}:{team.id}",
        f"news:{news.ORDER_LAPSED}:{reserved.order.id}",
    }


async def _news_keys() -> set[str]:
    return set(await OutboxMessage.filter(kind=news.KIND).values_list("dedupe_key", flat=True))


async def test_two_refunds_of_one_order_settled_at_once_finish_the_order(
    client: TestClient,
    settings: Settings,
    wechat: FakeWeChat,
    database_url: str,
) -> None:
    """A cancelled order paid twice owes two refunds; their notifies may arrive together."""
    (reservation,) = await _team(await make_campaign(), 1, _now())
    await groupbuy.release_seat(reservation.seat.id, now=_now(), force=True)
    user = await User.get(id=reservation.order.user_id)
    for transaction_id in ("T1", "T2"):
        body = wechat.payment_notify(
            out_trade_no=reservation.order.out_trade_no,
            total_fee=reservation.order.amount,
            openid=user.openid,
            transaction_id=transaction_id,
        )
        await payments.handle_notify(
            body,
            api_key=settings.pay_api_key.get_secret_value(),
            appid=settings.wechat_appid,
            mch_id=settings.pay_mch_id,
            now=_now(),
        )
    order = await Order.get(id=reservation.order.id)
    owed = await Refund.filter(order_id=order.id)
    assert order.status is OrderStatus.REFUNDING and len(owed) == 2

    deliveries = [_refund_notify(client, _notify_for(wechat, refund, order)) for refund in owed]
    # Hold both refund rows so that the two settlements run side by side once released.
    conn = await connect(database_url)
    try:
        hold = conn.transaction()
        await hold.start()
        await conn.execute("SELECT 1 FROM refunds WHERE order_id = $1 FOR UPDATE", order.id)

        async def release() -> None:
            for _ in range(500):
                if await conn.fetchval(WAITING) >= 2:
                    break
                await asyncio.sleep(0.01)
            await hold.rollback()

        *replies, _ = await asyncio.gather(*deliveries, release())
    finally:
        await conn.close()

    assert replies == [(200, pay.SUCCESS_REPLY)] * 2
    assert {r.status for r in await Refund.filter(order_id=order.id)} == {RefundStatus.SUCCEEDED}
    assert (await Order.get(id=order.id)).status is OrderStatus.REFUNDED
