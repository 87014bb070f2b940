"""join_team, the one statement ``qunshop_join_team`` (services/join_sql.py): what it writes,
each refusal with its stable code and wording, and that a refusal changes no row.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from models.groupbuy import Campaign, Seat, SeatStatus, Team, TeamStatus
from models.order import Order, OrderKind, OrderStatus
from models.user import Role, User
from qunshop.config import Settings
from qunshop.errors import Conflict, NotFound
from services import groupbuy, payments, tiers
from services.auth import Principal
from tests.support.db import connect
from tests.support.factories import make_campaign, make_user, stock_left
from tests.support.fake_wechat import FakeWeChat

pytestmark = pytest.mark.usefixtures("client")

ALREADY = "you already hold a seat in an open team of this campaign"


def who(user: Any) -> Principal:
    return Principal(user_id=user.id, role=user.role)


async def _rows(campaign_id: uuid.UUID) -> tuple[int, ...]:
    """Every number a join changes: orders, seats, seats held, stock left."""
    teams = await Team.filter(campaign_id=campaign_id)
    campaign = await Campaign.get(id=campaign_id)
    return (
        await Order.all().count(),
        await Seat.all().count(),
        sum(t.seats_held for t in teams),
        campaign.stock_left,
    )


async def _refused(
    campaign_id: uuid.UUID, user: Any, ref: str, now: datetime, error: type[Exception] = Conflict
) -> tuple[str, str]:
    before = await _rows(campaign_id)
    with pytest.raises(error) as exc:
        await groupbuy.join_team(principal=who(user), team_ref=ref, now=now, chat_id="g1")
    assert await _rows(campaign_id) == before
    return exc.value.code, exc.value.detail  # type: ignore[attr-defined]


async def _started(campaign: Campaign, now: datetime) -> groupbuy.Reservation:
    head = await make_user()
    return await groupbuy.start_team(principal=who(head), campaign_id=str(campaign.id), now=now)


async def test_a_join_returns_the_rows_it_wrote() -> None:
    now = datetime.now(tz=UTC)
    campaign = await make_campaign(team_size=3, stock_cap=5, group_price=990, head_price=500)
    started = await _started(campaign, now)
    member = await make_user()
    joined = await groupbuy.join_team(
        principal=who(member), team_ref=f" {started.team.code.lower()} ", now=now, chat_id="g1"
    )
    order, seat, team = (
        await Order.get(id=joined.order.id),
        await Seat.get(id=joined.seat.id),
        await Team.get(id=started.team.id),
    )
    assert joined.team.id == team.id and joined.team.seats_held == team.seats_held == 2
    assert joined.team.status is TeamStatus.OPEN and joined.team.code == team.code
    # A joiner pays the group price, never the head's.
    assert (order.unit_price, order.amount, order.quantity) == (990, 990, 1)
    assert order.kind is OrderKind.GROUP and order.status is OrderStatus.PENDING_PAYMENT
    assert order.reserved_until == now + timedelta(minutes=15) == seat.reserved_until
    assert (order.team_id, order.campaign_id, order.user_id) == (team.id, campaign.id, member.id)
    assert (order.sku_id, order.community_id) == (campaign.sku_id, campaign.community_id)
    assert order.chat_id == "g1" and order.out_trade_no.startswith("QS")
    assert seat.order_id == order.id and seat.status is SeatStatus.RESERVED
    assert seat.in_open_team and not seat.is_head
    for field in ("id", "out_trade_no", "unit_price", "amount", "reserved_until", "status"):
        assert getattr(joined.order, field) == getattr(order, field)
    assert (joined.seat.id, joined.seat.status) == (seat.id, seat.status)
    assert await stock_left(campaign.id) == 3
    by_id = await groupbuy.join_team(
        principal=who(await make_user()), team_ref=str(team.id), now=now
    )
    assert by_id.team.seats_held == 3 and by_id.order.chat_id is None


async def test_no_such_team() -> None:
    now = datetime.now(tz=UTC)
    campaign = await make_campaign()
    await _started(campaign, now)
    user = await make_user()
    for ref in ("NOSUCHCODE", str(uuid.uuid4()), "X" * 40, "AB\x00CD", "  "):
        code, detail = await _refused(campaign.id, user, ref, now, NotFound)
        assert (code, detail) == ("team_not_found", "no such team")


async def test_closed_team_and_past_deadline() -> None:
    now = datetime.now(tz=UTC)
    campaign = await make_campaign(team_size=3, team_hours=1)
    started = await _started(campaign, now)
    user = await make_user()
    late = now + timedelta(hours=1)
    assert await _refused(campaign.id, user, started.team.code, late) == (
        "team_closed",
        "this team has closed (ended)",  # its deadline passed: the clock has yet to settle it
    )
    assert await groupbuy.close_team(started.team.id, now=late) is TeamStatus.FAILED  # the clock
    assert await _refused(campaign.id, user, started.team.code, now) == (
        "team_closed",
        "this team has closed (failed)",
    )


async def test_a_campaign_that_has_ended_takes_no_new_members() -> None:
    """A team opened an hour before its campaign ends is still open after the end (its own
    deadline is 24 hours on), but nobody joins it any more."""
    start = datetime.now(tz=UTC)
    campaign = await make_campaign(team_size=3, now=start)
    last_hour = campaign.ends_at - timedelta(hours=1)
    started = await _started(campaign, last_hour)
    after = campaign.ends_at + timedelta(minutes=1)
    assert started.team.deadline_at > after
    assert await _refused(campaign.id, await make_user(), started.team.code, after) == (
        "campaign_not_active",
        "the campaign is not running now",
    )
    # Up to the last moment the same join goes through.
    just_before = campaign.ends_at - timedelta(seconds=1)
    joined = await groupbuy.join_team(
        principal=who(await make_user()), team_ref=started.team.code, now=just_before
    )
    assert joined.team.seats_held == 2


async def test_a_campaign_not_yet_started_takes_no_members() -> None:
    start = datetime.now(tz=UTC)
    campaign = await make_campaign(team_size=3, now=start)
    started = await _started(campaign, start)
    before = campaign.starts_at - timedelta(minutes=1)
    code, _ = await _refused(campaign.id, await make_user(), started.team.code, before)
    assert code == "campaign_not_active"


async def test_full_team() -> None:
    now = datetime.now(tz=UTC)
    campaign = await make_campaign(team_size=2)
    started = await _started(campaign, now)
    await groupbuy.join_team(principal=who(await make_user()), team_ref=started.team.code, now=now)
    assert await _refused(campaign.id, await make_user(), started.team.code, now) == (
        "team_full",
        "this team is full",
    )


async def test_already_in_an_open_team_of_the_campaign() -> None:
    now = datetime.now(tz=UTC)
    campaign = await make_campaign(team_size=3, per_user_limit=3)
    first, second = await _started(campaign, now), await _started(campaign, now)
    user = await make_user()
    await groupbuy.join_team(principal=who(user), team_ref=first.team.code, now=now)
    # Under the limit, the unique index (one open-team seat per user) refuses.
    for ref in (first.team.code, second.team.code):
        assert await _refused(campaign.id, user, ref, now) == ("already_in_team", ALREADY)
    # At the limit with a seat in an open team: already_in_team is the more useful answer.
    await Campaign.filter(id=campaign.id).update(per_user_limit=1)
    assert (await _refused(campaign.id, user, second.team.code, now))[0] == "already_in_team"


_WAITING = (
    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE NOT l.granted AND a.datname = current_database()"
)


async def test_a_join_racing_the_same_users_join_elsewhere_is_already_in_team(
    database_url: str,
) -> None:
    """Two joins of one user into two teams of a campaign at once: both count no open seat,
    and the open-seat index refuses the second seat (its violation answered already_in_team,
    nothing of that join written)."""
    now = datetime.now(tz=UTC)
    campaign = await make_campaign(team_size=3, per_user_limit=3)
    first, second = await _started(campaign, now), await _started(campaign, now)
    user = await make_user()
    before, stock_before = (await _rows(campaign.id))[:3], await stock_left(campaign.id)
    conn = await connect(database_url)
    try:
        hold = conn.transaction()
        await hold.start()
        await conn.fetch(  # the first join, its seat not yet committed
            "SELECT seat FROM qunshop_join_team(NULL, $1, $2, $3, $3, $4, $5, $6, NULL, false)",
            first.team.code,
            user.id,
            now,
            uuid.uuid4(),
            uuid.uuid4(),
            "RACE0000000000000001",
        )
        racing = asyncio.ensure_future(
            groupbuy.join_team(principal=who(user), team_ref=second.team.code, now=now)
        )
        for _ in range(500):  # until the second join waits on the first one's seat
            if await conn.fetchval(_WAITING) >= 1:
                break
            await asyncio.sleep(0.01)
        await hold.commit()
        with pytest.raises(Conflict) as exc:
            await racing
    finally:
        await conn.close()
    assert (exc.value.code, exc.value.detail) == ("already_in_team", ALREADY)
    # The first join alone was written.
    assert (await _rows(campaign.id))[:3] == tuple(n + 1 for n in before)
    assert await stock_left(campaign.id) == stock_before - 1
    assert await Seat.filter(user_id=user.id).count() == 1
    assert (await Team.get(id=second.team.id)).seats_held == 1


async def _pay(settings: Settings, wechat: FakeWeChat, order: Order) -> None:
    """WeChat Pay's notify for ``order``, through the payment service."""
    user = await User.get(id=order.user_id)
    outcome = await payments.handle_notify(
        wechat.payment_notify(
            out_trade_no=order.out_trade_no, total_fee=order.amount, openid=user.openid
        ),
        api_key=settings.pay_api_key.get_secret_value(),
        appid=settings.wechat_appid,
        mch_id=settings.pay_mch_id,
        now=datetime.now(tz=UTC),
    )
    assert outcome.applied and outcome.honoured


