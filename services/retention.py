"""The retention job: what has passed its period goes (the clock runs it once a day).

- Erased accounts whose legal retention has run out (``Erasure.keep_until``): the last
  traces on their orders (pickup codes, the group chat they came from) and their payments'
  payloads go; amounts, dates and statuses stay, so the books still add up.
- Outbox messages sent or given up on longer ago than ``message_retention_days``: their
  payloads address people and carry what was said to them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tortoise.transactions import in_transaction

from models.order import Order
from models.outbox import OutboxMessage, OutboxStatus
from models.payment import Payment
from models.privacy import Erasure

if TYPE_CHECKING:
    from qunshop.config import Settings

BATCH = 500


async def sweep(*, settings: Settings, now: datetime) -> dict[str, int]:
    done = {"erasures": 0, "orders": 0, "payments": 0, "outbox": 0}
    due = await Erasure.filter(keep_until__lte=now, swept_at=None).limit(BATCH)
    for erasure in due:
        async with in_transaction():
            claimed = await Erasure.filter(id=erasure.id, swept_at=None).update(swept_at=now)
            if claimed != 1:
                continue  # another scheduler got there first
            order_ids = list(
                await Order.filter(user_id=erasure.user_id).values_list("id", flat=True)
            )
            done["orders"] += await Order.filter(id__in=order_ids).update(
                pickup_code=None, chat_id=None
            )
            done["payments"] += await Payment.filter(order_id__in=order_ids).update(payload={})
            done["erasures"] += 1
    cutoff = now - timedelta(days=settings.message_retention_days)
    done["outbox"] = await OutboxMessage.filter(
        status__in=(OutboxStatus.DONE, OutboxStatus.DEAD), done_at__lt=cutoff
    ).delete()
    return done
