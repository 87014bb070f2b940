"""Group claims on PostgreSQL: filed for a delivery's orders, approved once, each buyer
refunded their share once, and a claim racing a buyer's own request refunds the order once."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient

from models.aftersale import AfterSale, AfterSaleKind, AfterSaleReason, AfterSaleStatus
from models.claim import ClaimLine, ClaimLineStatus, ClaimStatus, GroupClaim
from models.community import Community
from models.order import Order
from models.outbox import OutboxMessage
from models.payment import Refund
from models.user import Role, User
from qunshop.assembly.background import outbox_handlers
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from qunshop.errors import Conflict, ErrorCode, Forbidden, Invalid
from services import aftersales, claims, news, outbox, pickup, refunds
from services.auth import Principal
from tests.support.aftersale_world import paid_order, principal_of
from tests.support.factories import make_community, make_sku, make_user
from tests.support.fake_wechat import FakeWeChat


def _day(community: Community, now: datetime) -> date:
    return now.astimezone(ZoneInfo(community.timezone)).date()


async def _delivery(
    settings: Settings, wechat: FakeWeChat, now: datetime, quantities: list[int]
) -> tuple[Community, Principal, str, list[Order]]:
    """Paid orders of one SKU (one a second apart), then 到货 at the pickup point."""
    community = await make_community()
    leader = principal_of(await User.get(id=community.leader_id))
    sku = await make_sku(community, price=1000)
    placed = []
    for i, quantity in enumerate(quantities):
        placed.append(
            await paid_order(
                settings,
                wechat,
                now=now + timedelta(seconds=i),
                community=community,
                sku_id=str(sku.id),
                quantity=quantity,
            )
        )
    await pickup.arrived(principal=leader, community_id=str(community.id), now=now)
    return community, leader, str(sku.id), [await Order.get(id=o.id) for o in placed]


def _filing(sku_id: str, day: date, units: int, *order_ids: str) -> claims.Filing:
    return claims.Filing(
        sku_id=sku_id,
        delivery_date=day,
        units=units,
        reason="一箱橙子压坏了",
        photos=("https://img.example.com/crate.jpg",),
        order_ids=order_ids,
    )


async def test_a_claim_spreads_units_newest_first_and_refunds_each_share_once(
    api: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    now = clock.now()
    community, leader, sku_id, (old, mid, new) = await _delivery(settings, wechat, now, [1, 2, 3])
    claim = await claims.file(
        principal=leader,
        community_id=str(community.id),
        filing=_filing(sku_id, _day(community, now), 4),
        now=now,
    )
    shares = {line.order_id: (line.units, line.amount) for line in await claims.lines_of(claim)}
    assert shares == {new.id: (3, 3000), mid.id: (1, 1000)}  # the oldest order keeps its unit
    assert (claim.amount, claim.status) == (4000, ClaimStatus.PENDING)

    with pytest.raises(Forbidden):  # a leader does not approve their own claim
        await claims.decide(
            principal=leader, claim_id=str(claim.id), approve=True, note="", now=now
        )
    operator = principal_of(await make_user(Role.ADMIN))
    done = await claims.decide(
        principal=operator, claim_id=str(claim.id), approve=True, note="照片清楚", now=now
    )
    assert done.status is ClaimStatus.APPROVED
    with pytest.raises(Conflict) as again:
        await claims.decide(
            principal=operator, claim_id=str(claim.id), approve=True, note="", now=now
        )
    assert again.value.code is ErrorCode.CLAIM_DECIDED

    owed = {r.order_id: (r.amount, r.total, r.reason) for r in await Refund.all()}
    assert owed == {new.id: (3000, 3000, "group_claim"), mid.id: (1000, 2000, "group_claim")}
    assert {line.status for line in await claims.lines_of(claim)} == {ClaimLineStatus.REFUNDED}

    # WeChat Pay is asked once per order; each refund notified settles it and tells its buyer.
    await outbox.run_once(outbox_handlers(api.server.app), now=now)
    assert sorted(int(r["refund_fee"]) for r in wechat.refunds.values()) == [1000, 3000]
    for refund in await Refund.all():
        order = await Order.get(id=refund.order_id)
        body = wechat.refund_notify(
            out_refund_no=refund.out_refund_no,
            out_trade_no=order.out_trade_no,
            refund_fee=refund.amount,
            total_fee=refund.total,
        )
        for _ in range(2):
            resp = await api.post("/pay/wechat/refund-notify", data=body)
            assert "SUCCESS" in await resp.text()
    told = await OutboxMessage.filter(kind=news.KIND, payload__contains={"event": "refunded"})
    assert len(told) == 2


async def test_a_claim_racing_a_buyers_own_request_refunds_the_order_once(
    api: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    now = clock.now()
    operator = principal_of(await make_user(Role.ADMIN))
    rounds = 6
    for round_ in range(rounds):
        community, leader, sku_id, (order,) = await _delivery(settings, wechat, now, [2])
        buyer = principal_of(await User.get(id=order.user_id))
        sale = await aftersales.request(
            principal=buyer,
            order_id=str(order.id),
            ask=aftersales.Ask(kind=AfterSaleKind.REFUND_ONLY, reason=AfterSaleReason.QUALITY),
            now=now,
            response_hours=48,
            after_sale_days=7,
        )
        claim = await claims.file(
            principal=leader,
            community_id=str(community.id),
            filing=_filing(sku_id, _day(community, now), 1),
            now=now,
        )
        # The leader approves the buyer's request as the operator approves the claim.
        first, second = (
            aftersales.decide(
                principal=leader, after_sale_id=str(sale.id), approve=True, note="", now=now
            ),
            claims.decide(
                principal=operator, claim_id=str(claim.id), approve=True, note="", now=now
            ),
        )
        pair = (first, second) if round_ % 2 else (second, first)
        results = await asyncio.gather(*pair, return_exceptions=True)

        refunds_of_order = await Refund.filter(order_id=order.id)
        assert len(refunds_of_order) == 1, results
        (line,) = await ClaimLine.filter(claim_id=claim.id)
        sale_now = await AfterSale.get(id=sale.id)
        if refunds_of_order[0].reason == "group_claim":
            assert line.status is ClaimLineStatus.REFUNDED
            assert sale_now.status is AfterSaleStatus.CLOSED and sale_now.refund_id is None
        else:
            assert refunds_of_order[0].amount == 2000 and sale_now.refund_id is not None
            assert line.status is ClaimLineStatus.SKIPPED and line.refund_id is None
    # Every order refunded once, and the outbox asks WeChat Pay once per order.
    assert await Refund.all().count() == rounds
    assert await OutboxMessage.filter(kind="refund.submit").count() == rounds


async def test_each_claim_refunds_its_share_once_never_beyond_what_was_paid(
    api: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    now = clock.now()
    community, leader, sku_id, (order,) = await _delivery(settings, wechat, now, [3])
    operator = principal_of(await make_user(Role.ADMIN))
    day = _day(community, now)

    async def claim(units: int) -> GroupClaim:
        filed = await claims.file(
            principal=leader,
            community_id=str(community.id),
            filing=_filing(sku_id, day, units),
            now=now,
        )
        return await claims.decide(
            principal=operator, claim_id=str(filed.id), approve=True, note="", now=now
        )

    first, second = await claim(1), await claim(1)
    assert sorted(r.amount for r in await Refund.filter(order_id=order.id)) == [1000, 1000]
    # The same claim's share is refunded once, whatever asks again.
    with pytest.raises(Conflict) as again:
        await refunds.refund_part(
            order_id=order.id,
            amount=1000,
            reason=claims.REASON,
            cause=f"{claims.REASON}:{first.id}",
            now=now,
        )
    assert again.value.code is ErrorCode.ORDER_ALREADY_REFUNDED
    # 10.00 is left of the 30.00 paid: a share of 20.00 is skipped, not refunded in part.
    third = await claim(2)
    (skipped,) = await ClaimLine.filter(claim_id=third.id)
    assert (skipped.status, skipped.note) == (ClaimLineStatus.SKIPPED, "refund_exceeds_paid")
    assert {line.status for line in await ClaimLine.filter(claim_id__in=[first.id, second.id])} == {
        ClaimLineStatus.REFUNDED
    }
    assert sum(r.amount for r in await Refund.filter(order_id=order.id)) == 2000


async def test_what_a_claim_refuses(
    api: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    now = clock.now()
    community, leader, sku_id, (order,) = await _delivery(settings, wechat, now, [2])
    day = _day(community, now)
    stranger = principal_of(await User.get(id=(await make_community()).leader_id))
    with pytest.raises(Forbidden):
        await claims.file(
            principal=stranger,
            community_id=str(community.id),
            filing=_filing(sku_id, day, 1),
            now=now,
        )
    with pytest.raises(Invalid) as yesterday:
        await claims.file(
            principal=leader,
            community_id=str(community.id),
            filing=_filing(sku_id, day - timedelta(days=1), 1),
            now=now,
        )
    assert yesterday.value.code is ErrorCode.CLAIM_NO_ORDERS
    with pytest.raises(Invalid) as too_many:
        await claims.file(
            principal=leader,
            community_id=str(community.id),
            filing=_filing(sku_id, day, 3),
            now=now,
        )
    assert too_many.value.code is ErrorCode.VALIDATION_FAILED
    claim = await claims.file(
        principal=leader,
        community_id=str(community.id),
        filing=_filing(sku_id, day, 1, str(order.id)),
        now=now,
    )
    operator = principal_of(await make_user(Role.ADMIN))
    with pytest.raises(Invalid):
        await claims.decide(
            principal=operator, claim_id=str(claim.id), approve=False, note="", now=now
        )
    rejected = await claims.decide(
        principal=operator, claim_id=str(claim.id), approve=False, note="照片看不清", now=now
    )
    assert (rejected.status, rejected.note) == (ClaimStatus.REJECTED, "照片看不清")
    assert await Refund.all().count() == 0
