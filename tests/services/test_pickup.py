"""Pickup codes, 到货 and 核销: goods arrive, who may verify, once only, every attempt logged."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient

from models.growth import EarningEntry, EarningEvent, PickupVerification
from models.order import Order, OrderStatus
from models.outbox import OutboxMessage
from models.pickup import Arrival
from models.user import Role, User
from qunshop.config import Settings
from qunshop.errors import Conflict, ErrorCode, Forbidden, NotFound
from services import lifecycle, news, pickup
from tests.support.factories import make_community, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.support.growth import direct_order, now, paid_order, principal_of


@pytest.fixture(autouse=True)
async def orm(client: TestClient) -> None:
    """The app's start-up opens the ORM these tests use."""


async def _outcomes() -> list[str]:
    return sorted(await PickupVerification.all().values_list("outcome", flat=True))


async def test_a_paid_order_has_one_pickup_code(settings: Settings, wechat: FakeWeChat) -> None:
    community = await make_community()
    buyer = await make_user()
    pending = await direct_order(buyer, community)
    with pytest.raises(Conflict) as exc:
        await pickup.ticket(principal=principal_of(buyer), order_id=str(pending.id))
    assert exc.value.code is ErrorCode.ORDER_NOT_READY_FOR_PICKUP
    order = await paid_order(settings, wechat, buyer, community)
    ticket = await pickup.ticket(principal=principal_of(buyer), order_id=str(order.id))
    assert len(ticket.code) == 8 and ticket.pickup_point is not None
    again = await pickup.ticket(principal=principal_of(buyer), order_id=str(order.id))
    assert again.code == ticket.code
    with pytest.raises(NotFound):
        await pickup.ticket(principal=principal_of(await make_user()), order_id=str(order.id))


async def _arrive(leader: User) -> pickup.Delivery:
    return await pickup.arrived(principal=principal_of(leader), community_id=None, now=now())


async def test_arrival_makes_confirmed_orders_ready_with_codes(
    settings: Settings, wechat: FakeWeChat
) -> None:
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    orders = [await paid_order(settings, wechat, await make_user(), community) for _ in range(2)]
    unpaid = await direct_order(await make_user(), community)
    delivery = await _arrive(leader)
    assert delivery.orders == 2 and delivery.arrival is not None
    for order in orders:
        ready = await Order.get(id=order.id)
        assert ready.status is OrderStatus.READY_FOR_PICKUP
        assert ready.arrived_at is not None and len(ready.pickup_code or "") == 8
    assert (await Order.get(id=unpaid.id)).status is OrderStatus.PENDING_PAYMENT
    published = await OutboxMessage.get(kind=news.KIND)
    assert published.payload["event"] == "arrived"
    assert sorted(published.payload["order_ids"]) == sorted(str(o.id) for o in orders)
    again = await _arrive(leader)  # nothing new arrived: no arrival, no news
    assert again.orders == 0 and again.arrival is None
    assert await OutboxMessage.filter(kind=news.KIND).count() == 1
    with pytest.raises(Forbidden):
        await pickup.arrived(
            principal=principal_of(await make_user(Role.LEADER)),
            community_id=str(community.id),
            now=now(),
        )


async def test_concurrent_arrivals_move_each_order_once(
    settings: Settings, wechat: FakeWeChat
) -> None:
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    for _ in range(5):
        await paid_order(settings, wechat, await make_user(), community)
    results = await asyncio.gather(*(_arrive(leader) for _ in range(8)))
    assert sorted(r.orders for r in results) == [0] * 7 + [5]
    assert await Arrival.all().count() == 1
    assert await OutboxMessage.filter(kind=news.KIND).count() == 1
    assert await Order.filter(status=OrderStatus.READY_FOR_PICKUP).count() == 5


async def test_the_leader_verifies_and_the_order_completes_days_later(
    settings: Settings, wechat: FakeWeChat
) -> None:
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    buyer = await make_user(nickname="小李")
    order = await paid_order(settings, wechat, buyer, community)
    await _arrive(leader)
    ticket = await pickup.ticket(principal=principal_of(buyer), order_id=str(order.id))
    line = await pickup.verify(principal=principal_of(leader), code=ticket.code.lower(), now=now())
    assert line.buyer == "小李" and "测试商品" in line.item
    picked = await Order.get(id=order.id)
    assert picked.status is OrderStatus.PICKED_UP and picked.picked_up_at is not None
    released = EarningEntry.filter(order_id=order.id, event=EarningEvent.RELEASE)
    assert await released.count() == 0  # the after-sale days first
    assert await _outcomes() == ["verified"]

    assert await lifecycle.auto_complete(now=now() + timedelta(days=6)) == 0
    assert await lifecycle.auto_complete(now=now() + timedelta(days=7, minutes=1)) == 1
    assert (await Order.get(id=order.id)).status is OrderStatus.COMPLETED
    assert await released.count() == 1
    assert await lifecycle.auto_complete(now=now() + timedelta(days=8)) == 0
    assert await released.count() == 1


