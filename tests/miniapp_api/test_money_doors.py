"""Money through the doors a person uses: a member's tier discount in the order's price from
the join, the tier applied as soon as the admin sets the ladder, growth less every refund,
a failed team's members free to buy again, points taken back by each refund once, and the
development reconciliation (the simulated payment's real time, no run of a day not over)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient

from models.activity import PointsEntry
from models.community import Community
from models.groupbuy import Seat, SeatStatus, Team, TeamStatus
from models.order import Order, OrderKind, OrderStatus
from models.payment import Payment, Refund, RefundStatus
from models.reconciliation import DifferenceKind
from models.tier import MemberTier
from models.user import Role, User
from qunshop.assembly.app import create_app
from qunshop.config import Settings
from services import groupbuy, points, reconciliation, tiers
from tests.support.aftersale_world import paid_order
from tests.support.factories import auth, make_campaign, make_sku, make_user
from tests.support.fake_wechat import FakeWeChat

NOTIFY = "/pay/wechat/notify"
REFUND_NOTIFY = "/pay/wechat/refund-notify"
XML = {"Content-Type": "application/xml"}
SILVER = {"name": "银卡", "threshold": 500, "discount_bps": 200, "points_multiplier_pct": 100}


def _now() -> datetime:
    return datetime.now(tz=UTC)


async def _paid(user_id: object, amount: int, *, refunded: tuple[int, str] | None = None) -> None:
    """An order of ``amount`` paid (and, if given, a refund of it in that status)."""
    order = await Order.create(
        out_trade_no=f"QSMONEY{amount}{str(user_id)[:8]}",
        kind=OrderKind.DIRECT,
        user_id=user_id,
        sku=await make_sku(),
        unit_price=amount,
        amount=amount,
        status=OrderStatus.CONFIRMED,
        paid_at=_now(),
    )
    payment = await Payment.create(
        order=order, transaction_id=f"T{order.out_trade_no}", amount=amount, outcome="honoured"
    )
    if refunded is not None:
        await Refund.create(
            order=order,
            payment=payment,
            out_refund_no=f"RF{order.out_trade_no}",
            amount=refunded[0],
            total=amount,
            reason="after_sale",
            cause="after_sale",
            status=RefundStatus(refunded[1]),
        )


async def _set_ladder(client: TestClient, settings: Settings, *levels: dict[str, Any]) -> None:
    boss = await make_user(Role.ADMIN)
    body = {"window_days": 365, "levels": list(levels)}
    resp = await client.put("/api/v1/admin/tiers", json=body, headers=auth(boss, settings))
    assert resp.status == 200, await resp.text()


async def _pay_notify(client: TestClient, wechat: FakeWeChat, order_id: str) -> None:
    order = await Order.get(id=order_id)
    user = await User.get(id=order.user_id)
    body = wechat.payment_notify(
        out_trade_no=order.out_trade_no, total_fee=order.amount, openid=user.openid
    )
    resp = await client.post(NOTIFY, data=body, headers=XML)
    assert resp.status == 200 and b"SUCCESS" in await resp.read()


# 1 and 5: the member's tier, from the ladder to the price ----------------------------------


async def test_the_tier_holds_once_the_admin_sets_the_ladder(
    client: TestClient, settings: Settings
) -> None:
    member = await make_user()
    await _paid(member.id, 990)
    # Calculated before there was a ladder: growth 990, no level.
    await tiers.recalculate(member.id, now=_now())
    assert (await MemberTier.get(user_id=member.id)).level_id is None

    await _set_ladder(client, settings, SILVER)

    mine = await (await client.get("/api/v1/me/tier", headers=auth(member, settings))).json()
    assert (mine["name"], mine["growth"], mine["discount_bps"]) == ("银卡", 990, 200)
    row = await MemberTier.get(user_id=member.id).select_related("level")
    assert row.level.name == "银卡"
    # A second change of the ladder reaches the member as well (a rise counts at once).
    gold = {"name": "金卡", "threshold": 900, "discount_bps": 500, "points_multiplier_pct": 150}
    await _set_ladder(client, settings, SILVER, gold)
    mine = await (await client.get("/api/v1/me/tier", headers=auth(member, settings))).json()
    assert (mine["name"], mine["discount_bps"], mine["next_name"]) == ("金卡", 500, None)


async def test_a_member_joins_at_the_tier_price_and_wechat_pay_is_asked_for_it(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    member = await make_user()
    await _paid(member.id, 990)
    await tiers.recalculate(member.id, now=_now())  # before the ladder: no level yet
    await _set_ladder(client, settings, SILVER)
    campaign = await make_campaign(team_size=3, group_price=1990, head_price=1500)
    head = await make_user()  # not a member: the head's seat at the full head price
    started = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=auth(head, settings)
    )
    assert started.status == 201, await started.text()
    assert (await started.json())["order"]["member_off"] == 0

    joined = await client.post(
        f"/api/v1/teams/{(await started.json())['team']['code']}/join",
        json={},
        headers=auth(member, settings),
    )
    assert joined.status == 201, await joined.text()
    shown = (await joined.json())["order"]
    assert (shown["unit_price"], shown["member_off"], shown["amount"]) == (1990, 39, 1951)
    order = await Order.get(id=shown["id"])
    assert (order.unit_price, order.member_off, order.amount) == (1990, 39, 1951)

    resp = await client.post(f"/api/v1/orders/{order.id}/prepay", headers=auth(member, settings))
    assert resp.status == 200, await resp.text()
    assert wechat.pay_orders[order.out_trade_no]["total_fee"] == "1951"
    await _pay_notify(client, wechat, str(order.id))
    assert [p.amount for p in await Payment.filter(order_id=order.id)] == [1951]

    # A member who starts a team pays the tier price of the head's price too.
    other = await make_campaign(team_size=2, group_price=1990, head_price=1500)
    own = await client.post(
        f"/api/v1/campaigns/{other.id}/teams", json={}, headers=auth(member, settings)
    )
    assert own.status == 201, await own.text()
    shown = (await own.json())["order"]
    assert (shown["unit_price"], shown["member_off"], shown["amount"]) == (1500, 30, 1470)


# 2: growth ----------------------------------------------------------------------------------


async def test_growth_is_paid_less_every_refund(client: TestClient, settings: Settings) -> None:
    member = await make_user()
    await _paid(member.id, 3580, refunded=(3580, "succeeded"))
    await _paid(member.id, 11928, refunded=(5990, "pending"))
    await _paid(member.id, 700, refunded=(700, "failed"))  # closed by WeChat Pay: not refunded
    assert await Refund.filter(order__user_id=member.id).count() == 3

    mine = await (await client.get("/api/v1/me/tier", headers=auth(member, settings))).json()
    assert mine["growth"] == 3580 + 11928 + 700 - 3580 - 5990 == 6638
    assert await tiers.growth_of(member.id, since=_now() - timedelta(days=1)) == 6638


# 3: a failed team's members may buy again ------------------------------------------------------


async def test_members_of_a_failed_team_may_join_the_campaign_again(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    campaign = await make_campaign(team_size=3, group_price=990, per_user_limit=1)
    member = await make_user()
    started = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=auth(member, settings)
    )
    assert started.status == 201, await started.text()
    first = await started.json()
    await _pay_notify(client, wechat, first["order"]["id"])
    again = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=auth(member, settings)
    )
    assert again.status == 409  # the limit holds while the paid seat stands

    team = await Team.get(id=first["team"]["id"])
    after = team.deadline_at + timedelta(minutes=1)
    assert await groupbuy.close_team(team.id, now=after) is TeamStatus.FAILED
    assert (await Seat.get(team_id=team.id)).status is SeatStatus.REFUNDED

    # A new team, and a join of someone else's: both counted against the limit of one.
    other_head = await make_user()
    opened = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=auth(other_head, settings)
    )
    code = (await opened.json())["team"]["code"]
    joined = await client.post(
        f"/api/v1/teams/{code}/join", json={}, headers=auth(member, settings)
    )
    assert joined.status == 201, await joined.text()
    over = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=auth(member, settings)
    )
    assert over.status == 409 and (await over.json())["code"] in (
        "already_in_team",
        "user_limit_reached",
    )
    seats = await Seat.filter(campaign_id=campaign.id, user_id=member.id).order_by("created_at")
    assert [s.status for s in seats] == [SeatStatus.REFUNDED, SeatStatus.RESERVED]


# 4: points back with each refund --------------------------------------------------------------


async def _settle(client: TestClient, wechat: FakeWeChat, refund: Refund) -> None:
    order = await Order.get(id=refund.order_id)
    body = wechat.refund_notify(
        out_refund_no=refund.out_refund_no,
        out_trade_no=order.out_trade_no,
        refund_fee=refund.amount,
        total_fee=refund.total,
    )
    resp = await client.post(REFUND_NOTIFY, data=body, headers=XML)
    assert resp.status == 200


async def test_an_after_sales_refund_takes_back_its_share_of_the_points_once(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    order = await paid_order(settings, wechat, now=_now(), price=2000)
    buyer = await User.get(id=order.user_id)
    assert await points.balance(buyer.id) == 20  # one point a yuan

    asked = await client.post(
        f"/api/v1/orders/{order.id}/after-sales",
        json={"kind": "refund_only", "reason": "missing", "amount": 700},
        headers=auth(buyer, settings),
    )
    assert asked.status == 201, await asked.text()
    community = await Community.get(id=order.community_id)
    leader = await User.get(id=community.leader_id)
    approved = await client.post(
        f"/api/v1/after-sales/{(await asked.json())['id']}/approve",
        headers=auth(leader, settings),
    )
    assert approved.status == 200, await approved.text()
    refund = await Refund.get(order_id=order.id)
    assert refund.amount == 700
    assert await points.balance(buyer.id) == 20  # nothing back until the money went back

    for _ in range(3):  # WeChat Pay repeats its notify
        await _settle(client, wechat, refund)
    assert await points.balance(buyer.id) == 20 - 7  # 700 of 2000 fen: 7 of 20 points
    taken = await PointsEntry.filter(user_id=buyer.id, reason="order_refunded")
    assert [(e.delta, e.ref) for e in taken] == [(-7, f"refund:{refund.id}:unearn")]
    assert await points.balance(buyer.id) == await points.ledger_sum(buyer.id)


# 6: the development reconciliation ------------------------------------------------------------


async def test_a_simulated_payment_counts_on_its_own_day_and_no_run_before_the_day_is_over(
    make_settings: Callable[..., Settings], start_client: Callable[..., Any]
) -> None:
    settings = make_settings(mode="development")
    client = await start_client(create_app(settings, background=False))
    campaign = await make_campaign(team_size=3, group_price=990)
    buyer = await make_user()
    started = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=auth(buyer, settings)
    )
    order_id = (await started.json())["order"]["id"]
    paid = await client.post(
        f"/api/v1/dev/orders/{order_id}/simulate-payment", headers=auth(buyer, settings)
    )
    assert paid.status == 200, await paid.text()
    payment = await Payment.get(order_id=order_id)
    shanghai = ZoneInfo("Asia/Shanghai")
    stamp = datetime.strptime(payment.payload["time_end"], "%Y%m%d%H%M%S").replace(tzinfo=shanghai)
    assert abs(stamp - payment.received_at) < timedelta(minutes=1)
    today = _now().astimezone(shanghai).date()
    # The day's books hold it (the stand-in has no bill: our payment is one WeChat Pay lacks).
    found = await reconciliation.match(today, [])
    assert [(f.kind, f.transaction_id) for f in found] == [
        (DifferenceKind.KNOWN_UNPAID, payment.transaction_id)
    ]

    admin = auth(await make_user(Role.ADMIN), settings)
    for day in (today, today + timedelta(days=1), "2030-01-01"):
        resp = await client.post(f"/api/v1/admin/reconciliation/{day}/run", headers=admin)
        assert resp.status == 422, await resp.text()
        assert (await resp.json())["code"] == "bill_day_not_over"
    resp = await client.post(
        f"/api/v1/admin/reconciliation/{today - timedelta(days=1)}/run", headers=admin
    )
    assert resp.status == 202, await resp.text()


async def test_a_member_in_a_tier_price_team_gets_back_the_fall_at_the_member_price(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    await _set_ladder(client, settings, SILVER)
    member = await make_user()
    await _paid(member.id, 990)
    campaign = await make_campaign(
        team_size=2, group_price=1000, price_tiers=[{"min_members": 2, "price": 800}]
    )
    head = await make_user()
    started = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=auth(head, settings)
    )
    code = (await started.json())["team"]["code"]
    joined = await client.post(
        f"/api/v1/teams/{code}/join", json={}, headers=auth(member, settings)
    )
    assert (await joined.json())["order"]["amount"] == 980  # 2 % off 1000
    for reply in (started, joined):
        await _pay_notify(client, wechat, (await reply.json())["order"]["id"])

    owed = {r.order_id: r.amount for r in await Refund.all()}
    # The head paid 1000, owes 800: 200 back. The member paid 980 and owes 800 less 2 %, 784.
    assert sorted(owed.values()) == [196, 200]
    member_order = await Order.get(user_id=member.id, campaign_id=campaign.id)
    assert owed[member_order.id] == 196
