"""Every community's flash sales (秒杀) for the operators (/admin/flash-sales): upcoming,
running and ended, each with its product, price, stock left, units sold and per-person
limit; and stopping one, which is the leader's cancel (services/activities.cancel_activity:
the sale closes, its unsold units go back to the SKU, the gate shuts), audited.

Read in two queries whatever the number of rows: the sales with their goods and community,
and the units paid per sale (idx_orders_flash_sale).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from models.activity import FlashSale
from models.order import PAID_STATES, Order
from services import activities, audit, flashsale

if TYPE_CHECKING:
    from datetime import datetime

    from redis.asyncio import Redis

    from services.auth import Principal

SHOWN = 200  # the newest sales by start


class SaleState(StrEnum):
    UPCOMING = "upcoming"
    RUNNING = "running"
    ENDED = "ended"


@dataclass(frozen=True)
class Row:
    sale: FlashSale  # with activity__community and sku__product loaded
    state: SaleState
    sold: int  # units in paid orders
    stopped: bool  # an operator or the leader stopped it before its end

    @property
    def stoppable(self) -> bool:
        return self.state is not SaleState.ENDED


def state_of(sale: FlashSale, now: datetime) -> SaleState:
    # A sale closed before it started (its goods went off sale) ends where it would start.
    if not sale.activity.active or now >= sale.ends_at or sale.ends_at <= sale.starts_at:
        return SaleState.ENDED
    return SaleState.UPCOMING if now < sale.starts_at else SaleState.RUNNING


async def board(*, actor: Principal, now: datetime) -> dict[SaleState, list[Row]]:
    """The sales by state: running and upcoming soonest first, ended newest first."""
    audit.ensure_admin(actor)
    sales = (
        await FlashSale.all()
        .select_related("activity__community", "sku__product")
        .order_by("-starts_at")
        .limit(SHOWN)
    )
    sold = {
        row["flash_sale_id"]: row["units"] or 0
        for row in await Order.filter(
            flash_sale_id__in=[s.id for s in sales], status__in=list(PAID_STATES)
        )
        .group_by("flash_sale_id")
        .annotate(units=Sum("quantity"))
        .values("flash_sale_id", "units")
    }
    rows: dict[SaleState, list[Row]] = {state: [] for state in SaleState}
    for sale in sales:
        state = state_of(sale, now)
        rows[state].append(Row(sale, state, sold.get(sale.id, 0), not sale.activity.active))
    for state in (SaleState.UPCOMING, SaleState.RUNNING):
        rows[state].reverse()
    return rows


async def get(*, actor: Principal, sale_id: str, now: datetime) -> tuple[FlashSale, SaleState]:
    """One sale with its goods, and where it is (what the confirm page asks about)."""
    audit.ensure_admin(actor)
    sale = await flashsale.get_sale(sale_id)
    await sale.fetch_related("activity", "sku__product")
    return sale, state_of(sale, now)


async def stop(*, actor: Principal, sale_id: str, now: datetime, redis: Redis) -> FlashSale:
    """Stop selling now: the leader's cancel of the sale's activity, and the audit entry, in
    one transaction. Stopping a stopped or ended sale changes nothing and records nothing."""
    audit.ensure_admin(actor)
    sale = await flashsale.get_sale(sale_id)
    await sale.fetch_related("activity")
    if state_of(sale, now) is SaleState.ENDED:
        return sale
    async with in_transaction():
        await audit.record(
            actor=actor,
            action="flash_sale.stop",
            target=f"flash_sale:{sale.id}",
            before={"stock_left": sale.stock_left, "ends_at": sale.ends_at.isoformat()},
            after={"stock_left": 0, "ends_at": max(sale.starts_at, now).isoformat()},
            now=now,
        )
        view = await activities.cancel_activity(
            principal=actor,
            community_id=sale.activity.community_id,
            activity_id=sale.activity_id,
            now=now,
            redis=redis,
        )
    return view.flash_sale or sale
