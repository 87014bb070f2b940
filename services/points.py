"""Points: earned (check-in, paid orders), spent at checkout or for coupons, and expiring.

The ledger (``points_ledger``) is append-only and the truth; ``points_balances`` is kept from
it by the database (migration 0032), whose CHECK refuses an entry that would take a balance
below zero. So a spend is one ledger insert: two concurrent spends queue on the person's
balance row and the second is refused if the first left too little.

Rules, stated once:

- 100 points are 1 yuan: one point takes one fen off (``FEN_PER_POINT``).
- A paid order earns a point per whole yuan paid, times the member tier's multiplier
  (``qunshop_earn_points``, migration 0160, called by the pay notify's statement). Every
  refund of the order takes back its share of them (refund / payment) once it succeeded,
  once per refund, as far as the balance still holds them (``take_back_for_refund``, called
  by services/refunds.py).
- At checkout at most ``MAX_SHARE_PERCENT`` % of the price after the coupon may be paid in
  points, and the order still charges at least one fen.
- Points expire ``EXPIRE_DAYS`` days after they were earned, oldest first: whatever a
  person earned before the cut-off and has not since spent (every debit counts against the
  oldest points) goes in one ``expired`` entry, written by the clock (``expire_due``).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tortoise import connections
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.transactions import in_transaction

from models.activity import PointsEntry
from models.points import PointsBalance
from qunshop.errors import Conflict, ErrorCode

if TYPE_CHECKING:
    from models.order import Order
    from models.payment import Refund

logger = logging.getLogger(__name__)

FEN_PER_POINT = 1
MAX_SHARE_PERCENT = 50
EXPIRE_DAYS = 365


@dataclass(frozen=True)
class Summary:
    balance: int
    entries: list[PointsEntry]
    expiring: int  # points that expire within 30 days unless spent
    expiring_by: datetime | None


async def balance(user_id: uuid.UUID) -> int:
    row = await PointsBalance.get_or_none(user_id=user_id)
    return row.balance if row is not None else 0


async def ledger_sum(user_id: uuid.UUID) -> int:
    """The balance as the ledger says it (tests compare the two)."""
    conn = connections.get("default")
    _, rows = await conn.execute_query(
        "SELECT coalesce(sum(delta), 0) AS total FROM points_ledger WHERE user_id = $1", [user_id]
    )
    return int(rows[0]["total"])


async def add(
    *,
    user_id: uuid.UUID,
    delta: int,
    reason: str,
    ref: str,
    now: datetime,
    community_id: uuid.UUID | None = None,
) -> PointsEntry:
    """One ledger entry. A debit past the balance is refused (points_insufficient); a ref
    already written is IntegrityError for the caller (each ref counts once)."""
    try:
        async with in_transaction():
            return await PointsEntry.create(
                user_id=user_id,
                community_id=community_id,
                delta=delta,
                reason=reason,
                ref=ref,
                created_at=now,
            )
    except (IntegrityError, OperationalError) as exc:
        if "ck_points_balance" in str(exc):
            raise Conflict(
                ErrorCode.POINTS_INSUFFICIENT,
                "not enough points",
                balance=await balance(user_id),
            ) from None
        raise


# The rule (a point a whole yuan, times the multiplier; once per order) is
# ``qunshop_earn_points`` (migration 0160): the pay notify's statement calls it too.
_EARN_SQL = "SELECT qunshop_earn_points($1, $2, $3, $4, $5, $6) AS earned"


async def earn_for_order(order: Order, *, multiplier_percent: int, now: datetime) -> int:
    """Inside the payment's transaction, where the member's tier has perks (a ladder): the
    paid order's points, times the tier's multiplier. Without a ladder the pay notify's
    statement earns them itself."""
    _, rows = await connections.get("default").execute_query(
        _EARN_SQL,
        [order.user_id, order.community_id, order.id, order.amount, multiplier_percent, now],
    )
    return rows[0]["earned"]


_SETTLED_BEFORE_SQL = """
SELECT coalesce(sum(amount), 0)::bigint AS settled FROM refunds
 WHERE payment_id = $1 AND status = 'succeeded' AND id <> $2
