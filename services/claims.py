"""Group claims: one leader's claim for many orders of one delivery; an operator approves it
once and every affected buyer is refunded their share.

"The orders of a batch" are, until delivery batches exist, the orders of the community's
pickup point for the SKU whose goods arrived (到货) on the claim's delivery date, in the
community's time zone. The spoiled units go to the named orders, or else to the batch's
orders newest first (the rule of a shortage), each at its unit price and never beyond what
the order paid.

Each line goes through ``refunds.refund_part``: the order row locked, one refund per claim
and order, and an order's refunds together never more than it paid (in the database), so
a claim, a shortage and the buyer's own after-sales requests may each take their part of an
order, and one that finds too little left is recorded (the line skipped, or the request
closed), not refunded beyond what was paid.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from models.catalog import Sku
from models.claim import ClaimLine, ClaimLineStatus, ClaimStatus, GroupClaim
from models.community import Community
from models.order import Order, OrderStatus
from qunshop.errors import Conflict, ErrorCode, Forbidden, Invalid, NotFound
from services import aftersales, audit, refunds
from services.ids import parse_uuid

if TYPE_CHECKING:
    import uuid

    from services.auth import Principal

logger = logging.getLogger(__name__)

REASON = "group_claim"  # the refunds' reason
# Delivered: the goods reached the pickup point (picked up or not, completed or not).
DELIVERED = (OrderStatus.READY_FOR_PICKUP, OrderStatus.PICKED_UP, OrderStatus.COMPLETED)


@dataclass(frozen=True)
class Filing:
    sku_id: str
    delivery_date: date
    units: int
    reason: str
    photos: tuple[str, ...] = ()
    order_ids: tuple[str, ...] = ()  # the orders that got the spoiled units; () the batch's


async def _community_led_by(principal: Principal, community_id: str) -> Community:
    key = parse_uuid(community_id)
    community = await Community.get_or_none(id=key) if key else None
    if community is None:
        raise NotFound(ErrorCode.COMMUNITY_NOT_FOUND, "no such community")
    if not principal.is_admin and community.leader_id != principal.user_id:
        raise Forbidden(ErrorCode.NOT_COMMUNITY_LEADER, "only the community's leader")
    return community


async def batch_orders(community: Community, sku_id: uuid.UUID, day: date) -> list[Order]:
    """The community's delivered orders of the SKU that arrived on ``day``, newest first."""
    tz = ZoneInfo(community.timezone)
    start = datetime.combine(day, time(0), tzinfo=tz)
    return list(
        await Order.filter(
            community_id=community.id,
            sku_id=sku_id,
            status__in=DELIVERED,
            arrived_at__gte=start,
            arrived_at__lt=start + timedelta(days=1),
        ).order_by("-created_at", "-id")
    )


def _shares(orders: list[Order], units: int) -> list[tuple[Order, int, int]]:
    """(order, units, fen) for ``units`` spread over ``orders`` in their order."""
    shares = []
    left = units
    for order in orders:
        if left <= 0:
            break
        take = min(left, order.quantity)
        shares.append((order, take, min(take * order.unit_price, order.amount)))
        left -= take
    if left > 0:
        raise Invalid(
            ErrorCode.VALIDATION_FAILED,
            f"the orders hold {units - left} units of this SKU, not {units}",
        )
    return [s for s in shares if s[2] > 0]


async def file(
    *, principal: Principal, community_id: str, filing: Filing, now: datetime
) -> GroupClaim:
    """The leader's claim, waiting for an operator."""
    community = await _community_led_by(principal, community_id)
    key = parse_uuid(filing.sku_id)
    sku = await Sku.get_or_none(id=key) if key else None
    if sku is None:
        raise NotFound(ErrorCode.SKU_NOT_FOUND, "no such SKU")
    batch = await batch_orders(community, sku.id, filing.delivery_date)
    if filing.order_ids:
        named = {str(parse_uuid(i)) for i in filing.order_ids}
        batch = [o for o in batch if str(o.id) in named]
        if len(batch) != len(named):
            raise Invalid(
                ErrorCode.CLAIM_NO_ORDERS, "some orders are not of this SKU's delivery that day"
            )
    if not batch:
        raise Invalid(ErrorCode.CLAIM_NO_ORDERS, "no delivered orders of this SKU that day")
    shares = _shares(batch, filing.units)
    async with in_transaction():
        claim = await GroupClaim.create(
            community_id=community.id,
            filed_by_id=principal.user_id,
            sku_id=sku.id,
            delivery_date=filing.delivery_date,
            units=filing.units,
            reason=filing.reason,
            photos=list(filing.photos),
            amount=sum(fen for _, _, fen in shares),
            created_at=now,
        )
        for order, units, fen in shares:
            await ClaimLine.create(claim_id=claim.id, order_id=order.id, units=units, amount=fen)
    logger.info("claim %s filed: %s units over %s orders", claim.id, filing.units, len(shares))
    return claim