async def test_user_limit_counts_seats_of_finished_teams(
    settings: Settings, wechat: FakeWeChat
) -> None:
    """Paid seats of teams that filled count against the limit; a lapsed, released seat
    does not."""
    now = datetime.now(tz=UTC)
    campaign = await make_campaign(team_size=2, per_user_limit=2)
    teams = [await _started(campaign, now) for _ in range(3)]
    user = await make_user()
    for started in teams[:2]:
        joined = await groupbuy.join_team(principal=who(user), team_ref=started.team.code, now=now)
        for order in (started.order, joined.order):
            await _pay(settings, wechat, order)
        seat = await Seat.get(id=joined.seat.id)
        assert (seat.status, seat.in_open_team) == (SeatStatus.PAID, False)
        assert (await Team.get(id=started.team.id)).status is TeamStatus.SUCCEEDED
    assert await _refused(campaign.id, user, teams[2].team.code, now) == (
        "user_limit_reached",
        "at most 2 per person in this campaign",
    )

    single = await make_campaign(team_size=3, per_user_limit=1)
    first, second = await _started(single, now), await _started(single, now)
    other = await make_user()
    lapsing = await groupbuy.join_team(principal=who(other), team_ref=first.team.code, now=now)
    later = now + timedelta(hours=1)  # past every reservation's payment window
    assert await groupbuy.release_expired(now=later) >= 1  # as the clock lapses them
    assert (await Seat.get(id=lapsing.seat.id)).status is SeatStatus.RELEASED
    joined = await groupbuy.join_team(principal=who(other), team_ref=second.team.code, now=now)
    assert joined.team.id == second.team.id


