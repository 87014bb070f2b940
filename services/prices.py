"""Truthful prices: the prices a SKU really had (``sku_prices``, written by the database on
every change, migration 0030) and the one original price (划线价) we may show beside a
deal: the lowest the SKU had over the last ``REFERENCE_DAYS`` days, so a price raised just
before a promotion never makes the promotion look bigger."""

from __future__ import annotations

from datetime import datetime, timedelta

from models.catalog import Sku
from models.pricing import SkuPrice
from qunshop.errors import ErrorCode, Invalid, NotFound
from services.ids import parse_uuid

REFERENCE_DAYS = 30


async def _sku(sku_id: str) -> Sku:
    key = parse_uuid(sku_id)
    sku = await Sku.get_or_none(id=key) if key else None
    if sku is None:
        raise NotFound(ErrorCode.SKU_NOT_FOUND, "no such SKU")
    return sku


def ensure_not_above_list(sku: Sku, prices: dict[str, int | None]) -> None:
    """A deal's prices (group, head, tier, flash, bargain floor) never ask more than the
    SKU's own price: a "deal" dearer than the shelf misleads the buyer. Every door that
    makes a deal reaches this through its one service."""
    for name, price in prices.items():
        if price is not None and price > sku.price:
            msg = f"must not be above the SKU's price ({sku.price} fen)"
            raise Invalid(
                ErrorCode.PRICE_ABOVE_LIST,
                f"{name} ({price} fen) {msg}",
                errors=[{"loc": [name], "msg": msg, "type": "price_above_list"}],
                list_price=sku.price,
            )


async def history(sku_id: str, *, limit: int = 100) -> list[SkuPrice]:
    sku = await _sku(sku_id)
    return await SkuPrice.filter(sku_id=sku.id).order_by("-since", "-id").limit(limit)


async def reference_price(sku_id: str, *, now: datetime) -> int:
    """The lowest price the SKU had at any moment of the last REFERENCE_DAYS days."""
    sku = await _sku(sku_id)
    since = now - timedelta(days=REFERENCE_DAYS)
    prices = (
        await SkuPrice.filter(sku_id=sku.id)
        .exclude(until__lte=since)
        .values_list("price", flat=True)
    )
    return min([*prices, sku.price])


def had(history_rows: list[SkuPrice], price: int) -> bool:
    """Whether ``price`` is one of the prices in the history."""
    return any(row.price == price for row in history_rows)
