"""The database's part of a flash sale: the buyers the gate admitted get their orders, or a
refusal, in one transaction.

Under the sale row's lock the window is checked, then each buyer in turn gets units while the
stock lasts and their orders (counted under the lock, with this transaction's own) stay within
the limit; the orders are written by one statement and the units taken by one checked
conditional update (``UPDATE flash_sales SET stock_left = stock_left - n WHERE id = $1 AND
stock_left >= n``, the window holding). So the database decides the window, the stock and the
per-person limit, whatever the gate (services/flashgate.py) admitted.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models.activity import FlashSale
from models.order import Order
from qunshop.errors import NotFound, QunshopError
from services import orders, storefront
from services.flashsale import (
    NOT_FOUND,
    RESERVATION,
    not_running,
    orders_of,
    over_limit,
    sold_out,
    too_many,
)
from services.storefront import Brief


@dataclass(frozen=True)
class Take:
    """One admitted buyer's request for units of a sale (as read, with its activity)."""

    sale: FlashSale
    user_id: uuid.UUID
    quantity: int
    now: datetime
    chat_id: str | None


@dataclass(frozen=True)
class Purchase:
    """A flash order as just made, with its product as the buyer's answer shows it."""

    order: Order
    product: Brief | None


# The orders of the buyers taken together, in one statement. The database fills in what it
# owns (the id, the list price by trigger, the columns' defaults), and the rows come back.
_INSERT_ORDERS = """
INSERT INTO orders (id, out_trade_no, kind, user_id, community_id, sku_id, quantity,
                    unit_price, amount, status, reserved_until, chat_id, created_at, updated_at,
                    flash_sale_id)
SELECT gen_random_uuid(), t.out_trade_no, 'flash', t.user_id, $5, $6, t.quantity,
       $7, $7 * t.quantity, 'pending_payment', $8, t.chat_id, $9, $9, $10
FROM unnest($1::text[], $2::uuid[], $3::int[], $4::text[])
     AS t(out_trade_no, user_id, quantity, chat_id)
RETURNING *
"""


async def take_together(asks: list[Take]) -> list[Purchase | QunshopError]:
    """Orders and units for buyers of one sale, in one transaction: each buyer's order, or
    their refusal, in order.

    The buyers admitted together share one lock and one commit, and two requests of one buyer
    are counted one after the other, in one transaction or in two. The product their answers
    show is read once for them all.
    """
    sale, now = asks[0].sale, max(ask.now for ask in asks)
    answers: list[Purchase | QunshopError | None] = []  # None: to be taken
    takers: list[Take] = []
    async with in_transaction() as conn:
        locked = await FlashSale.filter(id=sale.id).select_for_update().first()
        if locked is None:
            return [NotFound(NOT_FOUND, "no such flash sale") for _ in asks]
        if not sale.activity.active or not locked.starts_at <= now < locked.ends_at:
            return [not_running() for _ in asks]
        held: Counter[uuid.UUID] = Counter()
        buyers = {ask.user_id for ask in asks}
        for user_id, quantity in (
            await orders_of(locked).filter(user_id__in=buyers).values_list("user_id", "quantity")
        ):
            held[user_id] += quantity
        left = locked.stock_left
        for ask in asks:
            if not 1 <= ask.quantity <= locked.per_user_limit:
                answers.append(too_many(locked.per_user_limit))
            elif ask.quantity > left:
                answers.append(sold_out())
            elif held[ask.user_id] + ask.quantity > locked.per_user_limit:
                answers.append(over_limit(locked.per_user_limit))
            else:
                held[ask.user_id] += ask.quantity
                left -= ask.quantity
                takers.append(ask)
                answers.append(None)
        if not takers:
            return answers  # type: ignore[return-value]  # refusals only
        numbers = [orders.new_out_trade_no(now) for _ in takers]
        rows = await conn.execute_query_dict(  # execute_query would drop what INSERT returns
            _INSERT_ORDERS,
            [
                numbers,
                [a.user_id for a in takers],
                [a.quantity for a in takers],
                [a.chat_id for a in takers],
                sale.activity.community_id,
                locked.sku_id,
                locked.price,
                now + RESERVATION,
                now,  # created_at: the sale's window is read on this clock
                locked.id,  # the order's sale (orders_of)
            ],
        )
        units = locked.stock_left - left
        taken = await FlashSale.filter(
            id=sale.id, stock_left__gte=units, starts_at__lte=now, ends_at__gt=now
        ).update(stock_left=F("stock_left") - units)
        if taken != 1:  # cannot happen under the row's lock; checked all the same
            raise RuntimeError(f"flash sale {sale.id}: the stock changed under its lock")
    made = {row["out_trade_no"]: Order._init_from_db(**row) for row in rows}
    product = (await storefront.briefs([locked.sku_id])).get(locked.sku_id)
    bought = (Purchase(made[number], product) for number in numbers)
    return [next(bought) if answer is None else answer for answer in answers]
