"""Delivery batches: the cut-off's time, one batch per cut-off however many clocks cut it,
shortages refunding the newest orders once, and who may see or close a batch."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient

from models.community import Community
from models.delivery import BatchOrder, BatchStatus, DeliveryBatch, DeliveryPlan
from models.order import Order, OrderStatus
from models.outbox import OutboxMessage
from models.payment import Refund
from models.user import Role, User
from qunshop.config import Settings
from qunshop.errors import Conflict, ErrorCode, Invalid, NotFound
from services import batch_sheets, batches, news, pickup
from tests.support.factories import make_community, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.support.growth import now, paid_order, principal_of


@pytest.fixture(autouse=True)
async def orm(client: TestClient) -> None:
    """The app's start-up opens the ORM these tests use."""


def test_the_cutoff_is_the_next_local_wall_time_strictly_after() -> None:
    at_noon = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
    assert batches.next_cutoff("20:00", "Asia/Shanghai", at_noon) == datetime(
        2026, 12, 7, 12, 0, tzinfo=UTC
    )
    at_cutoff = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert batches.next_cutoff("20:00", "Asia/Shanghai", at_cutoff) == datetime(
        2026, 12, 8, 12, 0, tzinfo=UTC
    )
    # Across a DST change the wall time holds: 20:00 in Berlin is 19:00 UTC in summer.
    assert batches.next_cutoff(
        "20:00", "Europe/Berlin", datetime(2026, 3, 28, 20, 0, tzinfo=UTC)
    ) == (datetime(2026, 3, 29, 18, 0, tzinfo=UTC))
    with pytest.raises(Invalid) as exc:
        batches.next_cutoff("24:00", "Asia/Shanghai", at_noon)
    assert exc.value.code is ErrorCode.DELIVERY_PLAN_INVALID


def test_shortages_take_the_newest_whole_orders_until_covered() -> None:
    a, b, c = Order(quantity=2), Order(quantity=1), Order(quantity=1)
    oldest_first = [(a, 2), (b, 1), (c, 1)]
    assert batches.short_orders(oldest_first, 1) == [c]
    assert batches.short_orders(oldest_first, 2) == [c, b]
    assert batches.short_orders(oldest_first, 3) == [c, b, a]
    assert batches.short_orders([(a, 3), (b, 1)], 2) == [b, a]  # b alone cannot cover 2


async def _planned(settings: Settings, wechat: FakeWeChat, orders: int) -> tuple[Community, User]:
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    for _ in range(orders):
        await paid_order(settings, wechat, await make_user(), community, price=1000)
    await batches.set_plan(
        principal=principal_of(leader),
        community_id=str(community.id),
        cutoff="20:00",
        home_delivery=False,
        delivery_fee=0,
        now=now(),
    )
    return community, leader


async def _cut(community: Community) -> DeliveryBatch:
    plan = await DeliveryPlan.get(community_id=community.id)
    assert plan.next_cutoff_at is not None
    await batches.cut_due(now=plan.next_cutoff_at)
    return await DeliveryBatch.get(community_id=community.id)


async def test_concurrent_clocks_cut_each_cutoff_once(
    settings: Settings, wechat: FakeWeChat
) -> None:
    community, _ = await _planned(settings, wechat, 4)
    plan = await DeliveryPlan.get(community_id=community.id)
    due = plan.next_cutoff_at
    assert due is not None
    made = await asyncio.gather(*(batches.cut_due(now=due) for _ in range(6)))
    assert sum(len(m) for m in made) == 1
    assert await DeliveryBatch.filter(community_id=community.id).count() == 1
    assert await BatchOrder.all().count() == 4
    plan = await DeliveryPlan.get(community_id=community.id)
    assert plan.next_cutoff_at is not None and (plan.next_cutoff_at - due).days == 1


