"""Order lifecycle timers: picked-up orders complete on their own after N days."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from models.order import Order, OrderStatus
from services import earnings, orders

logger = logging.getLogger(__name__)

AUTO_COMPLETE_AFTER = timedelta(days=7)


async def auto_complete(
    *, now: datetime, after: timedelta = AUTO_COMPLETE_AFTER, limit: int = 500
) -> int:
    due = await Order.filter(status=OrderStatus.PICKED_UP, picked_up_at__lte=now - after).limit(
        limit
    )
    done = 0
    for order in due:
        try:
            await orders.transition(order, OrderStatus.COMPLETED)
        except Exception:  # moved meanwhile (refund, another scheduler): nothing to do
            logger.info("order %s not auto-completed: it moved", order.id)
            continue
        await earnings.on_completed(order, now=now)
        done += 1
    return done
