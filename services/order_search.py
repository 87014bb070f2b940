"""Orders as an operator finds them: by order number or its last characters (the consoles
name a buyer without a nickname 顾客（单号尾号 D400）), pickup code or the buyer's openid, with
their refunds (owed and done) and after-sale requests.

A tail is matched with ``LIKE '%D400'`` over the last ``TAIL_DAYS`` of orders, newest first,
at most ``SHOWN``: bounded by the ``created_at`` index, not served by an index of its own (a
suffix needs an expression index on ``reverse(out_trade_no)``, i.e. a migration)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tortoise.expressions import Q

from models.aftersale import AfterSale, AfterSaleStatus
from models.order import Order
from models.payment import Refund, RefundStatus
from services import audit
from services.auth import Principal

SHOWN = 50
PICKUP_CODE_MAX = 16  # Order.pickup_code's max_length
OUT_TRADE_NO_MAX = 32  # Order.out_trade_no's
DONE = (RefundStatus.SUCCEEDED,)
TAIL = re.compile(r"[0-9A-Za-z]{4,31}")  # services/orders.new_out_trade_no's characters
TAIL_DAYS = 180


@dataclass(frozen=True)
class Found:
    order: Order
    refunds_owed: int  # fen: pending, submitted or failed
    refunds_done: int  # fen: succeeded
    after_sales: list[AfterSale] = field(default_factory=list)  # newest first

    @property
    def pending_after_sale(self) -> AfterSale | None:
        return next((a for a in self.after_sales if a.status is AfterSaleStatus.PENDING), None)


async def search(*, actor: Principal, q: str, now: datetime) -> list[Found]:
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
    if TAIL.fullmatch(q):  # the order numbers' letters are upper case, as the consoles show
        recent = Q(created_at__gte=now - timedelta(days=TAIL_DAYS))
        wanted |= Q(Q(out_trade_no__endswith=q.upper()), recent)
    rows = (
        await Order.filter(wanted)
        .select_related("user", "sku__product")
        .order_by("-created_at")
        .limit(SHOWN)
    )
    refunds: dict[object, list[Refund]] = {o.id: [] for o in rows}
    for refund in await Refund.filter(order_id__in=list(refunds)):
        refunds[refund.order_id].append(refund)
    sales: dict[object, list[AfterSale]] = {o.id: [] for o in rows}
    for sale in await AfterSale.filter(order_id__in=list(sales)).order_by("-created_at"):
        sales[sale.order_id].append(sale)
    return [
        Found(
            order=o,
            refunds_owed=sum(r.amount for r in refunds[o.id] if r.status not in DONE),
            refunds_done=sum(r.amount for r in refunds[o.id] if r.status in DONE),
            after_sales=sales[o.id],
        )
        for o in rows
    ]
