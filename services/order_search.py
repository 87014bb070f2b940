"""Orders as an operator finds them: by order number, pickup code or the buyer's openid,
with their refunds (owed and done)."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import Q

from models.order import Order
from models.payment import Refund, RefundStatus
from services import audit
from services.auth import Principal

SHOWN = 50
PICKUP_CODE_MAX = 16  # Order.pickup_code's max_length
OUT_TRADE_NO_MAX = 32  # Order.out_trade_no's
DONE = (RefundStatus.SUCCEEDED,)


@dataclass(frozen=True)
class Found:
    order: Order
    refunds_owed: int  # fen: pending, submitted or failed
    refunds_done: int  # fen: succeeded


async def search(*, actor: Principal, q: str) -> list[Found]:
    audit.ensure_admin(actor)
    q = q.strip()
    if not q or len(q) > 64:
        return []
    # Each column is asked only for a text that fits it: a longer one is not its value, and
    # Tortoise refuses (ValidationError) to compare a CharField with one over its max_length.
    wanted = Q(user__openid=q)
    if len(q) <= OUT_TRADE_NO_MAX:
        wanted |= Q(out_trade_no=q)
    if len(q) <= PICKUP_CODE_MAX:
        wanted |= Q(pickup_code=q.upper())
    rows = (
        await Order.filter(wanted)
        .select_related("user", "sku__product")
        .order_by("-created_at")
        .limit(SHOWN)
    )
    refunds: dict[object, list[Refund]] = {o.id: [] for o in rows}
    for refund in await Refund.filter(order_id__in=list(refunds)):
        refunds[refund.order_id].append(refund)
    return [
        Found(
            order=o,
            refunds_owed=sum(r.amount for r in refunds[o.id] if r.status not in DONE),
            refunds_done=sum(r.amount for r in refunds[o.id] if r.status in DONE),
        )
        for o in rows
    ]