async def test_sold_out() -> None:
    now = datetime.now(tz=UTC)
    campaign = await make_campaign(team_size=3, stock_cap=2)
    started = await _started(campaign, now)
    await groupbuy.join_team(principal=who(await make_user()), team_ref=started.team.code, now=now)
    other = await make_campaign(team_size=3, stock_cap=2)
    await _started(other, now)
    assert await stock_left(campaign.id) == 0
    assert await _refused(campaign.id, await make_user(), started.team.code, now) == (
        "campaign_sold_out",
        "the campaign is sold out",
    )


async def test_a_refusal_inside_a_transaction_rolls_back_the_join_alone() -> None:
    now = datetime.now(tz=UTC)
    campaign = await make_campaign(team_size=2)
    started = await _started(campaign, now)
    head = Principal(user_id=started.team.head_id, role=Role.SHOPPER)
    async with in_transaction():
        with pytest.raises(Conflict):
            await groupbuy.join_team(principal=head, team_ref=started.team.code, now=now)
        joined = await groupbuy.join_team(
            principal=who(await make_user()), team_ref=started.team.code, now=now
        )
    assert (await Team.get(id=started.team.id)).seats_held == 2
    assert await Seat.filter(order_id=joined.order.id).exists()


async def test_joiners_across_teams_at_once_never_oversell() -> None:
    """Three teams of 4 (12 seats, 3 held by heads), stock 8: exactly 5 joiners get in."""
    now = datetime.now(tz=UTC)
    campaign = await make_campaign(team_size=4, stock_cap=8, per_user_limit=1)
    teams = [await _started(campaign, now) for _ in range(3)]
    users = [await make_user() for _ in range(60)]

    async def attempt(k: int, user: Any) -> str:
        try:
            await groupbuy.join_team(principal=who(user), team_ref=teams[k % 3].team.code, now=now)
        except Conflict as exc:
            return exc.code
        return "joined"

    # Every user twice, at once: the second try of a joined user must be refused.
    results = await asyncio.gather(*(attempt(k, u) for k, u in enumerate(users + users)))
    assert results.count("joined") == 5
    assert set(results) <= {"joined", "campaign_sold_out", "team_full", "already_in_team"}
    assert await stock_left(campaign.id) == 0
    assert await Order.filter(campaign_id=campaign.id).count() == 8
    assert await Seat.filter(campaign_id=campaign.id).count() == 8
    held = [t.seats_held for t in await Team.filter(campaign_id=campaign.id)]
    assert sum(held) == 8 and max(held) <= 4
    for team in await Team.filter(campaign_id=campaign.id):
        assert await Seat.filter(team_id=team.id).count() == team.seats_held
    per_user = [await Seat.filter(user_id=u.id).count() for u in users]
    assert max(per_user) == 1