async def get_for(principal: Principal, claim_id: str) -> GroupClaim:
    key = parse_uuid(claim_id)
    claim = await GroupClaim.get_or_none(id=key) if key else None
    if claim is None or not (
        principal.is_admin
        or await Community.exists(id=claim.community_id, leader_id=principal.user_id)
    ):
        raise NotFound(ErrorCode.CLAIM_NOT_FOUND, "no such claim")
    return claim


async def of_community(principal: Principal, community_id: str) -> list[GroupClaim]:
    community = await _community_led_by(principal, community_id)
    return list(await GroupClaim.filter(community_id=community.id).order_by("-created_at"))


async def queue(*, status: ClaimStatus | None = None, limit: int = 100) -> list[GroupClaim]:
    query = GroupClaim.all() if status is None else GroupClaim.filter(status=status)
    return list(await query.order_by("created_at").limit(limit))


async def lines_of(claim: GroupClaim) -> list[ClaimLine]:
    return list(await ClaimLine.filter(claim_id=claim.id).order_by("order_id"))


async def decide(
    *, principal: Principal, claim_id: str, approve: bool, note: str, now: datetime
) -> GroupClaim:
    """An operator approves (each line refunded once) or rejects (with a reason), once."""
    if not principal.is_admin:
        raise Forbidden(ErrorCode.FORBIDDEN, "admins only")
    claim = await get_for(principal, claim_id)
    if not approve and not note.strip():
        raise Invalid(ErrorCode.VALIDATION_FAILED, "say why the claim is rejected")
    async with in_transaction():
        won = await GroupClaim.filter(id=claim.id, status=ClaimStatus.PENDING).update(
            status=ClaimStatus.APPROVED if approve else ClaimStatus.REJECTED,
            decided_by_id=principal.user_id,
            decided_at=now,
            note=note.strip()[:500],
        )
        if won != 1:
            raise Conflict(ErrorCode.CLAIM_DECIDED, "the claim was already decided")
        lines = await lines_of(claim)
        if approve:
            for line in lines:  # by order id: locks taken in one order
                await _refund_line(line, now)
        refunded = await ClaimLine.filter(
            claim_id=claim.id, status=ClaimLineStatus.REFUNDED
        ).values_list("amount", flat=True)
        await audit.record(
            actor=principal,
            action="claim.approve" if approve else "claim.reject",
            target=f"claim:{claim.id}",
            before={"status": ClaimStatus.PENDING.value, "lines": len(lines)},
            after={
                "status": (ClaimStatus.APPROVED if approve else ClaimStatus.REJECTED).value,
                "refunded": sum(refunded),
                "note": note.strip()[:200],
            },
            now=now,
        )
    return await GroupClaim.get(id=claim.id)


async def _refund_line(line: ClaimLine, now: datetime) -> None:
    try:
        refund = await refunds.refund_part(
            order_id=line.order_id,
            amount=line.amount,
            reason=REASON,
            cause=f"{REASON}:{line.claim_id}",
            now=now,
        )
    except (Conflict, Invalid) as exc:  # less is left of the order than the share
        await ClaimLine.filter(id=line.id).update(
            status=ClaimLineStatus.SKIPPED, note=f"{exc.code.value}"[:200]
        )
        logger.info("claim line %s skipped: %s", line.id, exc.code.value)
        return
    await ClaimLine.filter(id=line.id).update(status=ClaimLineStatus.REFUNDED, refund_id=refund.id)
    await aftersales.close_for_order(line.order_id, why="已由团长的集体理赔退款", now=now)
