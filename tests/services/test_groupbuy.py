from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.groupbuy import Seat, SeatStatus, Team, TeamStatus
from models.order import Order, OrderStatus
from qunshop.errors import Conflict, NotFound
from services import groupbuy
from services.auth import Principal
from tests.support.factories import make_campaign, make_user, stock_left

# The app (through the real factory) opens the ORM these service calls use.
pytestmark = pytest.mark.usefixtures("client")


def who(user) -> Principal:
    return Principal(user_id=user.id, role=user.role)


async def test_start_and_join_hold_seats_and_stock() -> None:
    now = datetime.now(tz=UTC)
    campaign = await make_campaign(team_size=3, stock_cap=10, group_price=990, now=now)
    head, member = await make_user(), await make_user()
    started = await groupbuy.start_team(principal=who(head), campaign_id=str(campaign.id), now=now)
    assert started.order.status is OrderStatus.PENDING_PAYMENT
    assert started.order.reserved_until == now + timedelta(minutes=15)
    assert started.team.deadline_at == now + timedelta(hours=24)
    joined = await groupbuy.join_team(principal=who(member), team_ref=started.team.code, now=now)
    team = await Team.get(id=started.team.id)
    assert team.seats_held == 2 and joined.seat.is_head is False
    assert await stock_left(campaign.id) == 8


async def test_lapsed_reservation_releases_seat_and_stock() -> None:
    now = datetime.now(tz=UTC)
    campaign = await make_campaign(team_size=3, stock_cap=10, now=now)
    head, member = await make_user(), await make_user()
    started = await groupbuy.start_team(principal=who(head), campaign_id=str(campaign.id), now=now)
    joined = await groupbuy.join_team(principal=who(member), team_ref=started.team.code, now=now)

    assert await groupbuy.release_expired(now=now + timedelta(minutes=14)) == 0
    later = now + timedelta(minutes=16)
    assert await groupbuy.release_expired(now=later) == 2
    assert await groupbuy.release_expired(now=later) == 0  # idempotent
    team = await Team.get(id=started.team.id)
    assert team.seats_held == 0 and team.status is TeamStatus.OPEN
    assert await stock_left(campaign.id) == 10
    order = await Order.get(id=joined.order.id)
    assert order.status is OrderStatus.CANCELLED
    seat = await Seat.get(id=joined.seat.id)
    assert seat.status is SeatStatus.RELEASED and not seat.in_open_team
    # the released member may join again
    again = await groupbuy.join_team(principal=who(member), team_ref=started.team.code, now=later)
    assert again.seat.status is SeatStatus.RESERVED


async def test_refusals() -> None:
    now = datetime.now(tz=UTC)
    campaign = await make_campaign(team_size=2, stock_cap=10, now=now)
    head, member, third = await make_user(), await make_user(), await make_user()
    started = await groupbuy.start_team(principal=who(head), campaign_id=str(campaign.id), now=now)

    with pytest.raises(Conflict) as exc:
        await groupbuy.join_team(principal=who(head), team_ref=started.team.code, now=now)
    assert exc.value.code == "already_in_team"
    with pytest.raises(Conflict) as exc:
        await groupbuy.start_team(principal=who(head), campaign_id=str(campaign.id), now=now)
    assert exc.value.code == "already_in_team"

    await groupbuy.join_team(principal=who(member), team_ref=started.team.code, now=now)
    with pytest.raises(Conflict) as exc:
        await groupbuy.join_team(principal=who(third), team_ref=started.team.code, now=now)
    assert exc.value.code == "team_full"

    with pytest.raises(NotFound) as missing:
        await groupbuy.join_team(principal=who(third), team_ref="NOSUCHCODE", now=now)
    assert missing.value.code == "team_not_found"

    with pytest.raises(Conflict) as exc:
        await groupbuy.start_team(
            principal=who(third), campaign_id=str(campaign.id), now=now + timedelta(days=4)
        )
    assert exc.value.code == "campaign_not_active"


async def test_team_past_deadline_is_closed() -> None:
    now = datetime.now(tz=UTC)
    campaign = await make_campaign(team_size=3, now=now, team_hours=1)
    head, member = await make_user(), await make_user()
    started = await groupbuy.start_team(principal=who(head), campaign_id=str(campaign.id), now=now)
    with pytest.raises(Conflict) as exc:
        await groupbuy.join_team(
            principal=who(member), team_ref=started.team.code, now=now + timedelta(hours=2)
        )
    assert exc.value.code == "team_closed"


async def test_per_user_limit_counts_earlier_teams() -> None:
    now = datetime.now(tz=UTC)
    campaign = await make_campaign(team_size=2, per_user_limit=1, now=now)
    user = await make_user()
    started = await groupbuy.start_team(principal=who(user), campaign_id=str(campaign.id), now=now)
    # the team closes (fails), freeing the open-team slot but the seat stays counted as
    # reserved until released; once released the limit frees again
    await groupbuy.close_team(started.team.id, now=now + timedelta(hours=25))
    again = await groupbuy.start_team(
        principal=who(user), campaign_id=str(campaign.id), now=now + timedelta(hours=25)
    )
    assert again.team.id != started.team.id


async def test_failed_team_without_payers_returns_stock() -> None:
    now = datetime.now(tz=UTC)
    campaign = await make_campaign(team_size=3, stock_cap=5, now=now)
    head = await make_user()
    started = await groupbuy.start_team(principal=who(head), campaign_id=str(campaign.id), now=now)
    assert await groupbuy.settle_due_teams(now=now + timedelta(hours=23)) == 0
    assert await groupbuy.settle_due_teams(now=now + timedelta(hours=25)) == 1
    team = await Team.get(id=started.team.id)
    assert team.status is TeamStatus.FAILED and team.closed_at is not None
    assert await stock_left(campaign.id) == 5
    assert (await Order.get(id=started.order.id)).status is OrderStatus.CANCELLED
    assert await groupbuy.settle_due_teams(now=now + timedelta(hours=26)) == 0
