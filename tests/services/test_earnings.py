"""The earnings ledger: accrued frozen on payment, released at pickup, reversed on refund.

Payments go through the real notify; the hooks are then called as services/payments.py and
services/refunds.py call them (a repeat is a no-op, so these pass with the hooks in place).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from tortoise.transactions import in_transaction

from models.community import Community
from models.growth import EarningEntry, EarningEvent, EarningKind, GrowthRules, Visit, VisitSource
from models.order import Order
from models.payment import Payment, Refund
from models.user import Role, User
from qunshop.config import Settings
from qunshop.errors import ErrorCode, Forbidden, Invalid
from services import earnings, groupbuy, growth_rules, invites, lifecycle, payments, pickup, refunds
from services.growth_rules import Rules
from tests.support.factories import make_campaign, make_community, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.support.growth import direct_order, now, paid_order, principal_of


@pytest.fixture(autouse=True)
async def orm(client: TestClient) -> None:
    """The app's start-up opens the ORM these tests use."""


async def _invite(invitee: User, inviter: User) -> None:
    outcome = await invites.bind(
        invitee_id=invitee.id,
        inviter_id=inviter.id,
        source=VisitSource.ENTRY,
        at=now(),
        rules=Rules(),
    )
    assert outcome is invites.Outcome.BOUND


async def _kinds(order: Order) -> dict[EarningKind, tuple[str, int]]:
    rows = await EarningEntry.filter(order_id=order.id, event=EarningEvent.ACCRUE)
    return {r.kind: (str(r.earner_id), r.amount) for r in rows}


async def _refund(order: Order, amount: int) -> Refund:
    async with in_transaction():
        payment = await Payment.get(order_id=order.id, outcome="honoured")
        refund = await refunds.owe(
            order=order, payment=payment, amount=amount, reason="test", now=now()
        )
        await earnings.on_refund(order, refund=refund, now=now())
    return refund


async def test_the_leader_earns_on_every_order_of_the_community(
    settings: Settings, wechat: FakeWeChat
) -> None:
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    first, second = await make_user(), await make_user()
    one = await paid_order(settings, wechat, first, community, price=10_000)
    two = await paid_order(settings, wechat, second, community, price=3_333)
    assert await _kinds(one) == {EarningKind.LEADER_SHARE: (str(leader.id), 500)}
    assert await _kinds(two) == {EarningKind.LEADER_SHARE: (str(leader.id), 166)}
    assert await earnings.balance(leader.id) == earnings.Balance(frozen=666, available=0)
    # another community's order is not this leader's
    other = await make_community()
    await paid_order(settings, wechat, first, other)
    assert await earnings.balance(leader.id) == earnings.Balance(frozen=666, available=0)


async def test_two_levels_of_invite_commission_and_never_a_third(
    settings: Settings, wechat: FakeWeChat
) -> None:
    community = await make_community()
    a, b, c, buyer = [await make_user() for _ in range(4)]
    await _invite(b, a)
    await _invite(c, b)
    await _invite(buyer, c)
    order = await paid_order(settings, wechat, buyer, community, price=10_000)
    kinds = await _kinds(order)
    assert kinds[EarningKind.INVITE_L1] == (str(c.id), 300)
    assert kinds[EarningKind.INVITE_L2] == (str(b.id), 100)
    assert len(kinds) == 3  # and the leader's share; a, three levels up, gets nothing
    assert await EarningEntry.filter(earner_id=a.id).count() == 0


async def test_a_third_level_is_refused_as_pyramid_selling() -> None:
    assert Rules(invite_bps=(300, 100)).invite_bps == (300, 100)
    with pytest.raises(Invalid) as exc:
        Rules(invite_bps=(300, 100, 50))
    assert exc.value.code is ErrorCode.PYRAMID_REFUSED
    assert "invite_level3_bps" not in GrowthRules._meta.fields_map
    for bad in ({"leader_share_bps": -1}, {"invite_bps": (6000,)}, {"binding_days": 0}):
        with pytest.raises(Invalid) as exc:
            Rules(**bad)  # type: ignore[arg-type]
        assert exc.value.code is ErrorCode.GROWTH_RULES_INVALID


