"""秒杀: a Redis gate admits buyers, the database's conditional update decides.

One Lua script checks the sale's window, the stock and the buyer's count and reserves both at
once, so a burst of buyers costs the database about as many transactions as there are units,
and a refused buyer costs one Redis round trip and no database read. Whoever is admitted then
reads the sale (one read shared by the buyers admitted together), takes units with ``UPDATE
flash_sales SET stock_left = stock_left - n WHERE id = $1 AND stock_left >= n`` (and the
window holds) and, under that row's lock, counts their own orders: the database decides the
window, the stock and the per-person limit. A stale or rebuilt gate can
only admit too many; the database refuses them and their reservation is given back. A gate
Redis has lost (a flush, a restart), or has not seen yet, is rebuilt from the database before
anyone is admitted.

The gate keeps a copy of the sale's window and limit. The limit never changes; the window may
(a reschedule, a cancellation), so the gate never refuses on its copy of the window alone: a
buyer it thinks early or late is answered from the database, which re-primes the copy.

A sale's stock only goes down. An unpaid order that lapses, or is cancelled, goes back to the
SKU's ordinary stock, not to the sale, and still counts towards its buyer's limit; so the
gate and the database agree by construction, and rebuilding one from the other is exact.

Orders carry no link to their sale (models/order.py has none), so a sale's orders are the
FLASH orders of its SKU created inside its window, and two sales of one SKU may not overlap.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models.activity import Activity, FlashSale
from models.catalog import Sku
from models.limits import MAX_AMOUNT, MAX_PRICE
from models.order import Order, OrderKind, OrderStatus
from qunshop.errors import Conflict, ErrorCode, Invalid, NotFound, QunshopError
from services import due_rows, flashgate, orders, storefront
from services.flashgate import MISSING, OUTSIDE, OVER_LIMIT, SOLD_OUT, TOO_MANY, FlashGate
from services.ids import parse_uuid
from services.storefront import Brief

if TYPE_CHECKING:
    from tortoise.queryset import QuerySet

    from models.community import Community
    from services.auth import Principal

logger = logging.getLogger(__name__)

RESERVATION = timedelta(minutes=10)  # the payment window of a flash order
GATE_TTL = timedelta(days=1)  # the gate outlives the sale by this much
MAX_STOCK = 100_000
MAX_LIMIT = 100
MINUTES = (5, 24 * 60)
NOT_FOUND = ErrorCode.FLASH_SALE_NOT_FOUND
NOT_RUNNING = ErrorCode.FLASH_SALE_NOT_RUNNING


@dataclass(frozen=True)
class FlashSpec:
    sku_id: str
    price: int  # fen
    stock: int
    per_user_limit: int = 1
    minutes: int = 30  # how long it sells


def _invalid(field: str, kind: str, msg: str) -> Invalid:
    return Invalid(
        ErrorCode.VALIDATION_FAILED,
        f"{field}: {msg}",
        errors=[{"loc": ["flash_sale", field], "msg": msg, "type": kind}],
    )


def _check(spec: FlashSpec) -> None:
    if not 0 <= spec.price <= MAX_PRICE:
        raise _invalid("price", "invalid_flash_sale", f"the price in fen must be 0..{MAX_PRICE}")
    if not 1 <= spec.stock <= MAX_STOCK:
        raise _invalid("stock", "invalid_flash_sale", f"the stock must be 1..{MAX_STOCK}")
    if not 1 <= spec.per_user_limit <= min(MAX_LIMIT, spec.stock):
        raise _invalid(
            "per_user_limit", "invalid_flash_sale", "the limit must be 1..100 and at most the stock"
        )
    if not MINUTES[0] <= spec.minutes <= MINUTES[1]:
        raise _invalid("minutes", "invalid_flash_sale", "a flash sale lasts 5 to 1440 minutes")
    if spec.price * spec.per_user_limit > MAX_AMOUNT:  # what the largest order would charge
        raise Invalid(
            ErrorCode.AMOUNT_OUT_OF_RANGE,
            f"price x per_user_limit passes the most one order may charge ({MAX_AMOUNT} fen)",
        )


def _orders_of(sale: FlashSale) -> QuerySet[Order]:
    return Order.filter(
        kind=OrderKind.FLASH,
        sku_id=sale.sku_id,
        created_at__gte=sale.starts_at,
        created_at__lt=sale.ends_at,
    )


async def _lock_sku(sku_id: uuid.UUID) -> None:
    """Inside the caller's transaction: two sales of one SKU being placed at once queue here,
    so the second one's overlap check sees the first."""
    await Sku.filter(id=sku_id).select_for_update().first()


