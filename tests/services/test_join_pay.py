"""Joining (or starting) a team asked to pay: the seat, and wx.requestPayment's parameters as
prepay gives them; a refused payment keeps the seat and says why."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient

from miniapp_api.error_codes import reachable_codes
from models.community import Community
from models.groupbuy import Campaign, Seat, SeatStatus, Team
from models.identity import IdentityStatus, LeaderIdentity
from models.order import Order, OrderStatus
from models.user import Role, User
from qunshop.config import Settings
from qunshop.errors import ErrorCode, Invalid
from qunshop.keys import PAY
from services import groupbuy, identity, join_pay, prepays, tiers
from services.auth import Principal
from tests.support.factories import make_campaign, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.support.statements import Statements
from wechat import pay

NOTIFY_URL = "https://shop.example.com/pay/wechat/notify"


@pytest.fixture(autouse=True)
async def orm(client: TestClient) -> None:
    """The app's start-up opens the ORM these tests use."""


def as_principal(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.role)


def _cashier(client: TestClient, **changes: object) -> prepays.Cashier:
    cashier = prepays.Cashier(
        pay=client.server.app[PAY], notify_url=NOTIFY_URL, client_ip="203.0.113.7"
    )
    return dataclasses.replace(cashier, **changes)  # type: ignore[arg-type]


def _now() -> datetime:
    return datetime.now(tz=UTC).replace(microsecond=0)


async def _team(**campaign: object) -> tuple[Team, User]:
    """An open team of three, its head's seat held."""
    head = await make_user()
    held = await groupbuy.start_team(
        principal=as_principal(head),
        campaign_id=str((await make_campaign(team_size=3, **campaign)).id),  # type: ignore[arg-type]
        now=_now(),
    )
    return held.team, head


def _assert_signed(params: dict[str, str], settings: Settings, prepay_id: str) -> None:
    assert params["package"] == f"prepay_id={prepay_id}"
    assert (params["appId"], params["signType"]) == (settings.wechat_appid, "HMAC-SHA256")
    key = settings.pay_api_key.get_secret_value()
    unsigned = {k: v for k, v in params.items() if k != "paySign"}
    assert pay.verify({**unsigned, "sign": params["paySign"]}, key)


async def _unverify(community_id: uuid.UUID, settings: Settings) -> None:
    """The leader checks details the provider does not match: no longer verified."""
    leader = await User.get(id=(await Community.get(id=community_id)).leader_id)
    with pytest.raises(Invalid):
        await identity.verify(
            principal=as_principal(leader),
            real_name="假名字",
            phone="13800138000",
            verifier=identity.StandIn(),
            settings=settings,
            now=_now(),
        )
    assert (await LeaderIdentity.get(user_id=leader.id)).status is IdentityStatus.FAILED


async def test_a_join_asked_to_pay_is_one_statement_and_answers_signed_params(
    client: TestClient, settings: Settings, wechat: FakeWeChat, caplog: pytest.LogCaptureFixture
) -> None:
    team, _ = await _team(group_price=990)
    member, now = await make_user(), _now()
    statements = Statements(caplog)
    statements.start()

    paying = await join_pay.join_team(
        principal=as_principal(member), team_ref=team.code, now=now, cashier=_cashier(client)
    )

    sent = statements.since()  # the join's statement: no prepay statement, no transaction
    assert len(sent) == 1 and "qunshop_join_team" in sent[0], sent
    assert paying.refused is None and paying.payment is not None
    order = await Order.get(id=paying.held.order_row["id"])
    placed = wechat.pay_orders[order.out_trade_no]
    _assert_signed(paying.payment, settings, placed["prepay_id"])
    assert paying.payment["timeStamp"] == str(int(now.timestamp()))
    assert (placed["total_fee"], placed["openid"], placed["notify_url"]) == (
        "990",
        member.openid,
        NOTIFY_URL,
    )
    assert placed["spbill_create_ip"] == "203.0.113.7"
    assert (order.status, order.prepaid_at, order.user_id) == (
        OrderStatus.PENDING_PAYMENT,
        now,
        member.id,
    )  # the price is fixed, as prepay fixes it
    assert paying.held.order_row["prepaid_at"] == now