async def test_rules_are_set_by_admins_and_apply(settings: Settings, wechat: FakeWeChat) -> None:
    admin, leader_user = await make_user(Role.ADMIN), await make_user(Role.LEADER)
    with pytest.raises(Forbidden):
        await growth_rules.update(actor=principal_of(leader_user), rules=Rules(), now=now())
    await growth_rules.update(
        actor=principal_of(admin),
        rules=Rules(leader_share_bps=1000, invite_bps=(200,)),
        now=now(),
    )
    assert await growth_rules.current() == Rules(leader_share_bps=1000, invite_bps=(200, 0))
    community = await make_community()
    inviter, buyer = await make_user(), await make_user()
    await _invite(buyer, inviter)
    order = await paid_order(settings, wechat, buyer, community, price=5_000)
    kinds = await _kinds(order)
    assert kinds[EarningKind.LEADER_SHARE][1] == 500 and kinds[EarningKind.INVITE_L1][1] == 100


async def test_frozen_until_completed_then_released(settings: Settings, wechat: FakeWeChat) -> None:
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    inviter, buyer = await make_user(), await make_user()
    await _invite(buyer, inviter)
    order = await paid_order(settings, wechat, buyer, community, price=10_000)
    assert await earnings.balance(leader.id) == earnings.Balance(frozen=500, available=0)
    assert await earnings.balance(inviter.id) == earnings.Balance(frozen=300, available=0)

    await pickup.arrived(principal=principal_of(leader), community_id=None, now=now())
    ticket = await pickup.ticket(principal=principal_of(buyer), order_id=str(order.id))
    await pickup.verify(principal=principal_of(leader), code=ticket.code, now=now())
    assert await earnings.balance(leader.id) == earnings.Balance(frozen=500, available=0)

    assert await lifecycle.auto_complete(now=now() + timedelta(days=8)) == 1
    assert await earnings.balance(leader.id) == earnings.Balance(frozen=0, available=500)
    assert await earnings.balance(inviter.id) == earnings.Balance(frozen=0, available=300)
    completed = await Order.get(id=order.id)
    assert await earnings.on_completed(completed, now=now()) == []  # once
    assert await EarningEntry.filter(order_id=order.id, event=EarningEvent.RELEASE).count() == 2


async def test_reversed_on_refund(settings: Settings, wechat: FakeWeChat) -> None:
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    inviter, buyer = await make_user(), await make_user()
    await _invite(buyer, inviter)
    order = await paid_order(settings, wechat, buyer, community, price=10_000)
    await _refund(order, 10_000)  # the team failed, say
    assert await earnings.balance(leader.id) == earnings.Balance(frozen=0, available=0)
    assert await earnings.balance(inviter.id) == earnings.Balance(frozen=0, available=0)
    reversals = await EarningEntry.filter(order_id=order.id, event=EarningEvent.REVERSE)
    assert sorted((r.kind.value, r.frozen_delta) for r in reversals) == [
        ("invite_l1", -300),
        ("leader_share", -500),
    ]


async def test_a_partial_refund_reverses_its_share(settings: Settings, wechat: FakeWeChat) -> None:
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    order = await paid_order(settings, wechat, await make_user(), community, price=10_000)
    partial = await _refund(order, 3_000)  # the 阶梯团 difference, say
    assert await earnings.balance(leader.id) == earnings.Balance(frozen=350, available=0)
    # the same refund reported again takes nothing more
    assert await earnings.on_refund(order, refund=partial, now=now()) == []
    await earnings.on_completed(order, now=now())
    assert await earnings.balance(leader.id) == earnings.Balance(frozen=0, available=350)


async def test_a_refund_after_release_takes_from_available(
    settings: Settings, wechat: FakeWeChat
) -> None:
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    order = await paid_order(settings, wechat, await make_user(), community, price=10_000)
    await earnings.on_completed(order, now=now())
    await _refund(order, 10_000)
    assert await earnings.balance(leader.id) == earnings.Balance(frozen=0, available=0)
    (reversal,) = await EarningEntry.filter(order_id=order.id, event=EarningEvent.REVERSE)
    assert (reversal.frozen_delta, reversal.available_delta) == (0, -500)


async def test_a_refunded_second_payment_takes_no_earnings(
    settings: Settings, wechat: FakeWeChat
) -> None:
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    order = await paid_order(settings, wechat, await make_user(), community, price=10_000)
    async with in_transaction():
        stray = await Payment.create(
            order_id=order.id, transaction_id="4200STRAY", amount=10_000, outcome="refunded"
        )
        refund = await refunds.owe(
            order=order, payment=stray, amount=10_000, reason="unhonourable_payment", now=now()
        )
        assert await earnings.on_refund(order, refund=refund, now=now()) == []
    assert await earnings.balance(leader.id) == earnings.Balance(frozen=500, available=0)


