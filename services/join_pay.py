"""Joining (or starting) a team and paying at once: the seat, and what wx.requestPayment takes.

A shopper who joins in the mini-program pays straight away. Asked to pay, the join answers
with the payment's parameters as well, so the phone makes one request, not a join and then a
prepay. The seat and the payment are two things: the seat is held first, and stays held
whatever the payment part meets (WeChat Pay refusing or unreachable, a leader not yet
verified); then the answer says why (``Paying.refused``) and the shopper prepays later as
before (``prepays.prepay``). Nothing of prepay's is written twice: its checks, the unified
order and the parameters' signature are services/prepays.py's.

A join that is one statement (no member price to apply) fixes the price and reads the payer
in that statement (migration 0210): no prepay statement runs. A start, or a join priced for a
member in a transaction, prepays as the prepay endpoint does, after its transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qunshop.errors import ErrorCode, QunshopError
from services import groupbuy, prepays

if TYPE_CHECKING:
    from datetime import datetime

    from services.auth import Principal
    from services.groupbuy import Reservation
    from services.prepays import Cashier

logger = logging.getLogger(__name__)

# Every refusal of the payment part (``payment_of``, as prepay's): the seat stays held.
PAY_REFUSALS = (
    ErrorCode.ORDER_NOT_FOUND,
    ErrorCode.ORDER_NOT_PAYABLE,
    ErrorCode.LEADER_NOT_VERIFIED,
    ErrorCode.PAYMENT_PROVIDER_ERROR,
)


@dataclass(frozen=True)
class Paying:
    """A held seat and its payment: ``payment`` (what wx.requestPayment takes) or, when the
    payment part was refused, ``refused`` (the seat stays held: prepay later)."""

    held: Reservation
    payment: dict[str, str] | None = None
    refused: QunshopError | None = None


async def join_team(
    *,
    principal: Principal,
    team_ref: str,
    now: datetime,
    cashier: Cashier,
    chat_id: str | None = None,
) -> Paying:
    """``groupbuy.join_team``, and its seat's payment prepared."""
    held = await groupbuy.join_team(
        principal=principal,
        team_ref=team_ref,
        now=now,
        chat_id=chat_id,
        pay=True,
        leader_identity_required=cashier.leader_identity_required,
    )
    return await _prepared(principal, held, cashier, now)


async def start_team(
    *,
    principal: Principal,
    campaign_id: str,
    now: datetime,
    cashier: Cashier,
    chat_id: str | None = None,
) -> Paying:
    """``groupbuy.start_team``, and the head's seat's payment prepared."""
    held = await groupbuy.start_team(
        principal=principal, campaign_id=campaign_id, now=now, chat_id=chat_id
    )
    return await _prepared(principal, held, cashier, now)


async def _prepared(
    principal: Principal, held: Reservation, cashier: Cashier, now: datetime
) -> Paying:
    try:
        payment = await payment_of(principal, held, cashier=cashier, now=now)
    except QunshopError as exc:  # the seat stands: the answer says why, prepay later
        return Paying(held, refused=_refused(held.order_row["id"], exc))
    return Paying(held, payment=payment)


async def pay_held(
    principal: Principal, order_id: str, *, cashier: Cashier, now: datetime
) -> tuple[dict[str, str] | None, QunshopError | None]:
    """The payment of a seat held by a join that already committed (a join under an
    Idempotency-Key: its record commits with the seat, then WeChat Pay is asked with no team
    or stock lock held; asked again on a replay, WeChat Pay answers the same prepay_id for the
    same out_trade_no): the ordinary prepay. (payment, None) or (None, refusal)."""
    try:
        payment = await prepays.prepay(
            principal=principal, order_id=order_id, cashier=cashier, now=now
        )
    except QunshopError as exc:  # the seat stands: the answer says why, prepay later
        return None, _refused(order_id, exc)
    return payment, None


def _refused(order_id: object, exc: QunshopError) -> QunshopError:
    logger.info("order %s held, not prepaid: %s", order_id, exc.code.value)
    return exc


async def payment_of(
    principal: Principal, held: Reservation, *, cashier: Cashier, now: datetime
) -> dict[str, str]:
    """What wx.requestPayment takes for the held seat's order: from what the join's statement
    read, or else through the ordinary prepay. Refused as prepay refuses (``PAY_REFUSALS``)."""
    if held.payer is not None:
        return await prepays.prepay_joined(
            principal,
            held.order_row,
            payer_openid=held.payer.openid,
            leader_verified=held.payer.leader_verified,
            cashier=cashier,
            now=now,
        )
    return await prepays.prepay(
        principal=principal, order_id=held.order_row["id"], cashier=cashier, now=now
    )
