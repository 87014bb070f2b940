"""Payments, called directly: a genuine notify applies once; anything else changes nothing."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from tortoise import connections

from models.activity import PointsEntry
from models.catalog import Sku
from models.community import Community
from models.groupbuy import Campaign, Seat, SeatStatus, Team
from models.growth import EarningEntry, EarningKind, VisitSource
from models.identity import IdentityStatus
from models.order import Order, OrderStatus
from models.outbox import OutboxMessage, OutboxStatus
from models.payment import Payment, Refund, RefundStatus
from models.tier import MemberTier
from models.user import Role, User
from qunshop.config import Settings
from qunshop.errors import Conflict, ErrorCode, Invalid, NotFound
from qunshop.keys import PAY
from services import (
    catalog,
    checkout,
    groupbuy,
    growth_rules,
    identity,
    invites,
    news,
    payments,
    prepays,
    refunds,
)
from services.auth import Principal
from services.catalog import SkuSpec
from tests.support.factories import make_campaign, make_community, make_sku, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.support.growth import direct_order
from tests.support.statements import Statements
from wechat import pay

NOTIFY_URL = "https://shop.example.com/pay/wechat/notify"


@pytest.fixture(autouse=True)
async def orm(client: TestClient) -> None:
    """The app's start-up opens the ORM these tests use."""


def as_principal(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.role)


def _now() -> datetime:
    return datetime.now(tz=UTC)


async def _reserve(
    campaign: Campaign | None = None, user: User | None = None, *, now: datetime | None = None
) -> tuple[groupbuy.Reservation, User]:
    campaign = campaign or await make_campaign(team_size=3, stock_cap=10, group_price=990)
    user = user or await make_user()
    reservation = await groupbuy.start_team(
        principal=as_principal(user), campaign_id=str(campaign.id), now=now or _now()
    )
    return reservation, user


async def _notify_of(wechat: FakeWeChat, order: Order, **kw: Any) -> bytes:
    user = await User.get(id=order.user_id)
    kw.setdefault("total_fee", order.amount)
    return wechat.payment_notify(out_trade_no=order.out_trade_no, openid=user.openid, **kw)


async def _handle(settings: Settings, body: bytes) -> payments.NotifyOutcome:
    return await payments.handle_notify(
        body,
        api_key=settings.pay_api_key.get_secret_value(),
        appid=settings.wechat_appid,
        mch_id=settings.pay_mch_id,
        now=_now(),
    )


async def snapshot() -> dict[str, Any]:
    """Everything a notify may change, to compare before and after."""
    return {
        "payments": await Payment.all().count(),
        "refunds": await Refund.all().count(),
        "outbox": await OutboxMessage.all().count(),
        "orders": sorted(
            (str(o.id), o.status.value, o.paid_at, o.transaction_id) for o in await Order.all()
        ),
        "teams": sorted(
            (str(t.id), t.status.value, t.seats_held, t.seats_paid) for t in await Team.all()
        ),
        "seats": sorted((str(s.id), s.status.value) for s in await Seat.all()),
        "stock": sorted((str(c.id), c.stock_left) for c in await Campaign.all()),
    }


# Genuine notifies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sign_type", "include_sign_type"),
    [("MD5", True), ("MD5", False), ("HMAC-SHA256", True), ("HMAC-SHA256", False)],
)
async def test_signed_notify_pays_the_seat(
    settings: Settings, wechat: FakeWeChat, sign_type: str, include_sign_type: bool
) -> None:
    reservation, _ = await _reserve()
    body = await _notify_of(
        wechat,
        reservation.order,
        transaction_id="4200000001",
        sign_type=sign_type,
        include_sign_type=include_sign_type,
    )

    outcome = await _handle(settings, body)

    assert outcome == payments.NotifyOutcome(
        order_id=str(reservation.order.id), applied=True, honoured=True
    )
    payment = await Payment.get(order_id=reservation.order.id)
    assert (payment.transaction_id, payment.amount, payment.outcome) == (
        "4200000001",
        990,
        "honoured",
    )
    order = await Order.get(id=reservation.order.id)
    assert order.status is OrderStatus.PAID_AWAITING_TEAM
    assert order.transaction_id == "4200000001" and order.paid_at is not None
    assert (await Team.get(id=reservation.team.id)).seats_paid == 1
    assert (await Seat.get(order_id=order.id)).status is SeatStatus.PAID
    assert await Refund.all().count() == 0
    assert await OutboxMessage.all().count() == 0