"""


async def take_back_for_refund(refund: Refund, *, now: datetime) -> int:
    """Inside the transaction where ``refund`` became succeeded, with its order locked (so two
    refunds of one order are taken back one after the other): the points the order earned go
    back in proportion to the refund, as far as the balance still holds them. Once per
    refund: the entry's ref names it. The shares of the payment's refunds add up to exactly
    what was earned once the whole payment has gone back."""
    earned = await PointsEntry.get_or_none(ref=f"order:{refund.order_id}:earn")
    if earned is None or refund.total <= 0:
        return 0
    if await PointsEntry.exists(ref=f"order:{refund.order_id}:unearn"):
        return 0  # taken back whole before refunds were counted one by one
    _, rows = await connections.get("default").execute_query(
        _SETTLED_BEFORE_SQL, [refund.payment_id, refund.id]
    )
    before = int(rows[0]["settled"])
    after = min(before + refund.amount, refund.total)
    share = earned.delta * after // refund.total - earned.delta * before // refund.total
    row = await PointsBalance.filter(user_id=earned.user_id).select_for_update().first()
    back = min(share, row.balance if row else 0)
    if back <= 0:
        return 0
    try:
        async with in_transaction():
            await PointsEntry.create(
                user_id=earned.user_id,
                delta=-back,
                reason="order_refunded",
                ref=f"refund:{refund.id}:unearn",
                created_at=now,
            )
    except IntegrityError:  # this refund's points were already taken back
        return 0
    return back


def cap_for(price_after_coupon: int) -> int:
    """The most points one order may use: a share of the price, leaving at least one fen."""
    return max(0, min(price_after_coupon * MAX_SHARE_PERCENT // 100, price_after_coupon - 1))


async def spend_for_order(order_id: uuid.UUID, user_id: uuid.UUID, points: int, *, now: datetime):
    """Inside the checkout's transaction: the points leave the balance now."""
    await add(
        user_id=user_id,
        delta=-points,
        reason="checkout",
        ref=f"order:{order_id}:spend:{uuid.uuid4().hex[:12]}",
        now=now,
    )


async def return_for_order(order_id: uuid.UUID, user_id: uuid.UUID, points: int, *, now: datetime):
    """Points an order held come back (the order lapsed, failed, or was re-priced)."""
    await PointsEntry.create(
        user_id=user_id,
        delta=points,
        reason="order_returned",
        ref=f"order:{order_id}:return:{uuid.uuid4().hex[:12]}",
        created_at=now,
    )


async def summary(user_id: uuid.UUID, *, now: datetime, limit: int = 5) -> Summary:
    entries = await PointsEntry.filter(user_id=user_id).order_by("-created_at").limit(limit)
    soon = now + timedelta(days=30)
    expiring = await _due(user_id, cutoff=soon - timedelta(days=EXPIRE_DAYS))
    return Summary(
        balance=await balance(user_id),
        entries=list(entries),
        expiring=expiring,
        expiring_by=soon if expiring else None,
    )


_DUE_SQL = """
SELECT greatest(0,
    coalesce(sum(delta) FILTER (WHERE delta > 0 AND created_at <= $2), 0)
    + coalesce(sum(delta) FILTER (WHERE delta < 0), 0)
)::int AS due
FROM points_ledger WHERE user_id = $1
"""


async def _due(user_id: uuid.UUID, *, cutoff: datetime) -> int:
    """Earned at or before ``cutoff`` and not consumed by any debit since (oldest first)."""
    conn = connections.get("default")
    _, rows = await conn.execute_query(_DUE_SQL, [user_id, cutoff])
    return int(rows[0]["due"])


async def expire_due(*, now: datetime, limit: int = 500) -> int:
    """The clock: write each person's expired points as one entry. Idempotent: once written,
    the debit consumes those points and nothing is due again."""
    cutoff = now - timedelta(days=EXPIRE_DAYS)
    conn = connections.get("default")
    _, rows = await conn.execute_query(
        "SELECT DISTINCT user_id FROM points_ledger WHERE delta > 0 AND created_at <= $1 "
        "AND user_id IN (SELECT user_id FROM points_balances WHERE balance > 0) LIMIT $2",
        [cutoff, limit],
    )
    expired = 0
    for row in rows:
        user_id = row["user_id"]
        async with in_transaction():
            await PointsBalance.filter(user_id=user_id).select_for_update().first()
            due = await _due(user_id, cutoff=cutoff)
            if due <= 0:
                continue
            await PointsEntry.create(
                user_id=user_id,
                delta=-due,
                reason="expired",
                ref=f"expire:{user_id.hex[:20]}:{now:%Y%m%d%H%M%S}",
                created_at=now,
            )
        expired += due
    if expired:
        logger.info("points: %s expired", expired)
    return expired