async def test_concurrent_arrivals_refund_a_shortage_once(
    settings: Settings, wechat: FakeWeChat
) -> None:
    community, leader = await _planned(settings, wechat, 0)
    # Four orders of one SKU: the same SKU, so one pick line.
    first = await paid_order(settings, wechat, await make_user(), community, price=1000)
    for _ in range(3):
        order = await paid_order(settings, wechat, await make_user(), community, price=1000)
        await Order.filter(id=order.id).update(sku_id=first.sku_id)
    batch = await _cut(community)

    async def arrive() -> pickup.Delivery:
        return await pickup.arrived(
            principal=principal_of(leader),
            community_id=str(community.id),
            now=now(),
            shortages=[batches.Shortage(sku=str(first.sku_id), short=2)],
        )

    results = await asyncio.gather(*(arrive() for _ in range(6)), return_exceptions=True)
    done = [r for r in results if isinstance(r, pickup.Delivery)]
    refused = [r for r in results if isinstance(r, Invalid)]
    assert len(done) == 1 and len(refused) == 5, results
    assert all(r.code is ErrorCode.NO_BATCH_DISPATCHED for r in refused)
    assert done[0].orders == 2 and done[0].refunded == 2
    assert await Refund.filter(reason=batches.SHORTAGE_REASON).count() == 2
    assert await Order.filter(status=OrderStatus.REFUNDING).count() == 2
    assert await Order.filter(status=OrderStatus.READY_FOR_PICKUP).count() == 2
    assert await OutboxMessage.filter(dedupe_key=f"news:{news.SHORTAGE}:{batch.id}").count() == 1
    assert (await DeliveryBatch.get(id=batch.id)).status is BatchStatus.ARRIVED
    # The refunded ones are the newest.
    by_age = await Order.all().order_by("created_at")
    assert [o.status for o in by_age[-2:]] == [OrderStatus.REFUNDING] * 2


async def test_a_shortage_beyond_what_was_ordered_changes_nothing(
    settings: Settings, wechat: FakeWeChat
) -> None:
    community, leader = await _planned(settings, wechat, 2)
    batch = await _cut(community)
    with pytest.raises(Invalid) as exc:
        await pickup.arrived(
            principal=principal_of(leader),
            community_id=None,
            now=now(),
            shortages=[batches.Shortage(sku="1", short=1), batches.Shortage(sku="9", short=1)],
        )
    assert exc.value.code is ErrorCode.SHORTAGE_INVALID
    assert (await DeliveryBatch.get(id=batch.id)).status is BatchStatus.DISPATCHED
    assert await Refund.all().count() == 0
    assert await Order.filter(status=OrderStatus.CONFIRMED).count() == 2


async def test_without_a_cutoff_arrival_is_as_before_and_counts_are_refused(
    settings: Settings, wechat: FakeWeChat
) -> None:
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    await paid_order(settings, wechat, await make_user(), community)
    with pytest.raises(Invalid) as exc:
        await pickup.arrived(
            principal=principal_of(leader),
            community_id=None,
            now=now(),
            shortages=[batches.Shortage(sku="1", short=1)],
        )
    assert exc.value.code is ErrorCode.NO_BATCH_DISPATCHED
    delivery = await pickup.arrived(principal=principal_of(leader), community_id=None, now=now())
    assert delivery.orders == 1 and delivery.batch is None


async def test_only_its_leader_or_an_operator_sees_and_closes_a_batch(
    settings: Settings, wechat: FakeWeChat
) -> None:
    community, leader = await _planned(settings, wechat, 1)
    batch = await _cut(community)
    stranger = principal_of(await make_user(Role.LEADER))
    with pytest.raises(NotFound) as missing:
        await batch_sheets.batch_sheet(principal=stranger, batch_id=str(batch.id))
    assert missing.value.code is ErrorCode.BATCH_NOT_FOUND
    with pytest.raises(Conflict) as early:
        await batches.close(principal=principal_of(leader), batch_id=str(batch.id), now=now())
    assert early.value.code is ErrorCode.BATCH_NOT_ARRIVED
    await pickup.arrived(principal=principal_of(leader), community_id=None, now=now())
    operator = principal_of(await make_user(Role.ADMIN))
    closed = await batches.close(principal=operator, batch_id=str(batch.id), now=now())
    assert closed.status is BatchStatus.CLOSED
    sheet = await batch_sheets.batch_sheet(principal=operator, batch_id=str(batch.id))
    assert [p.quantity for p in sheet.picks] == [1] and sheet.stop.orders == 1
