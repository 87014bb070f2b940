"""Buying in a flash sale: a Redis gate admits buyers, the database's conditional update decides.

One Lua script (services/flashgate.py) checks the sale's window, the stock and the buyer's
count and reserves both at once, so a burst of buyers costs the database about as many
transactions as there are units, and a refused buyer costs one Redis round trip and no
database read. Whoever is admitted then reads the sale (one read shared by the buyers admitted
together) and takes units (services/flashtake.py): the database decides the window, the
stock and the per-person limit. A stale or rebuilt gate can only admit too many; the database
refuses them and their reservation is given back. A gate Redis has lost (a flush, a restart),
or has not seen yet, is rebuilt from the database before anyone is admitted.

The gate keeps a copy of the sale's window and limit. The limit never changes; the window may
(a reschedule, a cancellation), so the gate never refuses on its copy of the window alone: a
buyer it thinks early or late is answered from the database, which re-primes the copy.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient

from models.activity import FlashSale
from qunshop.errors import Conflict, NotFound, QunshopError
from services import flashgate, flashtake
from services.flashgate import MISSING, OUTSIDE, OVER_LIMIT, SOLD_OUT, TOO_MANY, FlashGate
from services.flashsale import NOT_FOUND, not_running, orders_of, over_limit, sold_out, too_many
from services.flashtake import Purchase, Take
from services.ids import parse_uuid

if TYPE_CHECKING:
    from services.auth import Principal

logger = logging.getLogger(__name__)

GATE_TTL = timedelta(days=1)  # the gate outlives the sale by this much


async def _sale_and_activity(key: uuid.UUID) -> FlashSale:
    """The sale with its activity, in one query."""
    sale = await FlashSale.filter(id=key).select_related("activity").first()
    if sale is None:
        raise NotFound(NOT_FOUND, "no such flash sale")
    return sale


async def _prime(gate: FlashGate, sale: FlashSale, now: datetime, *, counts: bool) -> None:
    """Give the gate the sale's window and limit; a lost gate (``counts``) its counts too.

    The counts are the stock left and what each buyer holds, read from the database now.
    """
    pairs: list[str | int] = []
    if counts:
        fresh = await FlashSale.get(id=sale.id)
        held: Counter[str] = Counter()
        for user_id, quantity in await orders_of(fresh).values_list("user_id", "quantity"):
            held[f"u:{user_id}"] += quantity
        pairs = ["stock", fresh.stock_left]
        for field, quantity in held.items():
            pairs += [field, quantity]
    built = await gate.prime(
        sale.id,
        ttl_seconds=max(int((sale.ends_at + GATE_TTL - now).total_seconds()), 60),
        window=(sale.starts_at, sale.ends_at),
        limit=sale.per_user_limit,
        counts=pairs,
    )
    if built:
        logger.info("flash sale %s: gate (re)built from the database", sale.id)


async def _read(
    gate: FlashGate, key: uuid.UUID, now: datetime, *, prime: bool = False, counts: bool = False
) -> FlashSale:
    """The sale and its activity as the database has them; ``prime``: the gate primed from
    them while the sale is open (``counts``: its counts rebuilt too, if it has none).

    Buyers who need this at the same moment share one read, so a burst that finds the gate
    cold, or that it admits, costs the database one read, not one per buyer.
    """

    async def read() -> FlashSale:
        sale = await _sale_and_activity(key)
        if prime and sale.activity.active and sale.starts_at <= now < sale.ends_at:
            await _prime(gate, sale, now, counts=counts)
        return sale

    return await gate.shared(("read", key, prime, counts), read)


def _check_open(sale: FlashSale, quantity: int, now: datetime) -> None:
    """The database's answer to a buyer, in the order a buyer should hear it."""
    if not sale.activity.active or not sale.starts_at <= now < sale.ends_at:
        raise not_running()
    if not 1 <= quantity <= sale.per_user_limit:
        raise too_many(sale.per_user_limit)


async def _take(
    sale: FlashSale,
    *,
    gate: FlashGate,
    user_id: uuid.UUID,
    quantity: int,
    now: datetime,
    chat_id: str | None,
) -> Purchase:
    """The buyer's order, with the others the gate admitted this turn; inside a caller's
    transaction (an Idempotency-Key's), alone and in it."""
    ask = Take(sale=sale, user_id=user_id, quantity=quantity, now=now, chat_id=chat_id)
    if isinstance(connections.get("default"), TransactionalDBClient):
        (answer,) = await flashtake.take_together([ask])
    else:
        answer = await gate.take(ask)
    if isinstance(answer, QunshopError):
        raise answer
    return answer


async def buy(
    *,
    principal: Principal,
    sale_id: str,
    gate: FlashGate,
    now: datetime,
    quantity: int = 1,
    chat_id: str | None = None,
) -> Purchase:
    """An order at the sale's price, pending payment for ``flashsale.RESERVATION``, and its
    product.

    The gate answers most buyers alone; whoever it admits, or cannot judge, is answered by
    the database.
    """
    key = parse_uuid(sale_id)
    if key is None:
        raise NotFound(NOT_FOUND, "no such flash sale")
    user_id = principal.user_id
    sale: FlashSale | None = None
    verdict, limit = await gate.ask(key, user_id, quantity, now)
    if verdict in (MISSING, OUTSIDE):  # not loaded, lost, or its window may be stale
        sale = await _read(gate, key, now, prime=True, counts=verdict == MISSING)
        _check_open(sale, quantity, now)
        if sale.stock_left < quantity:  # what we just read: no need to ask the gate
            raise sold_out()
        verdict, limit = await gate.ask(key, user_id, quantity, now)
        if verdict in (MISSING, OUTSIDE):  # flushed or changed again meanwhile
            raise flashgate.busy()
    if verdict == TOO_MANY:
        raise too_many(limit)
    if verdict == SOLD_OUT:
        raise sold_out()
    if verdict == OVER_LIMIT:
        raise over_limit(limit)
    try:
        if sale is None:
            sale = await _read(gate, key, now)
            try:
                _check_open(sale, quantity, now)
            except Conflict:  # the gate's window was stale: correct it for the next buyers
                await _prime(gate, sale, now, counts=False)
                raise
        return await _take(
            sale, gate=gate, user_id=user_id, quantity=quantity, now=now, chat_id=chat_id
        )
    except BaseException:
        await gate.give_back(key, user_id, quantity)
        raise