async def test_repeated_and_concurrent_deliveries_apply_once(
    settings: Settings, wechat: FakeWeChat
) -> None:
    reservation, _ = await _reserve()
    body = await _notify_of(wechat, reservation.order, sign_type="HMAC-SHA256")

    first = await asyncio.gather(*(_handle(settings, body) for _ in range(5)))
    later = [await _handle(settings, body) for _ in range(10)]

    assert sum(o.applied for o in first + later) == 1
    assert all(o.order_id == str(reservation.order.id) for o in first + later)
    assert await Payment.all().count() == 1
    assert (await Order.get(id=reservation.order.id)).status is OrderStatus.PAID_AWAITING_TEAM
    assert (await Team.get(id=reservation.team.id)).seats_paid == 1
    assert await Refund.all().count() == 0
    assert await OutboxMessage.all().count() == 0


async def test_direct_order_is_confirmed_when_paid(settings: Settings, wechat: FakeWeChat) -> None:
    sku = await make_sku(price=1500, stock=5)
    user = await make_user()
    order = await checkout.buy_direct(
        principal=as_principal(user), sku_id=str(sku.id), quantity=2, community_id=None, now=_now()
    )
    assert order.amount == 3000

    outcome = await _handle(settings, await _notify_of(wechat, order, transaction_id="42DIRECT"))

    assert outcome.applied and outcome.honoured
    order = await Order.get(id=order.id)
    assert order.status is OrderStatus.CONFIRMED
    assert order.transaction_id == "42DIRECT" and order.paid_at is not None
    assert await Payment.filter(order_id=order.id, outcome="honoured", amount=3000).count() == 1
    assert (await Sku.get(id=sku.id)).stock == 3


async def test_failed_payment_result_changes_nothing(
    settings: Settings, wechat: FakeWeChat
) -> None:
    reservation, _ = await _reserve()
    before = await snapshot()

    body = await _notify_of(wechat, reservation.order, result_code="FAIL")
    outcome = await _handle(settings, body)

    assert outcome == payments.NotifyOutcome(order_id=None, applied=False, honoured=False)
    assert await snapshot() == before


# Refused notifies ----------------------------------------------------------------------------

_LAUGHS = "".join(
    ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
)
BILLION_LAUGHS = (
    f'<?xml version="1.0"?><!DOCTYPE xml [{_LAUGHS}]><xml><return_code>&lol9;</return_code></xml>'
).encode()
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<xml><return_code>&xxe;</return_code></xml>"
)


def _tamper_fee(body: bytes, order: Order) -> bytes:
    tampered = body.replace(
        f"<total_fee>{order.amount}</total_fee>".encode(), b"<total_fee>1</total_fee>"
    )
    assert tampered != body
    return tampered


