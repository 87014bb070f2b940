"""Rows rendered with what a mini-program page shows beside them, read in batches."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic_core import to_json

from miniapp_api.commerce_schemas import CampaignOut, OrderOut, TeamOut, order_fields, team_fields
from services import campaigns, storefront

if TYPE_CHECKING:
    from models.groupbuy import Campaign, Team
    from models.order import Order
    from qunshop.errors import QunshopError
    from services.groupbuy import Reservation
    from services.join_pay import Paying


async def campaigns_out(items: Sequence[Campaign]) -> list[CampaignOut]:
    products = await storefront.briefs(c.sku_id for c in items)
    left = await campaigns.stock_left(c.id for c in items)
    return [CampaignOut.of(c, left[c.id], products.get(c.sku_id)) for c in items]


async def teams_out(items: Sequence[Team]) -> list[TeamOut]:
    shown = await storefront.team_campaigns(items)
    members = await storefront.members(t.id for t in items)
    return [TeamOut.of(t, shown[t.id], members.get(t.id, [])) for t in items]


async def orders_out(items: Sequence[Order]) -> list[OrderOut]:
    products = await storefront.briefs(o.sku_id for o in items)
    refunds = await storefront.refunds(items)
    return [OrderOut.of(o, products.get(o.sku_id), refunds.get(o.id, [])) for o in items]


def reservation_json(held: Reservation, paying: Paying | None = None) -> bytes:
    """A join's or a start's answer (the ``Reservation`` schema) from the rows the service read,
    straight to JSON: the team and the order share the campaign's SKU, and a new order has no
    refunds. No models on the way, ORM or pydantic: the fields are TeamOut's and OrderOut's own,
    written by pydantic's own JSON writer as a response model's are (BENCHMARKS.md, round 7).
    Asked to pay (``paying``): its ``payment`` (PayParams' own keys) and ``payment_error``."""
    team, order = held.team_row, held.order_row
    answer: dict[str, object] = {
        "team": team_fields(team.__getitem__, held.product, held.members, held.guaranteed),
        "order": order_fields(order.__getitem__, held.product, ()),
    }
    if paying is not None:
        answer.update(payment_fields(paying.payment, paying.refused))
    return to_json(answer)


def with_payment(
    reservation: str, payment: dict[str, str] | None, refused: QunshopError | None
) -> bytes:
    """A Reservation answer already written (a keyed join's record), with its payment."""
    return to_json({**json.loads(reservation), **payment_fields(payment, refused)})


def payment_fields(
    payment: dict[str, str] | None, refused: QunshopError | None
) -> dict[str, object]:
    """A Reservation's ``payment`` and ``payment_error`` (one of them is null)."""
    error = None if refused is None else {"code": refused.code.value, "detail": refused.detail}
    return {"payment": payment, "payment_error": error}
