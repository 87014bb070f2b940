"""Order lifecycle timers: picked-up orders complete on their own after the after-sale days,
which releases what their leaders and inviters earned (services/earnings.py)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from models.order import Order, OrderStatus
from qunshop.errors import Conflict
from services import earnings, orders

logger = logging.getLogger(__name__)

AUTO_COMPLETE_AFTER = timedelta(days=7)


async def auto_complete(
    *, now: datetime, after: timedelta = AUTO_COMPLETE_AFTER, limit: int = 500
) -> int:
    """Complete every order picked up at least ``after`` ago; returns how many."""
    due = await Order.filter(status=OrderStatus.PICKED_UP, picked_up_at__lte=now - after).limit(
        limit
    )
    done = 0
    for order in due:
        try:
            async with in_transaction():  # completed and released together, or neither
                await orders.transition(order, OrderStatus.COMPLETED)
                await earnings.on_completed(order, now=now)
        except Conflict:  # moved meanwhile (another scheduler): nothing to do
            logger.info("order %s not auto-completed: it moved", order.id)
            continue
        done += 1
    if done:
        logger.info("%s picked-up orders completed", done)
    return done
