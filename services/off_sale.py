"""Taking products off sale: nothing more of them is sold; what is already paid goes on.

The one rule for a product that may no longer be sold (its supplier's account was erased:
``services.privacy_roles``), kept inside the caller's transaction:

- the product is inactive: shoppers no longer see it, a direct purchase and a bargain's start
  are refused (``sku_not_found``), as for any product a leader took off sale;
- its campaigns that are not over end now (``campaigns.end``): a new team or a join is refused
  by the join function with ``campaign_not_active``. Teams already open close at their own
  deadlines, as when a campaign ends on time: a full team's paid orders go on to pickup, an
  unfilled team's seats are refunded (a guaranteed campaign's merchant completes them), and a
  seat reserved before still pays within its window;
- its flash sales close (``flashsale.close_sale``): no more are taken, unsold units go back.

Orders already paid are not touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from models.activity import FlashSale
from models.catalog import Product
from models.groupbuy import Campaign
from services import campaigns, flashsale

if TYPE_CHECKING:
    import uuid
    from collections.abc import Collection
    from datetime import datetime


@dataclass(frozen=True)
class OffSale:
    products: int  # taken off sale now (were on sale)
    campaigns: int  # ended now
    flash_sales: int  # closed now


async def take_off_sale(product_ids: Collection[uuid.UUID], *, now: datetime) -> OffSale:
    """Inside the caller's transaction. Idempotent: what is off sale already stays so."""
    ids = list(product_ids)
    products = await Product.filter(id__in=ids, active=True).update(active=False)
    running = await Campaign.filter(sku__product_id__in=ids, ends_at__gt=now).values_list(
        "id", flat=True
    )
    ended = await campaigns.end(running, now=now)
    selling = await FlashSale.filter(sku__product_id__in=ids, ends_at__gt=now).order_by("id")
    for sale in selling:
        await flashsale.close_sale(sale, now=now)
    return OffSale(products=products, campaigns=ended, flash_sales=len(selling))
