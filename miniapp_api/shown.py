"""Rows rendered with what a mini-program page shows beside them, read in batches."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from miniapp_api.commerce_schemas import CampaignOut, OrderOut, TeamOut, order_fields, team_fields
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


def _timestamp(value: object) -> str:
    """A datetime as pydantic writes it in JSON: ISO 8601, ``Z`` for UTC."""
    if not isinstance(value, datetime):
        raise TypeError(f"{type(value).__name__} is not JSON")
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# As pydantic's model_dump_json writes: compact, UTF-8 as is.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_timestamp)


def reservation_json(held: Reservation) -> bytes:
    """A join's or a start's answer (the ``Reservation`` schema) from the rows the service read,
    straight to JSON: the team and the order share the campaign's SKU, and a new order has no
    refunds. No models on the way, ORM or pydantic: a join's answer is ~10 % of its server CPU
    that way (BENCHMARKS.md, round 7); the fields are TeamOut's and OrderOut's own."""
    team, order = held.team_row, held.order_row
    answer = {
        "team": team_fields(team.__getitem__, held.product, held.members),
        "order": order_fields(order.__getitem__, held.product, ()),
    }
    return _JSON.encode(answer).encode()
