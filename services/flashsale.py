"""秒杀: a flash sale's life — opened, moved, closed — and the refusals its buyers may hear.

A sale carves its stock out of its SKU's stock when it opens and gives back what is unsold when
it closes. Buying is ``services.flashbuy`` (the Redis gate, ``services.flashgate``, admits
buyers) and ``services.flashtake`` (the database decides and writes the orders).

A sale's stock only goes down. An unpaid order that lapses, or is cancelled, goes back to the
SKU's ordinary stock (services/checkout.py, which tells a lapse), not to the sale, and still
counts towards its buyer's limit; so the gate and the database agree by construction, and
rebuilding one from the other is exact.

Each flash order names its sale (``orders.flash_sale_id``, written with the order by
services/flashtake.py): a sale's orders are those (``orders_of``), never guessed from its SKU
and window. Two sales of one SKU may not overlap all the same (placing one is refused).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models.activity import Activity, FlashSale
from models.catalog import Sku
from models.limits import MAX_AMOUNT, MAX_PRICE
from models.order import Order
from qunshop.errors import Conflict, ErrorCode, Invalid, NotFound
from services import prices
from services.ids import parse_uuid

if TYPE_CHECKING:
    from tortoise.queryset import QuerySet

    from models.community import Community

logger = logging.getLogger(__name__)

RESERVATION = timedelta(minutes=10)  # the payment window of a flash order
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


def orders_of(sale: FlashSale) -> QuerySet[Order]:
    """The sale's orders, by the sale each names (idx_orders_flash_sale, with the buyer)."""
    return Order.filter(flash_sale_id=sale.id)


# What a buyer may hear, from the gate or from the database.
def not_running() -> Conflict:
    return Conflict(NOT_RUNNING, "the flash sale is not running now")


def sold_out() -> Conflict:
    return Conflict(ErrorCode.OUT_OF_STOCK, "the flash sale is sold out")


def over_limit(limit: int) -> Conflict:
    return Conflict(ErrorCode.USER_LIMIT_REACHED, f"at most {limit} per person in this sale")


def too_many(limit: int) -> Invalid:
    return Invalid(
        ErrorCode.VALIDATION_FAILED,
        f"quantity must be 1..{limit}",
        errors=[{"loc": ["quantity"], "msg": "over the limit", "type": "invalid_quantity"}],
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
    prices.ensure_not_above_list(sku, {"price": spec.price})
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


@dataclass(frozen=True)
class Card:
    """A flash sale as a shopper's card shows it: the sale, and what is on sale."""

    sale: FlashSale
    sku: Sku  # with its product loaded


async def card(sale_id: str | uuid.UUID) -> Card:
    sale = await get_sale(sale_id)
    return Card(sale=sale, sku=await Sku.get(id=sale.sku_id).select_related("product"))


def _offered(community_ids: list[uuid.UUID], now: datetime) -> QuerySet[FlashSale]:
    """The running and upcoming sales of these communities (a cancelled one's activity is
    inactive; a closed one has ended): what a shopper may still buy, or wait for."""
    return FlashSale.filter(
        activity__community_id__in=community_ids, activity__active=True, ends_at__gt=now
    )


async def on_offer(community_ids: list[uuid.UUID], *, now: datetime, limit: int = 10) -> list[Card]:
    """The running and upcoming sales of these communities, soonest first."""
    sales = (
        await _offered(community_ids, now)
        .select_related("sku__product")
        .order_by("starts_at", "id")
        .limit(limit)
    )
    return [Card(sale=sale, sku=sale.sku) for sale in sales]


async def any_on_offer(community_ids: list[uuid.UUID], *, now: datetime) -> bool:
    """Whether these communities have a sale running or to come: one EXISTS (团购 then points
    to 秒杀, which lists them)."""
    return bool(community_ids) and await _offered(community_ids, now).exists()


# Why a lapsed flash order's buyer may not buy in its sale again ("": they may).
ENDED, SOLD_OUT, LIMIT = "ended", "sold_out", "limit"


async def again(order: Order, *, now: datetime) -> str:
    """May the buyer of a lapsed flash order buy in its sale again now: "" if so, else why
    not (``ENDED``, ``SOLD_OUT``, or ``LIMIT``: the lapsed order still counts towards it).
    An order older than its link (0270) that no window named alone has no sale: ``ENDED``."""
    sale = await FlashSale.filter(id=order.flash_sale_id).select_related("activity").first()
    if sale is None or not sale.activity.active or not sale.starts_at <= now < sale.ends_at:
        return ENDED
    if sale.stock_left < 1:
        return SOLD_OUT
    held = await orders_of(sale).filter(user_id=order.user_id).values_list("quantity", flat=True)
    return LIMIT if sum(held) >= sale.per_user_limit else ""


async def close_ended(*, now: datetime, limit: int = 100) -> int:
    """Sales whose window has passed give their unsold units back to the SKU. Idempotent."""
    ended = await FlashSale.filter(ends_at__lte=now, stock_left__gt=0).limit(limit)
    for sale in ended:
        async with in_transaction():
            await close_sale(sale, now=now)
    return len(ended)