async def _refused_body(case: str, wechat: FakeWeChat, order: Order) -> bytes:
    genuine = await _notify_of(wechat, order)
    if case == "tampered_fee":
        return _tamper_fee(genuine, order)
    if case == "wrong_key":
        return await _notify_of(FakeWeChat(api_key="0" * 32), order)
    if case == "unknown_sign_type":
        hmac_signed = await _notify_of(wechat, order, sign_type="HMAC-SHA256")
        return hmac_signed.replace(b"HMAC-SHA256", b"SHA1")
    if case == "wrong_appid":
        return await _notify_of(wechat, order, appid="wx0000000000other")
    if case == "wrong_mch_id":
        return await _notify_of(wechat, order, mch_id="1999999999")
    if case == "amount_mismatch":
        return await _notify_of(wechat, order, total_fee=order.amount - 1)
    if case == "unknown_out_trade_no":
        return wechat.payment_notify(
            out_trade_no="QS20990101000000NOSUCHORDER", total_fee=order.amount, openid="o-x"
        )
    fixed: dict[str, bytes] = {
        "no_sign": genuine.replace(b"<sign>", b"<sig>").replace(b"</sign>", b"</sig>"),
        "malformed": genuine[:-10],
        "not_xml": b"return_code=SUCCESS",
        "empty": b"",
        "nested": genuine.replace(b"<xml>", b"<xml><extra><a>1</a></extra>"),
        "duplicate_field": genuine.replace(b"</xml>", b"<total_fee>1</total_fee></xml>"),
        "external_entity": XXE,
        "billion_laughs": BILLION_LAUGHS,
        "dtd_around_genuine": b'<!DOCTYPE xml [<!ENTITY a "b">]>' + genuine,
    }
    return fixed[case]


REFUSALS = {
    "tampered_fee": "bad signature",
    "wrong_key": "bad signature",
    "unknown_sign_type": "bad signature",
    "no_sign": "bad signature",
    "wrong_appid": "not ours",
    "wrong_mch_id": "not ours",
    "amount_mismatch": "amount mismatch",
    "unknown_out_trade_no": "unknown out_trade_no",
    "malformed": "unreadable",
    "not_xml": "unreadable",
    "empty": "unreadable",
    "nested": "unreadable",
    "duplicate_field": "unreadable",
    "external_entity": "unreadable",
    "billion_laughs": "unreadable",
    "dtd_around_genuine": "unreadable",
}


async def test_refused_notifies_change_nothing(settings: Settings, wechat: FakeWeChat) -> None:
    """Each case on the same pending order (one app start for all: they are many)."""
    reservation, _ = await _reserve()
    before = await snapshot()
    assert (before["payments"], before["refunds"], before["outbox"]) == (0, 0, 0)

    for case, reason in REFUSALS.items():
        body = await _refused_body(case, wechat, reservation.order)
        with pytest.raises(payments.NotifyRefused, match=reason):
            await _handle(settings, body)
        assert await snapshot() == before, case

    assert (await Order.get(id=reservation.order.id)).status is OrderStatus.PENDING_PAYMENT
    # The same order still takes a genuine notify afterwards.
    assert (await _handle(settings, await _notify_of(wechat, reservation.order))).honoured


# Payments that cannot be honoured --------------------------------------------------------


async def _assert_sent_back(order_id: Any, payment: Payment, amount: int) -> Refund:
    assert payment.outcome == "refunded" and payment.amount == amount
    refund = await Refund.get(payment_id=payment.id)
    assert (refund.order_id, refund.amount, refund.total) == (order_id, amount, amount)
    assert (refund.reason, refund.status) == ("unhonourable_payment", RefundStatus.PENDING)
    messages = await OutboxMessage.filter(dedupe_key=f"refund:{refund.id}")
    assert [(m.kind, m.payload, m.status) for m in messages] == [
        (refunds.SUBMIT, {"refund_id": str(refund.id)}, OutboxStatus.PENDING)
    ]
    return refund


async def test_payment_for_a_cancelled_order_is_refunded(
    settings: Settings, wechat: FakeWeChat
) -> None:
    reservation, user = await _reserve()
    await checkout.cancel(
        principal=as_principal(user),
        order_id=str(reservation.order.id),
        now=_now(),
        after_sale_days=7,
    )
    assert (await Order.get(id=reservation.order.id)).status is OrderStatus.CANCELLED
    body = await _notify_of(wechat, reservation.order)

    outcome = await _handle(settings, body)

    assert outcome.applied and not outcome.honoured
    payment = await Payment.get(order_id=reservation.order.id)
    await _assert_sent_back(reservation.order.id, payment, 990)
    order = await Order.get(id=reservation.order.id)
    assert order.status is OrderStatus.REFUNDING
    assert order.paid_at is None and order.transaction_id is None
    assert (await Seat.get(order_id=order.id)).status is SeatStatus.RELEASED
    assert (await Team.get(id=reservation.team.id)).seats_paid == 0

    # WeChat Pay delivers it again: nothing more is owed.
    assert not (await _handle(settings, body)).applied
    assert (await Payment.all().count(), await Refund.all().count()) == (1, 1)
    assert await OutboxMessage.all().count() == 1


