"""Rows rendered with what a mini-program page shows beside them, read in batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from miniapp_api.commerce_schemas import CampaignOut, OrderOut, TeamOut
from services import campaigns, storefront

if TYPE_CHECKING:
    from models.groupbuy import Campaign, Team
    from models.order import Order
    from services.groupbuy import Reservation


async def campaigns_out(items: Sequence[Campaign]) -> list[CampaignOut]:
    products = await storefront.briefs(c.sku_id for c in items)
    left = await campaigns.stock_left(c.id for c in items)
    return [CampaignOut.of(c, left[c.id], products.get(c.sku_id)) for c in items]


async def teams_out(items: Sequence[Team]) -> list[TeamOut]:
    products = await storefront.team_briefs(items)
    members = await storefront.members(t.id for t in items)
    return [TeamOut.of(t, products.get(t.id), members.get(t.id, [])) for t in items]


async def orders_out(items: Sequence[Order]) -> list[OrderOut]:
    products = await storefront.briefs(o.sku_id for o in items)
    refunds = await storefront.refunds(items)
    return [OrderOut.of(o, products.get(o.sku_id), refunds.get(o.id, [])) for o in items]


def reservation_out(held: Reservation) -> tuple[TeamOut, OrderOut]:
    """A join's or a start's answer, from what the service read with it: the team and the order
    share the campaign's SKU, and a new order has no refunds."""
    return (
        TeamOut.of(held.team, held.product, held.members),
        OrderOut.of(held.order, held.product, []),
    )
