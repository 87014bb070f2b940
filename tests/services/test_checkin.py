"""签到: one per local day, streaks across days, and a ledger that is only ever appended to."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from tortoise.exceptions import IntegrityError

from models.activity import CheckIn, PointsEntry
from models.community import Community
from models.user import User
from qunshop.errors import ErrorCode, Forbidden
from services import checkin, communities, points
from services.auth import Principal
from tests.support.factories import make_community, make_user

pytestmark = pytest.mark.usefixtures("client")

# 2026-03-02 12:00 in Shanghai; the community's local day decides.
NOON = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def who(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.role)


async def _member(*places: Community) -> User:
    """A shopper who joined each of ``places``, as the join door does."""
    user = await make_user()
    for place in places:
        await communities.join_community(actor=who(user), community_id=place.id)
    return user


async def _ledger() -> list[tuple[str, int, str]]:
    rows = await PointsEntry.all().order_by("ref")
    return [(str(r.id), r.delta, r.ref) for r in rows]


async def test_streaks_across_days_and_an_append_only_ledger() -> None:
    community = await make_community()
    user = await _member(community)

    async def on(day: datetime) -> checkin.Result:
        return await checkin.check_in(principal=who(user), community_id=community.id, now=day)

    first = await on(NOON)
    assert (first.created, first.checkin.streak, first.points, first.balance) == (True, 1, 1, 1)
    assert [e.created_at for e in await PointsEntry.all()] == [NOON]  # the clock's time
    before = await _ledger()
    again = await on(NOON + timedelta(hours=3))
    assert (again.created, again.points, again.balance) == (False, 0, 1)
    assert await _ledger() == before  # nothing written, nothing changed

    second = await on(NOON + DAY)
    assert (second.checkin.streak, second.points, second.balance) == (2, 2, 3)
    third = await on(NOON + 2 * DAY)
    assert (third.checkin.streak, third.points, third.balance) == (3, 3, 6)
    after_gap = await on(NOON + 4 * DAY)  # missed a day: the streak starts again
    assert (after_gap.checkin.streak, after_gap.points, after_gap.balance) == (1, 1, 7)

    ledger = await _ledger()
    assert set(before) <= set(ledger)  # the first row is still there, unchanged
    assert len(ledger) == 4 and all(delta > 0 for _, delta, _ in ledger)
    assert {ref for _, _, ref in ledger} == {f"checkin:{c.id}" for c in await CheckIn.all()}
    assert await points.balance(user.id) == 7
    with pytest.raises(IntegrityError):  # a ref is credited once
        await PointsEntry.create(
            user=user, community=community, delta=5, reason="checkin", ref=ledger[0][2]
        )


async def test_the_day_is_the_communitys_local_day() -> None:
    community = await make_community()
    user = await _member(community)
    late = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    first = await checkin.check_in(principal=who(user), community_id=community.id, now=late)
    # an hour later it is the next day in Shanghai, though still the same day in UTC
    next_day = await checkin.check_in(
        principal=who(user), community_id=community.id, now=late + timedelta(hours=1)
    )
    assert next_day.created and next_day.checkin.streak == 2
    assert (first.checkin.day.isoformat(), next_day.checkin.day.isoformat()) == (
        "2026-03-02",
        "2026-03-03",
    )


async def test_points_grow_with_the_streak_up_to_a_cap() -> None:
    community = await make_community()
    user = await _member(community)
    results = [
        await checkin.check_in(principal=who(user), community_id=community.id, now=NOON + n * DAY)
        for n in range(10)
    ]
    assert [r.points for r in results] == [1, 2, 3, 4, 5, 6, 7, 7, 7, 7]
    assert results[-1].balance == sum(r.points for r in results)


async def test_communities_are_counted_apart_and_concurrent_check_ins_count_once() -> None:
    here, there = await make_community(), await make_community()
    user = await _member(here, there)
    results = await asyncio.gather(
        *(checkin.check_in(principal=who(user), community_id=here.id, now=NOON) for _ in range(8))
    )
    assert sum(r.created for r in results) == 1
    assert await CheckIn.filter(community_id=here.id).count() == 1
    assert await PointsEntry.filter(community_id=here.id).count() == 1
    elsewhere = await checkin.check_in(principal=who(user), community_id=there.id, now=NOON)
    # Check-ins are counted per community; the points they earn are the person's, shop-wide.
    assert elsewhere.created and elsewhere.points == 1 and elsewhere.balance == 2


async def test_the_database_refuses_to_edit_points() -> None:
    community = await make_community()
    user = await _member(community)
    result = await checkin.check_in(
        principal=Principal(user_id=user.id, role=user.role),
        community_id=community.id,
        now=datetime.now(tz=UTC),
    )
    assert result.created
    # the trigger's RAISE (0009), whichever exception class Tortoise wraps it in
    with pytest.raises(Exception, match="append-only"):  # noqa: B017 - the message is the check
        await PointsEntry.filter(user_id=user.id).update(delta=1000)
    assert await points.balance(user.id) == result.points


async def test_only_members_check_in_except_from_the_group_chat() -> None:
    community, stranger = await make_community(), await make_user()
    with pytest.raises(Forbidden) as refused:
        await checkin.check_in(principal=who(stranger), community_id=community.id, now=NOON)
    assert refused.value.code is ErrorCode.NOT_COMMUNITY_MEMBER
    assert await CheckIn.all().count() == 0 and await PointsEntry.all().count() == 0
    # writing in the community's group chat is membership
    in_group = await checkin.check_in(
        principal=who(stranger), community_id=community.id, now=NOON, from_group_chat=True
    )
    assert in_group.created
    mine = await communities.my_communities(actor=who(stranger))
    assert [card.community.id for card in mine] == [community.id]