async def test_payment_after_the_reservation_lapsed_is_refunded(
    settings: Settings, wechat: FakeWeChat
) -> None:
    start = _now()
    reservation, _ = await _reserve(now=start)
    assert await groupbuy.release_expired(now=start + timedelta(minutes=16)) == 1
    assert (await Order.get(id=reservation.order.id)).status is OrderStatus.CANCELLED

    outcome = await _handle(settings, await _notify_of(wechat, reservation.order))

    assert outcome.applied and not outcome.honoured
    await _assert_sent_back(reservation.order.id, await Payment.get(), 990)
    assert (await Order.get(id=reservation.order.id)).status is OrderStatus.REFUNDING
    assert (await Team.get(id=reservation.team.id)).seats_paid == 0


async def test_payment_for_a_cancelled_direct_order_is_refunded(
    settings: Settings, wechat: FakeWeChat
) -> None:
    sku = await make_sku(price=500, stock=3)
    user = await make_user()
    order = await checkout.buy_direct(
        principal=as_principal(user), sku_id=str(sku.id), quantity=1, community_id=None, now=_now()
    )
    await checkout.cancel(
        principal=as_principal(user), order_id=str(order.id), now=_now(), after_sale_days=7
    )

    outcome = await _handle(settings, await _notify_of(wechat, order))

    assert outcome.applied and not outcome.honoured
    await _assert_sent_back(order.id, await Payment.get(), 500)
    assert (await Order.get(id=order.id)).status is OrderStatus.REFUNDING
    assert (await Sku.get(id=sku.id)).stock == 3


async def test_second_payment_for_a_paid_order_is_refunded(
    settings: Settings, wechat: FakeWeChat
) -> None:
    reservation, _ = await _reserve()
    first = await _handle(
        settings, await _notify_of(wechat, reservation.order, transaction_id="T1")
    )
    assert first.honoured
    paid = await Order.get(id=reservation.order.id)

    second = await _handle(
        settings, await _notify_of(wechat, reservation.order, transaction_id="T2")
    )

    assert second.applied and not second.honoured
    await _assert_sent_back(reservation.order.id, await Payment.get(transaction_id="T2"), 990)
    assert (await Payment.get(transaction_id="T1")).outcome == "honoured"
    order = await Order.get(id=reservation.order.id)
    assert (order.status, order.transaction_id, order.paid_at) == (
        OrderStatus.PAID_AWAITING_TEAM,
        "T1",
        paid.paid_at,
    )
    assert (await Team.get(id=reservation.team.id)).seats_paid == 1
    assert await Refund.all().count() == 1


# Prepay ------------------------------------------------------------------------------------


def _cashier(client: TestClient) -> prepays.Cashier:
    return prepays.Cashier(
        pay=client.server.app[PAY], notify_url=NOTIFY_URL, client_ip="203.0.113.7"
    )


async def _prepay(client: TestClient, user: User, order: Order, now: datetime) -> dict[str, str]:
    return await prepays.prepay(
        principal=as_principal(user), order_id=str(order.id), cashier=_cashier(client), now=now
    )