async def _refuse_overlap(
    sku_id: uuid.UUID, starts_at: datetime, ends_at: datetime, *, other_than: uuid.UUID | None
) -> None:
    near = FlashSale.filter(sku_id=sku_id, starts_at__lt=ends_at, ends_at__gt=starts_at)
    if other_than is not None:
        near = near.exclude(id=other_than)
    if await near.exists():
        raise _invalid(
            "sku_id", "flash_sale_overlap", "another flash sale of this SKU overlaps this time"
        )


async def open_sale(
    *, activity: Activity, community: Community, spec: FlashSpec, starts_at: datetime
) -> FlashSale:
    """Inside the caller's transaction: carve the sale's stock out of the SKU's stock."""
    _check(spec)
    key = parse_uuid(spec.sku_id)
    sku = await Sku.get_or_none(id=key).prefetch_related("product") if key else None
    if sku is None or not sku.product.active:
        raise NotFound(ErrorCode.SKU_NOT_FOUND, "no such SKU")
    if sku.product.community_id not in (None, community.id):
        raise _invalid("sku_id", "invalid_flash_sale", "the SKU belongs to another community")
    ends_at = starts_at + timedelta(minutes=spec.minutes)
    await _lock_sku(sku.id)
    await _refuse_overlap(sku.id, starts_at, ends_at, other_than=None)
    taken = await Sku.filter(id=sku.id, stock__gte=spec.stock).update(stock=F("stock") - spec.stock)
    if taken != 1:
        raise Conflict(ErrorCode.OUT_OF_STOCK, f"the SKU has fewer than {spec.stock} left")
    return await FlashSale.create(
        activity=activity,
        sku=sku,
        price=spec.price,
        stock=spec.stock,
        stock_left=spec.stock,
        per_user_limit=spec.per_user_limit,
        starts_at=starts_at,
        ends_at=ends_at,
    )


async def reschedule(sale: FlashSale, *, starts_at: datetime, now: datetime) -> FlashSale:
    """Move a sale that has not started, keeping its length."""
    if sale.starts_at <= now:
        raise Invalid(
            ErrorCode.VALIDATION_FAILED,
            "run_at: the flash sale has started and can no longer move",
            errors=[{"loc": ["run_at"], "msg": "already started", "type": "flash_sale_started"}],
        )
    ends_at = starts_at + (sale.ends_at - sale.starts_at)
    await _lock_sku(sale.sku_id)
    await _refuse_overlap(sale.sku_id, starts_at, ends_at, other_than=sale.id)
    await FlashSale.filter(id=sale.id).update(starts_at=starts_at, ends_at=ends_at)
    sale.starts_at, sale.ends_at = starts_at, ends_at
    return sale


async def close_sale(sale: FlashSale, *, now: datetime) -> FlashSale:
    """Inside the caller's transaction: stop selling, give the unsold units back to the SKU."""
    locked = await FlashSale.filter(id=sale.id).select_for_update().get()
    ends_at = min(locked.ends_at, max(locked.starts_at, now))
    await FlashSale.filter(id=locked.id).update(stock_left=0, ends_at=ends_at)
    if locked.stock_left:
        await Sku.filter(id=locked.sku_id).update(stock=F("stock") + locked.stock_left)
    logger.info("flash sale %s closed; %s unsold units back to the SKU", sale.id, locked.stock_left)
    locked.stock_left, locked.ends_at = 0, ends_at
    return locked


async def get_sale(sale_id: str | uuid.UUID) -> FlashSale:
    key = parse_uuid(sale_id)
    sale = await FlashSale.get_or_none(id=key) if key else None
    if sale is None:
        raise NotFound(NOT_FOUND, "no such flash sale")
    return sale


async def _sale_and_activity(key: uuid.UUID) -> FlashSale:
    """The sale with its activity, in one query."""
    sale = await FlashSale.filter(id=key).select_related("activity").first()
    if sale is None:
        raise NotFound(NOT_FOUND, "no such flash sale")
    return sale


async def _prime(gate: FlashGate, sale: FlashSale, now: datetime, *, counts: bool) -> None:
    """Give the gate the sale's window and limit; a lost gate (``counts``) its counts too.

    The counts are the stock left and what each buyer holds, read from the database now.
    """
    pairs: list[str | int] = []
    if counts:
        fresh = await FlashSale.get(id=sale.id)
        held: Counter[str] = Counter()
        for user_id, quantity in await _orders_of(fresh).values_list("user_id", "quantity"):
            held[f"u:{user_id}"] += quantity
        pairs = ["stock", fresh.stock_left]
        for field, quantity in held.items():
            pairs += [field, quantity]
    built = await gate.prime(
        sale.id,
        ttl_seconds=max(int((sale.ends_at + GATE_TTL - now).total_seconds()), 60),
        window=(sale.starts_at, sale.ends_at),
        limit=sale.per_user_limit,
        counts=pairs,
    )
    if built:
        logger.info("flash sale %s: gate (re)built from the database", sale.id)


