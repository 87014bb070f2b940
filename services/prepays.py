"""WeChat Pay's prepay: an order's payment asked of WeChat Pay, and wx.requestPayment's
parameters for it, for the prepay endpoint and for a join asked to pay (services/join_pay.py).
The notify that follows the payment is services/payments.py's."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tortoise import connections

from models.order import Order
from qunshop.errors import Conflict, ErrorCode, UpstreamError
from services import identity, orders, pricing
from services.ids import parse_uuid
from wechat.api import PayError
from wechat.pay import jsapi_params, nonce

if TYPE_CHECKING:
    from collections.abc import Mapping
    from uuid import UUID

    from services.auth import Principal
    from wechat.api import PayClient

logger = logging.getLogger(__name__)


# What prepay needs, in one round trip: the order, its payer's openid (WeChat Pay charges that
# account), whether its community's leader is verified (``qunshop_leader_verified``: no
# community, nothing to check), and the price fixed (``prepaid_at``, from the first prepay on:
# WeChat Pay keeps the amount it is told) when the order passes prepay's checks
# (``qunshop_may_prepay`` and the caller's own or an admin), the same ones Python then makes
# of the row read. A refusal is explained from that row, with nothing changed. A join asked to
# pay runs the same checks in its own statement (migration 0210) and no prepay statement.
_PREPAY_SQL = """
WITH o AS (
    SELECT o.*, u.openid AS payer_openid,
           qunshop_leader_verified(o.community_id) AS leader_verified
    FROM orders o
    JOIN users u ON u.id = o.user_id
    WHERE o.id = $1
), fixed AS (
    UPDATE orders SET prepaid_at = $2
    FROM o
    WHERE orders.id = $1 AND ($3 OR o.user_id = $4)
      AND qunshop_may_prepay(
          orders.status, orders.prepaid_at, o.reserved_until, $2, o.leader_verified, $5
      )
    RETURNING orders.prepaid_at
)
SELECT o.*, (SELECT prepaid_at FROM fixed) AS fixed_at FROM o
"""


@dataclass(frozen=True)
class Cashier:
    """How WeChat Pay is asked for a prepay, as the door that takes the payment sets it up: the
    app's pay client, where the notify goes, the payer's address, and whether a community's
    leader must be verified before it takes payments."""

    pay: PayClient
    notify_url: str
    client_ip: str
    leader_identity_required: bool = True


@dataclass(frozen=True)
class _Payable:
    """What WeChat Pay is told of an order that passed prepay's checks."""

    id: UUID
    out_trade_no: str
    amount: int
    reserved_until: datetime | None
    openid: str  # the payer's: WeChat Pay charges that account


def _ensure_payable(
    principal: Principal,
    row: Mapping[str, Any] | None,
    leader_verified: bool,
    *,
    now: datetime,
    leader_identity_required: bool,
) -> None:
    """Prepay's checks made of an order's row whose price the statement did not fix, to say
    why: order_not_found, order_not_payable, leader_not_verified (a prepay asked again passes)."""
    order = orders.visible_to(principal, Order._init_from_db(**dict(row.items())) if row else None)
    pricing.ensure_payable(order, now)
    if leader_identity_required:
        identity.ensure_may_take_payments(leader_verified)


def _payable_of(row: Mapping[str, Any], openid: str) -> _Payable:
    return _Payable(
        id=row["id"],
        out_trade_no=row["out_trade_no"],
        amount=row["amount"],
        reserved_until=row["reserved_until"],
        openid=openid,
    )


async def _payable(
    principal: Principal, order_id: str | UUID, *, now: datetime, leader_identity_required: bool
) -> _Payable:
    """The caller's order, payable, its price fixed (``_PREPAY_SQL``).

    When the statement fixed the price, its checks passed and no model is built. Otherwise
    (a refusal, or a prepay asked again) the row's ``Order`` is checked as before.
    """
    key = parse_uuid(order_id)
    args = [key, now, principal.is_admin, principal.user_id, leader_identity_required]
    _, rows = await connections.get("default").execute_query(_PREPAY_SQL, args) if key else (0, [])
    row = rows[0] if rows else None
    if row is None or row["fixed_at"] is None:
        _ensure_payable(
            principal,
            row,
            row is not None and row["leader_verified"],
            now=now,
            leader_identity_required=leader_identity_required,
        )
    return _payable_of(row, row["payer_openid"])  # type: ignore[index]


async def _request_payment(order: _Payable, cashier: Cashier, now: datetime) -> dict[str, str]:
    """A unified order for ``order``, and what wx.requestPayment takes for its prepay_id."""
    pay = cashier.pay
    try:
        answer = await pay.unified_order(
            out_trade_no=order.out_trade_no,
            body="Qunshop order",
            total_fee=order.amount,
            openid=order.openid,
            notify_url=cashier.notify_url,
            client_ip=cashier.client_ip,
            time_expire=order.reserved_until,
        )
    except PayError as exc:
        logger.warning("unified order for %s failed: %s %s", order.id, exc.code, exc.message)
        if exc.code == "ORDERPAID":
            raise Conflict(ErrorCode.ORDER_NOT_PAYABLE, "the order is already paid") from exc
        raise UpstreamError(
            ErrorCode.PAYMENT_PROVIDER_ERROR, "WeChat Pay refused: try again"
        ) from exc
    return jsapi_params(
        appid=pay.appid,
        prepay_id=answer["prepay_id"],
        api_key=pay.api_key,
        sign_type=pay.sign_type,
        nonce_str=nonce(),
        timestamp=int(now.timestamp()),
    )


async def prepay(
    *, principal: Principal, order_id: str | UUID, cashier: Cashier, now: datetime
) -> dict[str, str]:
    """Ask WeChat Pay for a prepay_id; returns what wx.requestPayment takes."""
    order = await _payable(
        principal, order_id, now=now, leader_identity_required=cashier.leader_identity_required
    )
    return await _request_payment(order, cashier, now)


async def prepay_joined(
    principal: Principal,
    order_row: Mapping[str, Any],
    *,
    payer_openid: str,
    leader_verified: bool,
    cashier: Cashier,
    now: datetime,
) -> dict[str, str]:
    """Prepay for the order a join's statement just made, asked to pay (migration 0210): that
    statement ran prepay's checks, fixed the price when they passed and read the payer's
    openid and the leader's verification, so no prepay statement runs. A price it did not fix
    is explained by the same checks as prepay's."""
    if order_row["prepaid_at"] is None:
        _ensure_payable(
            principal,
            order_row,
            leader_verified,
            now=now,
            leader_identity_required=cashier.leader_identity_required,
        )
    return await _request_payment(_payable_of(order_row, payer_openid), cashier, now)