async def test_buyers_without_a_nickname_are_told_apart_by_their_order_number(
    settings: Settings, wechat: FakeWeChat
) -> None:
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    nameless = [await User.create(openid=f"o-chat-{n}", nickname="") for n in range(2)]
    orders = [await paid_order(settings, wechat, buyer, community) for buyer in nameless]
    await _arrive(leader)
    listed = await pickup.day_list(principal=principal_of(leader), community_id=None, now=now())
    buyers = {line.order.id: line.buyer for line in listed.waiting}
    assert buyers == {o.id: f"顾客（单号尾号 {o.out_trade_no[-4:]}）" for o in orders}
    assert len(set(buyers.values())) == 2


async def test_someone_elses_used_or_unknown_codes_are_refused_and_logged(
    settings: Settings, wechat: FakeWeChat
) -> None:
    community, other = await make_community(), await make_community()
    leader = await User.get(id=community.leader_id)
    stranger = await User.get(id=other.leader_id)
    buyer = await make_user()
    order = await paid_order(settings, wechat, buyer, community)
    await _arrive(leader)
    code = (await pickup.ticket(principal=principal_of(buyer), order_id=str(order.id))).code

    # another community's code reads exactly as an unknown one; the log tells them apart
    with pytest.raises(NotFound) as exc:
        await pickup.verify(principal=principal_of(stranger), code=code, now=now())
    assert exc.value.code is ErrorCode.PICKUP_CODE_NOT_FOUND
    theirs = exc.value
    assert (await Order.get(id=order.id)).status is OrderStatus.READY_FOR_PICKUP
    with pytest.raises(NotFound) as exc:
        await pickup.verify(principal=principal_of(leader), code="ZZZZZZZZ", now=now())
    assert exc.value.code is ErrorCode.PICKUP_CODE_NOT_FOUND
    assert (exc.value.status, exc.value.detail, exc.value.extra) == (
        theirs.status,
        theirs.detail,
        theirs.extra,
    )

    admin = await make_user(Role.ADMIN)
    await pickup.verify(principal=principal_of(admin), code=code, now=now())
    with pytest.raises(Conflict) as exc:
        await pickup.verify(principal=principal_of(leader), code=code, now=now())
    assert exc.value.code is ErrorCode.PICKUP_CODE_USED
    assert await _outcomes() == [
        "pickup_code_not_found",
        "pickup_code_not_yours",
        "pickup_code_used",
        "verified",
    ]
    refused = await PickupVerification.get(outcome="pickup_code_not_yours")
    assert refused.verifier_id == stranger.id and refused.order_id == order.id


async def test_an_order_whose_goods_have_not_arrived_is_refused(
    settings: Settings, wechat: FakeWeChat
) -> None:
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    buyer = await make_user()
    order = await paid_order(settings, wechat, buyer, community)
    code = (await pickup.ticket(principal=principal_of(buyer), order_id=str(order.id))).code
    with pytest.raises(Conflict) as exc:
        await pickup.verify(principal=principal_of(leader), code=code, now=now())
    assert exc.value.code is ErrorCode.ORDER_NOT_READY_FOR_PICKUP
    assert (await Order.get(id=order.id)).status is OrderStatus.CONFIRMED
    assert await _outcomes() == ["order_not_ready_for_pickup"]


async def test_the_pickup_list_of_the_day(settings: Settings, wechat: FakeWeChat) -> None:
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    buyers = [await make_user(nickname=f"买家{i}") for i in range(3)]
    orders = [await paid_order(settings, wechat, b, community) for b in buyers]
    await direct_order(await make_user(), community)  # unpaid: not on the list
    await _arrive(leader)
    code = (await pickup.ticket(principal=principal_of(buyers[0]), order_id=str(orders[0].id))).code
    await pickup.verify(principal=principal_of(leader), code=code, now=now())

    day = await pickup.day_list(principal=principal_of(leader), community_id=None, now=now())
    assert day.community.id == community.id
    assert [line.buyer for line in day.waiting] == ["买家1", "买家2"]
    assert [line.buyer for line in day.picked_up] == ["买家0"]
    with pytest.raises(Forbidden):
        await pickup.day_list(
            principal=principal_of(await make_user(Role.LEADER)),
            community_id=str(community.id),
            now=now(),
        )


async def test_garbage_codes_are_not_found_without_asking(settings: Settings) -> None:
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    for junk in ("A\x00B", "X" * 40, "", "核销码"):
        with pytest.raises(NotFound):
            await pickup.verify(principal=principal_of(leader), code=junk, now=now())
    logged = await PickupVerification.all().values_list("code", flat=True)
    assert sorted(logged) == sorted(["AB", "X" * 32, "", "核销码"])


async def test_a_code_typed_in_two_halves_is_found(settings: Settings, wechat: FakeWeChat) -> None:
    """The leader types what the buyer reads out: lower case, a space (full-width from a
    Chinese input method too) between its halves."""
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    buyer = await make_user(nickname="小李")
    order = await paid_order(settings, wechat, buyer, community)
    await _arrive(leader)
    code = (await pickup.ticket(principal=principal_of(buyer), order_id=str(order.id))).code
    typed = f" {code[:4].lower()}\u3000{code[4:].lower()} "
    line = await pickup.verify(principal=principal_of(leader), code=typed, now=now())
    assert line.buyer == "小李"
    assert (await Order.get(id=order.id)).status is OrderStatus.PICKED_UP