async def test_a_start_asked_to_pay_prepays_after_its_transaction(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    campaign = await make_campaign(team_size=3, group_price=990, head_price=790)
    head, now = await make_user(), _now()

    paying = await join_pay.start_team(
        principal=as_principal(head),
        campaign_id=str(campaign.id),
        now=now,
        cashier=_cashier(client),
    )

    order = await Order.get(id=paying.held.order_row["id"])
    assert paying.payment is not None and paying.refused is None
    placed = wechat.pay_orders[order.out_trade_no]
    _assert_signed(paying.payment, settings, placed["prepay_id"])
    assert (placed["total_fee"], order.prepaid_at) == ("790", now)


async def test_a_member_priced_join_asked_to_pay_is_charged_its_discounted_price(
    client: TestClient, wechat: FakeWeChat
) -> None:
    boss = Principal(user_id=uuid.UUID(int=0), role=Role.ADMIN)
    ladder = tiers.Ladder(levels=(tiers.LevelSpec("铜卡", 0, discount_bps=200),))
    await tiers.set_ladder(ladder, actor=boss, now=_now())
    team, _ = await _team(group_price=990)

    paying = await join_pay.join_team(
        principal=as_principal(await make_user()),
        team_ref=team.code,
        now=_now(),
        cashier=_cashier(client),
    )

    order = await Order.get(id=paying.held.order_row["id"])
    assert (order.member_off, order.amount) == (19, 971)
    assert paying.payment is not None and order.prepaid_at is not None
    assert wechat.pay_orders[order.out_trade_no]["total_fee"] == "971"


async def test_an_unverified_leader_keeps_the_seat_and_says_why(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    team, _ = await _team()
    await _unverify((await Campaign.get(id=team.campaign_id)).community_id, settings)
    member, now = await make_user(), _now()

    paying = await join_pay.join_team(
        principal=as_principal(member), team_ref=team.code, now=now, cashier=_cashier(client)
    )

    assert paying.payment is None and paying.refused is not None
    assert paying.refused.code is ErrorCode.LEADER_NOT_VERIFIED
    seat = await Seat.get(order_id=paying.held.order_row["id"])
    assert (seat.user_id, seat.status) == (member.id, SeatStatus.RESERVED)
    order = await Order.get(id=seat.order_id)
    assert (order.status, order.prepaid_at) == (OrderStatus.PENDING_PAYMENT, None)
    assert wechat.calls_to("/pay/unifiedorder") == []
    assert (await Team.get(id=team.id)).seats_held == 2

    # Not required: the same rule in the join's statement lets it pay.
    other = await make_user()
    paying = await join_pay.join_team(
        principal=as_principal(other),
        team_ref=team.code,
        now=now,
        cashier=_cashier(client, leader_identity_required=False),
    )
    assert paying.payment is not None
    assert (await Order.get(id=paying.held.order_row["id"])).prepaid_at == now


async def test_wechat_pay_refusing_keeps_the_seat_and_prepay_works_later(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    team, _ = await _team(group_price=990)
    member, now = await make_user(), _now()
    wrong_key = dataclasses.replace(client.server.app[PAY], api_key="0" * 32)  # refused

    paying = await join_pay.join_team(
        principal=as_principal(member),
        team_ref=team.code,
        now=now,
        cashier=_cashier(client, pay=wrong_key),
    )

    assert paying.payment is None and paying.refused is not None
    assert paying.refused.code is ErrorCode.PAYMENT_PROVIDER_ERROR
    order = await Order.get(id=paying.held.order_row["id"])
    assert (await Seat.get(order_id=order.id)).status is SeatStatus.RESERVED
    assert order.status is OrderStatus.PENDING_PAYMENT

    params = await prepays.prepay(
        principal=as_principal(member),
        order_id=str(order.id),
        cashier=_cashier(client),
        now=now + timedelta(minutes=1),
    )
    _assert_signed(params, settings, wechat.pay_orders[order.out_trade_no]["prepay_id"])


async def test_a_join_without_pay_reads_no_payer_and_fixes_no_price(client: TestClient) -> None:
    team, _ = await _team()

    held = await groupbuy.join_team(
        principal=as_principal(await make_user()), team_ref=team.code, now=_now()
    )

    assert held.payer is None and held.order_row["prepaid_at"] is None


def test_the_documented_refusals_are_what_the_payment_part_can_raise() -> None:
    found = {code for codes in reachable_codes(join_pay.payment_of).values() for code in codes}
    assert found == set(join_pay.PAY_REFUSALS)