async def test_postgres_joins_in_one_statement(caplog: pytest.LogCaptureFixture) -> None:
    now = datetime.now(tz=UTC)
    campaign = await make_campaign(team_size=3)
    started = await _started(campaign, now)
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        await groupbuy.join_team(
            principal=who(await make_user()), team_ref=started.team.code, now=now
        )
        with pytest.raises(Conflict):
            await groupbuy.join_team(
                principal=who(await make_user()),
                team_ref=started.team.code,
                now=now + timedelta(days=2),
            )
    sent = [r.getMessage() for r in caplog.records if r.name == "tortoise.db_client"]
    joins = [m for m in sent if "qunshop_join_team" in m]
    # The two users' inserts, then per join one statement: no tier gives a discount, so
    # nothing more (the statement itself asks, 0120). Refused team_closed, the team is read
    # once after it, for the refusal's state: on that path only.
    assert len(joins) == 2 and len(sent) == 5, sent
    assert sent[-1].startswith("SELECT ") and 'FROM "teams" WHERE "code"' in sent[-1], sent


async def test_where_a_tier_gives_a_discount_the_join_is_priced_and_refused_as_before(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """0120: the statement sends a join back unwritten when some tier gives a discount; the
    join then looks up the member's discount and prices the order with it."""
    now = datetime.now(tz=UTC)
    boss = Principal(user_id=uuid.UUID(int=0), role=Role.ADMIN)
    ladder = tiers.Ladder(
        levels=(
            tiers.LevelSpec("铜卡", 0, discount_bps=200),  # everyone: 2 % off
            tiers.LevelSpec("金卡", 10**8, discount_bps=1000),
        )
    )
    await tiers.set_ladder(ladder, actor=boss, now=now)
    campaign = await make_campaign(team_size=3, stock_cap=5, group_price=990)
    started = await _started(campaign, now)
    member = await make_user()
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        joined = await groupbuy.join_team(
            principal=who(member), team_ref=started.team.code, now=now
        )
    sent = [r.getMessage() for r in caplog.records if r.name == "tortoise.db_client"]
    assert len([m for m in sent if "qunshop_join_team" in m]) == 2, sent
    order = await Order.get(user_id=member.id)
    assert (order.unit_price, order.member_off, order.amount) == (990, 19, 971)
    assert (joined.order.member_off, joined.order.amount) == (19, 971)
    assert await Seat.filter(user_id=member.id).count() == 1
    assert joined.team.seats_held == 2 and await stock_left(campaign.id) == 3
    # A refusal reads as it does without discounts, and writes nothing.
    assert await _refused(campaign.id, member, started.team.code, now) == (
        "already_in_team",
        ALREADY,
    )
    await groupbuy.join_team(principal=who(await make_user()), team_ref=started.team.code, now=now)
    code, _ = await _refused(campaign.id, await make_user(), started.team.code, now)
    assert code == "team_full"


async def test_where_no_tier_discount_is_left_a_join_is_one_statement_again() -> None:
    now = datetime.now(tz=UTC)
    boss = Principal(user_id=uuid.UUID(int=0), role=Role.ADMIN)
    await tiers.set_ladder(
        tiers.Ladder(levels=(tiers.LevelSpec("铜卡", 0, discount_bps=200),)), actor=boss, now=now
    )
    await tiers.set_ladder(
        tiers.Ladder(levels=(tiers.LevelSpec("铜卡", 0, points_multiplier_pct=150),)),
        actor=boss,
        now=now,
    )
    campaign = await make_campaign(team_size=3, group_price=990)
    started = await _started(campaign, now)
    joined = await groupbuy.join_team(
        principal=who(await make_user()), team_ref=started.team.code, now=now
    )
    assert (joined.order.member_off, joined.order.amount) == (0, 990)