async def _read(
    gate: FlashGate, key: uuid.UUID, now: datetime, *, prime: bool = False, counts: bool = False
) -> FlashSale:
    """The sale and its activity as the database has them; ``prime``: the gate primed from
    them while the sale is open (``counts``: its counts rebuilt too, if it has none).

    Buyers who need this at the same moment share one read, so a burst that finds the gate
    cold, or that it admits, costs the database one read, not one per buyer.
    """

    async def read() -> FlashSale:
        sale = await _sale_and_activity(key)
        if prime and sale.activity.active and sale.starts_at <= now < sale.ends_at:
            await _prime(gate, sale, now, counts=counts)
        return sale

    return await gate.shared(("read", key, prime, counts), read)


def _sold_out() -> Conflict:
    return Conflict(ErrorCode.OUT_OF_STOCK, "the flash sale is sold out")


def _over_limit(limit: int) -> Conflict:
    return Conflict(ErrorCode.USER_LIMIT_REACHED, f"at most {limit} per person in this sale")


def _too_many(limit: int) -> Invalid:
    return Invalid(
        ErrorCode.VALIDATION_FAILED,
        f"quantity must be 1..{limit}",
        errors=[{"loc": ["quantity"], "msg": "over the limit", "type": "invalid_quantity"}],
    )


def _check_open(sale: FlashSale, quantity: int, now: datetime) -> None:
    """The database's answer to a buyer, in the order a buyer should hear it."""
    if not sale.activity.active or not sale.starts_at <= now < sale.ends_at:
        raise Conflict(NOT_RUNNING, "the flash sale is not running now")
    if not 1 <= quantity <= sale.per_user_limit:
        raise _too_many(sale.per_user_limit)


@dataclass(frozen=True)
class Take:
    """One admitted buyer's request for units of a sale (as read, with its activity)."""

    sale: FlashSale
    user_id: uuid.UUID
    quantity: int
    now: datetime
    chat_id: str | None


@dataclass(frozen=True)
class Purchase:
    """A flash order as just made, with its product as the buyer's answer shows it."""

    order: Order
    product: Brief | None


# The orders of the buyers taken together, in one statement. The database fills in what it
# owns (the id, the list price by trigger, the columns' defaults), and the rows come back.
_INSERT_ORDERS = """
INSERT INTO orders (id, out_trade_no, kind, user_id, community_id, sku_id, quantity,
                    unit_price, amount, status, reserved_until, chat_id, created_at, updated_at)
SELECT gen_random_uuid(), t.out_trade_no, 'flash', t.user_id, $5, $6, t.quantity,
       $7, $7 * t.quantity, 'pending_payment', $8, t.chat_id, $9, $9
FROM unnest($1::text[], $2::uuid[], $3::int[], $4::text[])
     AS t(out_trade_no, user_id, quantity, chat_id)
RETURNING *
"""


async def take_together(asks: list[Take]) -> list[Purchase | QunshopError]:
    """Orders and units for buyers of one sale, in one transaction: each buyer's order, or
    their refusal, in order.

    Under the sale row's lock the window is checked, then each buyer in turn gets units while
    the stock lasts and their orders (counted under the lock, with this transaction's own)
    stay within the limit; the orders are written together and the units taken by one checked
    conditional update. So the buyers admitted together share one lock and one commit, and two
    requests of one buyer are counted one after the other, in one transaction or in two. The
    product their answers show is read once for them all.
    """
    sale, now = asks[0].sale, max(ask.now for ask in asks)
    answers: list[Purchase | QunshopError | None] = []  # None: to be taken
    takers: list[Take] = []
    async with in_transaction() as conn:
        locked = await FlashSale.filter(id=sale.id).select_for_update().first()
        if locked is None:
            return [NotFound(NOT_FOUND, "no such flash sale") for _ in asks]
        if not sale.activity.active or not locked.starts_at <= now < locked.ends_at:
            return [Conflict(NOT_RUNNING, "the flash sale is not running now") for _ in asks]
        held: Counter[uuid.UUID] = Counter()
        buyers = {ask.user_id for ask in asks}
        for user_id, quantity in (
            await _orders_of(locked).filter(user_id__in=buyers).values_list("user_id", "quantity")
        ):
            held[user_id] += quantity
        left = locked.stock_left
        for ask in asks:
            if not 1 <= ask.quantity <= locked.per_user_limit:
                answers.append(_too_many(locked.per_user_limit))
            elif ask.quantity > left:
                answers.append(_sold_out())
            elif held[ask.user_id] + ask.quantity > locked.per_user_limit:
                answers.append(_over_limit(locked.per_user_limit))
            else:
                held[ask.user_id] += ask.quantity
                left -= ask.quantity
                takers.append(ask)
                answers.append(None)
        if not takers:
            return answers  # type: ignore[return-value]  # refusals only
        numbers = [orders.new_out_trade_no(now) for _ in takers]
        rows = await conn.execute_query_dict(  # execute_query would drop what INSERT returns
            _INSERT_ORDERS,
            [
                numbers,
                [a.user_id for a in takers],
                [a.quantity for a in takers],
                [a.chat_id for a in takers],
                sale.activity.community_id,
                locked.sku_id,
                locked.price,
                now + RESERVATION,
                now,  # created_at: the sale's window is read on this clock
            ],
        )
        units = locked.stock_left - left
        taken = await FlashSale.filter(
            id=sale.id, stock_left__gte=units, starts_at__lte=now, ends_at__gt=now
        ).update(stock_left=F("stock_left") - units)
        if taken != 1:  # cannot happen under the row's lock; checked all the same
            raise RuntimeError(f"flash sale {sale.id}: the stock changed under its lock")
    made = {row["out_trade_no"]: Order._init_from_db(**row) for row in rows}
    product = (await storefront.briefs([locked.sku_id])).get(locked.sku_id)
    bought = (Purchase(made[number], product) for number in numbers)
    return [next(bought) if answer is None else answer for answer in answers]


