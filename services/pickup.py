"""Pickup (自提) as it happens in a community:

- 到货 (``arrived``): the leader confirms the delivery reached the pickup point; every
  confirmed order of the community becomes ready for pickup, gets its pickup code, and the
  arrival news (with the code) goes to the group and to each buyer.
- 核销 (``verify``): the shopper shows the code; the leader verifies it, which moves a
  ready order to picked up. Completion (and the release of earnings) follows after the
  after-sale days (services/lifecycle.py).

Both lock the order rows and move them through the state machine in one transaction, so
the same code verified twice at once is picked up once; the other attempt is refused as
already used. Every 核销 attempt, accepted or refused, is logged in ``PickupVerification``.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.activity import SubscribeConsent
from models.community import Community, PickupPoint
from models.delivery import BatchShortage, DeliveryBatch
from models.growth import PickupVerification
from models.order import Order, OrderStatus
from models.pickup import Arrival
from models.user import Role
from qunshop.errors import (
    Conflict,
    ErrorCode,
    NotFound,
    QunshopError,
)
from qunshop.templates import goods_name, person_name
from services import batches, communities, news, notify, orders

if TYPE_CHECKING:
    from tortoise.queryset import QuerySet

    from services.auth import Principal

logger = logging.getLogger(__name__)

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # read aloud and typed in chat
CODE_LENGTH = 8
# Paid orders that have a pickup code: 待到货 (confirmed, the goods are on their way; the code
# is shown early, to be used once they arrive) and 待提货 (arrived, waiting to be picked up).
READY = (OrderStatus.CONFIRMED, OrderStatus.READY_FOR_PICKUP)
DONE = (OrderStatus.PICKED_UP, OrderStatus.COMPLETED)
VERIFIED = "verified"
USED = "this pickup code was already verified"
NO_SUCH_CODE = "no order has this pickup code"
SHOWN = 200  # lines of each section the console page and the API list (the counts are all)


@dataclass(frozen=True)
class Ticket:
    order: Order
    code: str
    pickup_point: PickupPoint | None


@dataclass(frozen=True)
class Delivery:
    community: Community
    pickup_point: PickupPoint | None
    arrival: Arrival | None  # None: no confirmed order was waiting for goods
    orders: int
    batch: DeliveryBatch | None = None  # the batch that arrived, if the community cuts them
    refunded: int = 0  # orders refunded for a shortage
    shortages: list[tuple[BatchShortage, str]] = field(default_factory=list)  # (count, title)
    group_told: bool = False  # the group has a robot: the arrival news is posted there
    buyers: int = 0  # people whose orders arrived
    buyers_told: int = 0  # of them, those a message alone reaches (chat, or a consent)


@dataclass(frozen=True)
class Line:
    order: Order
    buyer: str
    item: str


@dataclass(frozen=True)
class PickupDay:
    community: Community
    pickup_point: PickupPoint | None
    day: str
    waiting: list[Line]  # 待提货: arrived, waiting at the pickup point
    arriving: list[Line]  # 待到货: paid (and 成团), the goods not here yet
    picked_up: list[Line]
    # Each section's true count: its lines stop at ``day_list``'s ``shown``.
    waiting_count: int = 0
    arriving_count: int = 0
    picked_up_count: int = 0


def normalise(code: str) -> str:
    """As typed at the counter: any case, and spaces (a Chinese IME's full-width ones too)
    anywhere, as when a code is read out in two halves."""
    return "".join(code.split()).upper()


def _printable(text: str) -> str:
    """What may be logged of a typed code: printable characters, at most 32."""
    return "".join(c for c in text if c.isprintable())[:32]


def _well_formed(code: str) -> bool:
    return len(code) == CODE_LENGTH and all(c in ALPHABET for c in code)


async def ticket(*, principal: Principal, order_id: str) -> Ticket:
    """The shopper's pickup code for a confirmed order (made the first time it is asked)."""
    order = await orders.get_order_for(principal, order_id)
    if order.status not in (*READY, *DONE):
        raise nothing_to_pick_up(order)
    await _give_code(order)
    point = await PickupPoint.get_or_none(community_id=order.community_id)
    return Ticket(order=order, code=order.pickup_code or "", pickup_point=point)


def nothing_to_pick_up(order: Order) -> Conflict:
    """Why an order that is not ready has no pickup: refunded or cancelled (nothing will
    come), or not yet (confirmed orders wait for 到货, unpaid ones for their payment and team)."""
    if order.status in orders.REFUNDED_IN_FULL:
        return Conflict(
            ErrorCode.ORDER_REFUNDED_NO_PICKUP,
            "this order was refunded: there is nothing to pick up",
            status_now=order.status.value,
        )
    if order.status is OrderStatus.CANCELLED:
        return Conflict(
            ErrorCode.ORDER_CANCELLED,
            "this order was cancelled: there is nothing to pick up",
            asked="pickup",  # a second cancel has the same code, in other words
            status_now=order.status.value,
        )
    return Conflict(
        ErrorCode.ORDER_NOT_READY_FOR_PICKUP,
        f"the order is {order.status.value}: nothing to pick up yet",
        status_now=order.status.value,
        order_kind=order.kind.value,  # only a group order waits for its team (成团)
    )


async def _give_code(order: Order) -> None:
    """The order's pickup code, drawn once (uq_order_pickup_code: a clash draws again)."""
    for _ in range(5):
        if order.pickup_code:
            return
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        try:
            async with in_transaction():  # a savepoint: a clash must not poison the caller
                await Order.filter(id=order.id, pickup_code__isnull=True).update(pickup_code=code)
        except IntegrityError:  # the code is some other order's: draw again
            continue
        order.pickup_code = (await Order.get(id=order.id)).pickup_code


async def arrived(
    *,
    principal: Principal,
    community_id: str | None,
    now: datetime,
    shortages: list[batches.Shortage] | None = None,
    consent_template: str = "",
) -> Delivery:
    """到货: the community's confirmed orders become ready for pickup; the news goes out.

    A community with a cut-off (services/batches.py) receives its oldest dispatched batch:
    only that batch's orders arrive, and a SKU counted short refunds the orders it cannot
    fill, newest first. Without a cut-off every confirmed order arrives.

    Locks the confirmed orders, so two confirmations at once move each order once; the
    later one finds nothing waiting and records no arrival.

    The answer says who the news will reach: the group (if it has a robot) and each buyer a
    message alone reaches now (a chat channel, or a consent to ``consent_template``).
    """
    community = await _community_for(principal, community_id)
    point = await PickupPoint.get_or_none(community_id=community.id)
    async with in_transaction():
        batch = await batches.arriving(community=community, shortages=shortages or [], now=now)
        if batch is None:
            waiting = (
                await Order.filter(community_id=community.id, status=OrderStatus.CONFIRMED)
                .select_for_update()
                .order_by("created_at")
            )
        else:
            waiting = batch.waiting
        if not waiting and (batch is None or batch.batch is None):
            return Delivery(community=community, pickup_point=point, arrival=None, orders=0)
        for order in waiting:
            await _give_code(order)
            # The arrival news is today's reminder: the daily nudge starts tomorrow.
            await orders.transition(
                order, OrderStatus.READY_FOR_PICKUP, arrived_at=now, pickup_reminded_at=now
            )
        arrival = await Arrival.create(
            community_id=community.id,
            confirmed_by_id=principal.user_id,
            orders=len(waiting),
            created_at=now,
        )
        if batch is not None and batch.batch is not None:
            await batches.mark_arrived(batch.batch, arrival_id=arrival.id, now=now)
        await news.publish(
            news.ARRIVED,
            ref=str(arrival.id),
            now=now,
            order_ids=[str(o.id) for o in waiting],
        )
    logger.info("arrival at community %s: %s orders ready", community.id, len(waiting))
    buyers = {o.user_id for o in waiting}
    told = await notify.reachable(list(buyers), now)
    if consent_template:
        told |= set(
            await SubscribeConsent.filter(
                user_id__in=list(buyers - told), template_id=consent_template, remaining__gte=1
            ).values_list("user_id", flat=True)
        )
    return Delivery(
        group_told=bool(community.robot_key),
        buyers=len(buyers),
        buyers_told=len(told),
        community=community,
        pickup_point=point,
        arrival=arrival,
        orders=len(waiting),
        batch=batch.batch if batch else None,
        refunded=len(batch.refunded) if batch else 0,
        shortages=batch.shortages if batch else [],
    )


async def _may_verify(principal: Principal, order: Order) -> None:
    if principal.role is Role.ADMIN:
        return
    community = await Community.get_or_none(id=order.community_id) if order.community_id else None
    if community is None or community.leader_id != principal.user_id:
        raise _NotYours(ErrorCode.PICKUP_CODE_NOT_FOUND, NO_SUCH_CODE)


class _NotYours(NotFound):
    """Another community's code reads as an unknown one to the caller (codes are not to be
    probed); the audit log still says what it was."""


async def verify(*, principal: Principal, code: str, now: datetime) -> Line:
    """核销: the order's leader (or an admin) hands over a ready order: picked up."""
    text = normalise(code)
    order_id = None
    try:
        async with in_transaction():
            # Only a well-formed code can name an order: anything else (too long for the
            # column, a NUL byte PostgreSQL refuses) is not found without asking.
            order = (
                await Order.filter(pickup_code=text).select_for_update().first()
                if _well_formed(text)
                else None
            )
            if order is None:
                raise NotFound(ErrorCode.PICKUP_CODE_NOT_FOUND, NO_SUCH_CODE)
            order_id = order.id
            await _may_verify(principal, order)
            if order.picked_up_at is not None:  # handed over (and maybe refunded since)
                raise Conflict(ErrorCode.PICKUP_CODE_USED, USED)
            if order.status is not OrderStatus.READY_FOR_PICKUP:
                raise nothing_to_pick_up(order)
            await orders.transition(order, OrderStatus.PICKED_UP, picked_up_at=now)
            await PickupVerification.create(
                code=_printable(text),
                order_id=order.id,
                verifier_id=principal.user_id,
                outcome=VERIFIED,
                created_at=now,
            )
    except QunshopError as exc:
        refusal = exc
        if exc.code is ErrorCode.ILLEGAL_TRANSITION:  # it moved meanwhile: verified elsewhere
            refusal = Conflict(ErrorCode.PICKUP_CODE_USED, USED)
        logged = _printable(text)
        logger.warning("pickup code %r refused for %s: %s", logged, principal.user_id, refusal.code)
        await PickupVerification.create(
            code=logged,
            order_id=order_id,
            verifier_id=principal.user_id,
            outcome=(
                ErrorCode.PICKUP_CODE_NOT_YOURS if isinstance(exc, _NotYours) else refusal.code
            ).value,
            created_at=now,
        )
        if refusal is exc:
            raise
        raise refusal from exc
    logger.info("order %s picked up (verified by %s)", order.id, principal.user_id)
    return (await _lines(Order.filter(id=order.id)))[0]


async def _community_for(principal: Principal, community_id: str | None) -> Community:
    return await communities.managed_or_first(principal, community_id)


async def _lines(query: QuerySet[Order]) -> list[Line]:
    found = await query.prefetch_related("user", "sku__product")
    return [
        Line(
            order=o,
            buyer=person_name(o.user.nickname, o.out_trade_no),
            item=goods_name(o.sku.product.title, o.sku.name),
        )
        for o in found
    ]


async def day_list(
    *, principal: Principal, community_id: str | None, now: datetime, shown: int | None = SHOWN
) -> PickupDay:
    """提货单: the orders waiting at the pickup point (待提货), those whose goods have not
    arrived (待到货, told apart so a leader does not wait for buyers who cannot come yet),
    and those picked up today: each section's first ``shown`` lines (None: all, as the CSV
    lists them) and its true count."""
    community = await _community_for(principal, community_id)
    tz = ZoneInfo(community.timezone)
    local = now.astimezone(tz)
    start = datetime.combine(local.date(), time(0), tzinfo=tz).astimezone(UTC)
    end = start + timedelta(days=1)
    mine = Order.filter(community_id=community.id)
    waiting = mine.filter(status=OrderStatus.READY_FOR_PICKUP)
    arriving = mine.filter(status=OrderStatus.CONFIRMED)
    # Handed over today, whatever came of it since (an order refunded in full after pickup
    # reads refunded on the list).
    picked = mine.filter(picked_up_at__gte=start, picked_up_at__lt=end)

    async def first(query: QuerySet[Order], *order: str) -> list[Line]:
        query = query.order_by(*order, "id")
        return await _lines(query if shown is None else query.limit(shown))

    return PickupDay(
        community=community,
        pickup_point=await PickupPoint.get_or_none(community_id=community.id),
        day=local.date().isoformat(),
        waiting=await first(waiting, "created_at"),
        arriving=await first(arriving, "created_at"),
        picked_up=await first(picked, "picked_up_at"),
        waiting_count=await waiting.count(),
        arriving_count=await arriving.count(),
        picked_up_count=await picked.count(),
    )
