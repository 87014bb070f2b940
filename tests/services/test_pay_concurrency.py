"""Real concurrency on PostgreSQL through ``qunshop_pay_order``: the rows are the verdict."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient

from models.groupbuy import Seat, SeatStatus, Team, TeamStatus
from models.growth import EarningEntry, EarningEvent, EarningKind
from models.order import Order, OrderStatus
from models.outbox import OutboxMessage
from models.payment import Payment, Refund
from models.tier import MemberTier
from models.user import User
from qunshop.config import Settings
from services import groupbuy, news, payments
from services.auth import Principal
from tests.support.factories import make_campaign, make_user
from tests.support.fake_wechat import FakeWeChat

SIZE = 4
DELIVERIES = 6  # WeChat Pay repeats a notify until it is answered; here all at once


@pytest.fixture(autouse=True)
async def orm(client: TestClient) -> None:
    """The app's start-up opens the ORM these tests use."""


async def _handle(settings: Settings, body: bytes) -> payments.NotifyOutcome:
    return await payments.handle_notify(
        body,
        api_key=settings.pay_api_key.get_secret_value(),
        appid=settings.wechat_appid,
        mch_id=settings.pay_mch_id,
        now=datetime.now(tz=UTC),
    )


async def test_last_seats_and_repeated_notifies_at_once(
    settings: Settings, wechat: FakeWeChat
) -> None:
    # A team of four with a tier: at four members everyone pays 890, not 990.
    campaign = await make_campaign(
        team_size=SIZE,
        stock_cap=20,
        group_price=990,
        price_tiers=[{"min_members": 4, "price": 890}],
    )
    now = datetime.now(tz=UTC)
    people = [await make_user() for _ in range(SIZE)]
    first = await groupbuy.start_team(
        principal=Principal(user_id=people[0].id, role=people[0].role),
        campaign_id=str(campaign.id),
        now=now,
    )
    reservations = [first]
    for person in people[1:]:
        reservations.append(
            await groupbuy.join_team(
                principal=Principal(user_id=person.id, role=person.role),
                team_ref=first.team.code,
                now=now,
            )
        )
    bodies = []
    for k, reservation in enumerate(reservations):
        order = reservation.order
        openid = (await User.get(id=order.user_id)).openid
        bodies.append(
            wechat.payment_notify(
                out_trade_no=order.out_trade_no,
                total_fee=order.amount,
                openid=openid,
                transaction_id=f"42000000{k:02d}",
                sign_type="HMAC-SHA256",
            )
        )

    # Every seat's notify, each delivered several times, all released together.
    outcomes = await asyncio.gather(
        *(_handle(settings, body) for body in bodies for _ in range(DELIVERIES))
    )

    assert sum(o.applied for o in outcomes) == SIZE
    assert sum(o.honoured for o in outcomes) == SIZE
    team_id = first.team.id
    orders = await Order.filter(team_id=team_id)
    assert await Payment.filter(order_id__in=[o.id for o in orders]).count() == SIZE
    assert await Payment.filter(outcome="honoured").count() == SIZE
    assert all(o.status is OrderStatus.CONFIRMED for o in orders)
    team = await Team.get(id=team_id)
    assert (team.status, team.seats_paid, team.final_price) == (TeamStatus.SUCCEEDED, SIZE, 890)
    assert await Seat.filter(team_id=team_id, status=SeatStatus.PAID).count() == SIZE
    # One completion: one piece of news, one tier refund per member.
    succeeded = await OutboxMessage.filter(dedupe_key=f"news:{news.TEAM_SUCCEEDED}:{team_id}")
    assert len(succeeded) == 1
    assert await Refund.filter(reason="tier_price").count() == SIZE
    assert {r.amount for r in await Refund.all()} == {100}
    # The leader's share accrued once per order.
    accruals = await EarningEntry.filter(kind=EarningKind.LEADER_SHARE, event=EarningEvent.ACCRUE)
    assert sorted(str(e.order_id) for e in accruals) == sorted(str(o.id) for o in orders)


async def test_one_persons_orders_paid_at_once_both_count_in_their_growth(
    settings: Settings, wechat: FakeWeChat
) -> None:
    """No new-user offer and no first-order coupon here, so "paid before" decides nothing;
    the buyer's row is locked all the same (migration 0220): the tier's growth, read after
    that lock, counts the other payment, wherever the two overlap."""
    campaigns = [await make_campaign(team_size=SIZE, group_price=990 + k) for k in range(2)]
    now = datetime.now(tz=UTC)
    people = [await make_user() for _ in range(3)]
    bodies = []
    for person in people:
        for campaign in campaigns:
            order = (
                await groupbuy.start_team(
                    principal=Principal(user_id=person.id, role=person.role),
                    campaign_id=str(campaign.id),
                    now=now,
                )
            ).order
            bodies.append(
                wechat.payment_notify(
                    out_trade_no=order.out_trade_no,
                    total_fee=order.amount,
                    openid=person.openid,
                    transaction_id=f"42000001{len(bodies):02d}",
                    sign_type="HMAC-SHA256",
                )
            )

    outcomes = await asyncio.gather(*(_handle(settings, body) for body in bodies))

    assert all(o.honoured for o in outcomes)
    for person in people:
        paid = await Order.filter(user_id=person.id, status=OrderStatus.PAID_AWAITING_TEAM)
        assert len(paid) == 2
        tier = await MemberTier.get(user_id=person.id)
        assert tier.growth == sum(o.amount for o in paid) == 990 + 991