async def _take(
    sale: FlashSale,
    *,
    gate: FlashGate,
    user_id: uuid.UUID,
    quantity: int,
    now: datetime,
    chat_id: str | None,
) -> Purchase:
    """The buyer's order, with the others the gate admitted this turn; inside a caller's
    transaction (an Idempotency-Key's), alone and in it."""
    ask = Take(sale=sale, user_id=user_id, quantity=quantity, now=now, chat_id=chat_id)
    if isinstance(connections.get("default"), TransactionalDBClient):
        (answer,) = await take_together([ask])
    else:
        answer = await gate.take(ask)
    if isinstance(answer, QunshopError):
        raise answer
    return answer


async def buy(
    *,
    principal: Principal,
    sale_id: str,
    gate: FlashGate,
    now: datetime,
    quantity: int = 1,
    chat_id: str | None = None,
) -> Purchase:
    """An order at the sale's price, pending payment for ``RESERVATION``, and its product.

    The gate answers most buyers alone; whoever it admits, or cannot judge, is answered by
    the database.
    """
    key = parse_uuid(sale_id)
    if key is None:
        raise NotFound(NOT_FOUND, "no such flash sale")
    user_id = principal.user_id
    sale: FlashSale | None = None
    verdict, limit = await gate.ask(key, user_id, quantity, now)
    if verdict in (MISSING, OUTSIDE):  # not loaded, lost, or its window may be stale
        sale = await _read(gate, key, now, prime=True, counts=verdict == MISSING)
        _check_open(sale, quantity, now)
        if sale.stock_left < quantity:  # what we just read: no need to ask the gate
            raise _sold_out()
        verdict, limit = await gate.ask(key, user_id, quantity, now)
        if verdict in (MISSING, OUTSIDE):  # flushed or changed again meanwhile
            raise flashgate.busy()
    if verdict == TOO_MANY:
        raise _too_many(limit)
    if verdict == SOLD_OUT:
        raise _sold_out()
    if verdict == OVER_LIMIT:
        raise _over_limit(limit)
    try:
        if sale is None:
            sale = await _read(gate, key, now)
            try:
                _check_open(sale, quantity, now)
            except Conflict:  # the gate's window was stale: correct it for the next buyers
                await _prime(gate, sale, now, counts=False)
                raise
        return await _take(
            sale, gate=gate, user_id=user_id, quantity=quantity, now=now, chat_id=chat_id
        )
    except BaseException:
        await gate.give_back(key, user_id, quantity)
        raise


async def release_expired(*, now: datetime, limit: int = 500) -> int:
    """Cancel flash orders whose payment window has passed; their units go back to the SKU."""
    released = 0
    for order_id in await due_rows.lapsed_orders(now=now, kinds=[OrderKind.FLASH], limit=limit):
        async with in_transaction():
            locked = await Order.filter(id=order_id).select_for_update().get()
            if locked.status is not OrderStatus.PENDING_PAYMENT:
                continue  # paid or cancelled meanwhile
            await orders.transition(locked, OrderStatus.CANCELLED)
            await Sku.filter(id=locked.sku_id).update(stock=F("stock") + locked.quantity)
        released += 1
    return released


async def close_ended(*, now: datetime, limit: int = 100) -> int:
    """Sales whose window has passed give their unsold units back to the SKU. Idempotent."""
    ended = await FlashSale.filter(ends_at__lte=now, stock_left__gt=0).limit(limit)
    for sale in ended:
        async with in_transaction():
            await close_sale(sale, now=now)
    return len(ended)