async def test_prepay_gives_signed_request_payment_params(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    now = _now()
    reservation, user = await _reserve(now=now)

    params = await _prepay(client, user, reservation.order, now)

    placed = wechat.pay_orders[reservation.order.out_trade_no]
    assert params["package"] == f"prepay_id={placed['prepay_id']}"
    assert (params["appId"], params["timeStamp"], params["signType"]) == (
        settings.wechat_appid,
        str(int(now.timestamp())),
        "HMAC-SHA256",
    )
    key = settings.pay_api_key.get_secret_value()
    unsigned = {k: v for k, v in params.items() if k != "paySign"}
    assert params["paySign"] == pay.sign(unsigned, key, params["signType"])
    assert pay.verify({**unsigned, "sign": params["paySign"]}, key)
    assert not pay.verify({**unsigned, "sign": params["paySign"]}, "1" * 32)
    assert (placed["total_fee"], placed["openid"], placed["notify_url"]) == (
        "990",
        user.openid,
        NOTIFY_URL,
    )
    assert (placed["trade_type"], placed["spbill_create_ip"]) == ("JSAPI", "203.0.113.7")


async def test_prepay_refusals(client: TestClient, settings: Settings, wechat: FakeWeChat) -> None:
    now = _now()
    reservation, user = await _reserve(now=now)

    with pytest.raises(NotFound) as other:
        await _prepay(client, await make_user(), reservation.order, now)
    assert other.value.code is ErrorCode.ORDER_NOT_FOUND

    with pytest.raises(Conflict) as lapsed:
        await _prepay(client, user, reservation.order, now + timedelta(minutes=15))
    assert lapsed.value.code is ErrorCode.ORDER_NOT_PAYABLE
    # The statement that reads the order fixes its price only when prepay may go on.
    assert (await Order.get(id=reservation.order.id)).prepaid_at is None

    await _handle(settings, await _notify_of(wechat, reservation.order))
    with pytest.raises(Conflict) as paid:
        await _prepay(client, user, reservation.order, now)
    assert paid.value.code is ErrorCode.ORDER_NOT_PAYABLE
    assert wechat.calls_to("/pay/unifiedorder") == []
    assert (await Order.get(id=reservation.order.id)).prepaid_at is None


async def _leader_checks(settings: Settings, leader: User, real_name: str) -> None:
    """The leader's identity as the provider (the stand-in) judges ``real_name``."""
    with contextlib.suppress(Invalid):
        await identity.verify(
            principal=as_principal(leader),
            real_name=real_name,
            phone="13800138000",
            verifier=identity.StandIn(),
            settings=settings,
            now=_now(),
        )


async def test_prepay_reads_the_leader_payer_and_price_in_one_go(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    """One read brings the order, its payer's openid and its leader's verification: an
    unverified leader refuses before the price is fixed; an admin prepays for the buyer's
    account; an order without a community has no leader to wait for."""
    now = _now()
    reservation, user = await _reserve(now=now)
    order = reservation.order
    leader = await User.get(id=(await Community.get(id=order.community_id)).leader_id)
    await _leader_checks(settings, leader, "假名字")  # the provider refuses
    assert (await identity.of(principal=as_principal(leader))).status is IdentityStatus.FAILED

    with pytest.raises(Conflict) as waiting:
        await _prepay(client, user, order, now)
    assert waiting.value.code is ErrorCode.LEADER_NOT_VERIFIED
    assert (await Order.get(id=order.id)).prepaid_at is None
    assert wechat.calls_to("/pay/unifiedorder") == []

    await _leader_checks(settings, leader, "王小明")  # checked again, and matched
    admin = await make_user(Role.ADMIN)
    await _prepay(client, admin, order, now)
    assert wechat.pay_orders[order.out_trade_no]["openid"] == user.openid
    assert (await Order.get(id=order.id)).prepaid_at == now
    await _prepay(client, user, order, now + timedelta(minutes=1))  # a repeat keeps the price
    assert (await Order.get(id=order.id)).prepaid_at == now

    with pytest.raises(NotFound) as malformed:
        await prepays.prepay(
            principal=as_principal(user), order_id="not-a-uuid", cashier=_cashier(client), now=now
        )
    assert malformed.value.code is ErrorCode.ORDER_NOT_FOUND

    shop_wide = await catalog.create_product(
        actor=as_principal(admin), title="全店通用", skus=[SkuSpec("默认", 500, 5)]
    )
    buyer = await make_user()
    direct = await checkout.buy_direct(
        principal=as_principal(buyer),
        sku_id=str(shop_wide.skus[0].id),
        quantity=1,
        community_id=None,
        now=now,
    )
    assert direct.community_id is None
    params = await _prepay(client, buyer, direct, now)
    assert params["package"].startswith("prepay_id=")


# Orders beside the one prepaid, enough to fill its page and more.
_FILL_PAGE = """
INSERT INTO orders (id, out_trade_no, kind, user_id, sku_id, quantity, unit_price, amount,
                    status, created_at, updated_at)
SELECT gen_random_uuid(), 'QSFILL' || $3 || i, 'direct', $1, $2, 1, 100, 100, 'completed',
       now(), now()
  FROM generate_series(1, 60) AS i
"""
_BLOCK = "SELECT (ctid::text::point)[0]::int FROM orders WHERE id = $1"


async def test_prepay_fixes_the_price_without_moving_the_order_off_its_page(
    client: TestClient, wechat: FakeWeChat
) -> None:
    """Orders' pages keep room (migration 0190): setting prepaid_at is a heap-only update,
    the row stays on its page and no index gains an entry, though inserts filled the page."""
    now = _now()
    reservation, user = await _reserve(now=now)
    order = reservation.order
    db = connections.get("default")
    async with db.acquire_connection() as conn:
        await conn.execute(_FILL_PAGE, user.id, order.sku_id, "A")
        # Rewritten packed as inserts pack (fillfactor), the earlier tests' dead rows gone.
        await conn.execute("VACUUM FULL orders")
        # The rewrite keeps the heap's order, not the inserts': the order may end up on the
        # last, part-filled page. New rows go to that page first and fill it as inserts do.
        await conn.execute(_FILL_PAGE, user.id, order.sku_id, "B")
        block = await conn.fetchval(_BLOCK, order.id)
        neighbours = await conn.fetchval(
            "SELECT count(*) FROM orders WHERE (ctid::text::point)[0]::int = $1", block
        )
    assert neighbours > 10  # a page as full as inserts leave it

    await _prepay(client, user, order, now)

    async with db.acquire_connection() as conn:
        assert await conn.fetchval(_BLOCK, order.id) == block
    assert (await Order.get(id=order.id)).prepaid_at == now


# What an honoured payment owes, in its statement -----------------------------------------------


class Transactions:
    """How many transactions the notify opens (each a BEGIN and a COMMIT round trip)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = payments.in_transaction

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(payments, "in_transaction", counted)


async def test_an_honoured_payment_is_one_statement_with_everything_it_owes(
    settings: Settings,
    wechat: FakeWeChat,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The tier, the points and the earnings of the leader and both invite levels are written
    by the pay statement itself (``qunshop_pay_order``, migration 0160), asked alone: no
    transaction's BEGIN and COMMIT, no round trip after it."""
    community = await make_community()
    first, second, buyer = await make_user(), await make_user(), await make_user()
    for invitee, inviter in ((second, first), (buyer, second)):
        outcome = await invites.bind(
            invitee_id=invitee.id,
            inviter_id=inviter.id,
            source=VisitSource.ENTRY,
            at=_now(),
            rules=growth_rules.DEFAULTS,
        )
        assert outcome is invites.Outcome.BOUND
    order = await direct_order(buyer, community, price=12_345)
    body = await _notify_of(wechat, order)
    statements, transactions = Statements(caplog), Transactions(monkeypatch)
    statements.start()

    outcome = await _handle(settings, body)

    assert outcome.applied and outcome.honoured
    sent = statements.since()
    assert len(sent) == 1 and "qunshop_pay_order" in sent[0], sent
    assert transactions.count == 0
    assert (await Order.get(id=order.id)).status is OrderStatus.CONFIRMED
    earned = await PointsEntry.get(ref=f"order:{order.id}:earn")
    assert (earned.user_id, earned.delta, earned.reason) == (buyer.id, 123, "order")
    tier = await MemberTier.get(user_id=buyer.id)
    assert (tier.level_id, tier.growth) == (None, 12_345)
    accrued = {
        (e.kind, e.earner_id, e.amount, e.frozen_delta, e.community_id)
        for e in await EarningEntry.filter(order_id=order.id)
    }
    assert accrued == {
        (EarningKind.LEADER_SHARE, community.leader_id, 617, 617, community.id),  # 5 %
        (EarningKind.INVITE_L1, second.id, 370, 370, community.id),  # 3 %
        (EarningKind.INVITE_L2, first.id, 123, 123, community.id),  # 1 %
    }


async def test_a_payment_that_fills_its_team_is_asked_again_in_a_transaction(
    settings: Settings,
    wechat: FakeWeChat,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Asked alone, the last seat's payment writes nothing and is asked again inside the
    transaction its team's refunds and news share; it applies once."""
    campaign = await make_campaign(
        team_size=2, group_price=1000, price_tiers=[{"min_members": 2, "price": 800}]
    )
    first, _ = await _reserve(campaign)
    second = await groupbuy.join_team(
        principal=as_principal(await make_user()), team_ref=first.team.code, now=_now()
    )
    assert (await _handle(settings, await _notify_of(wechat, first.order))).honoured
    statements, transactions = Statements(caplog), Transactions(monkeypatch)
    statements.start()

    outcome = await _handle(settings, await _notify_of(wechat, second.order))

    assert outcome.applied and outcome.honoured
    assert sum("qunshop_pay_order" in s for s in statements.since()) == 2
    assert transactions.count == 1
    assert await Payment.filter(order_id=second.order.id).count() == 1
    assert (await Team.get(id=first.team.id)).status.value == "succeeded"
    assert await Refund.filter(reason="tier_price").count() == 2
    assert await OutboxMessage.filter(kind="news.publish").count() == 1
    for order in (first.order, second.order):
        assert (await Order.get(id=order.id)).status is OrderStatus.CONFIRMED


async def test_a_payment_that_fills_its_team_owing_no_refund_is_one_statement(
    settings: Settings,
    wechat: FakeWeChat,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its team's price owes no refund: the last seat's payment, asked alone, completes the
    team and publishes its news (news.publish's row) in its own statement (migration 0200);
    its repeat publishes nothing more."""
    campaign = await make_campaign(team_size=2, group_price=1000)
    first, _ = await _reserve(campaign)
    second = await groupbuy.join_team(
        principal=as_principal(await make_user()), team_ref=first.team.code, now=_now()
    )
    assert (await _handle(settings, await _notify_of(wechat, first.order))).honoured
    body = await _notify_of(wechat, second.order)
    statements, transactions = Statements(caplog), Transactions(monkeypatch)
    statements.start()

    outcome = await _handle(settings, body)

    assert outcome.applied and outcome.honoured
    sent = statements.since()
    assert len(sent) == 1 and "qunshop_pay_order" in sent[0], sent
    assert transactions.count == 0
    team = await Team.get(id=first.team.id)
    assert (team.status.value, team.final_price, team.seats_held) == ("succeeded", 1000, 2)
    for order in (first.order, second.order):
        assert (await Order.get(id=order.id)).status is OrderStatus.CONFIRMED
    assert not await Refund.exists()
    published = await OutboxMessage.get(kind=news.KIND)
    assert (published.payload, published.dedupe_key, published.status) == (
        {"event": news.TEAM_SUCCEEDED, "ref": str(team.id)},
        f"news:{news.TEAM_SUCCEEDED}:{team.id}",
        OutboxStatus.PENDING,
    )
    assert (await _handle(settings, body)).applied is False
    assert await OutboxMessage.filter(kind=news.KIND).count() == 1