async def test_the_ledger_is_append_only(settings: Settings, wechat: FakeWeChat) -> None:
    community = await make_community()
    order = await paid_order(settings, wechat, await make_user(), community)
    again = await earnings.on_paid(order, now=now())
    assert again == []  # the hook is idempotent: one accrual per order and kind
    entry = await EarningEntry.get(order_id=order.id)
    with pytest.raises(Exception, match="append-only"):
        await EarningEntry.filter(id=entry.id).update(amount=1)
    with pytest.raises(Exception, match="append-only"):
        await EarningEntry.filter(id=entry.id).delete()
    assert (await EarningEntry.get(id=entry.id)).amount == 500


async def test_weekly_statements() -> None:
    community: Community = await make_community()
    leader = await User.get(id=community.leader_id)
    # An order accrued last week (the hook dates the row with its clock).
    last_week = now() - timedelta(days=7)
    order = await direct_order(await make_user(), community, price=10_000)
    await earnings.on_paid(order, now=last_week)
    made = await earnings.weekly_statements(now=now(), timezone="Asia/Shanghai")
    assert [s.earner_id for s in made] == [leader.id]
    statement = made[0]
    monday, _, _ = earnings.last_week(now=now(), timezone="Asia/Shanghai")
    assert statement.week_start == monday and statement.week_start.weekday() == 0
    assert (statement.accrued, statement.frozen_balance, statement.available_balance) == (
        500,
        500,
        0,
    )
    again = await earnings.weekly_statements(now=now(), timezone="Asia/Shanghai")
    assert [s.id for s in again] == [statement.id]
    mine = await earnings.statement_of_last_week(leader.id, now=now(), timezone="Asia/Shanghai")
    assert mine is not None and mine.id == statement.id
    nobody = await make_user()
    assert await earnings.statement_of_last_week(nobody.id, now=now(), timezone="UTC") is None


async def test_an_order_without_a_group_is_its_buyers_last_group_visit() -> None:
    community = await make_community()
    buyer, other = await make_user(), await make_user()
    at = now()
    for who, opengid, hours in (
        (buyer, "g-old", 30),  # outside the 24 hours
        (buyer, "g-earlier", 3),
        (buyer, "g-last", 2),
        (other, "g-other", 1),  # someone else's visit
    ):
        await Visit.create(
            user=who,
            source=VisitSource.GROUP,
            community=community,
            opengid=opengid,
            outcome="recorded",
            created_at=at - timedelta(hours=hours),
        )
    order = await direct_order(buyer, community)
    assert order.chat_id is None
    await earnings.on_paid(order, now=at)
    assert (await Order.get(id=order.id)).chat_id == "g-last"
    # An order with a group keeps it; the leader still earns on it.
    kept = await direct_order(buyer, community)
    await Order.filter(id=kept.id).update(chat_id="g-own")
    kept.chat_id = "g-own"
    assert [e.kind for e in await earnings.on_paid(kept, now=at)] == [EarningKind.LEADER_SHARE]
    assert (await Order.get(id=kept.id)).chat_id == "g-own"


async def test_a_tier_price_refund_takes_back_the_earnings_of_every_member(
    settings: Settings, wechat: FakeWeChat
) -> None:
    """The last payment fills the team, which owes every member the tier price's difference
    before that payment's own earnings accrue: they must come back all the same, so the
    leader earns on what each member kept, the last one included."""
    campaign = await make_campaign(
        price_tiers=[{"min_members": 2, "price": 800}], group_price=1000, team_size=2
    )
    community = await Community.get(id=campaign.community_id)
    buyers = [await make_user(), await make_user()]
    head = await groupbuy.start_team(
        principal=principal_of(buyers[0]), campaign_id=str(campaign.id), now=now()
    )
    joined = await groupbuy.join_team(
        principal=principal_of(buyers[1]), team_ref=str(head.team.id), now=now()
    )
    for seat, buyer in ((head, buyers[0]), (joined, buyers[1])):
        outcome = await payments.handle_notify(
            wechat.payment_notify(
                out_trade_no=seat.order.out_trade_no, total_fee=1000, openid=buyer.openid
            ),
            api_key=settings.pay_api_key.get_secret_value(),
            appid=settings.wechat_appid,
            mch_id=settings.pay_mch_id,
            now=now(),
        )
        assert outcome.honoured
    assert sorted(r.amount for r in await Refund.all()) == [200, 200]
    share = Rules().leader_share_bps
    kept = 800 * share // 10_000
    for seat in (head, joined):
        moves = await EarningEntry.filter(order_id=seat.order.id)
        assert sum(m.frozen_delta for m in moves) == kept
    assert await earnings.balance(community.leader_id) == earnings.Balance(
        frozen=2 * kept, available=0
    )
