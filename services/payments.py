"""WeChat Pay: apply payment notifies exactly once (prepaying an order: services/prepays.py)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models.catalog import Sku
from models.groupbuy import Seat, Team
from models.order import Order, OrderKind, OrderStatus
from models.payment import Payment
from models.user import User
from services import (
    coupon_grants,
    earnings,
    groupbuy,
    growth_rules,
    orders,
    points,
    pricing,
    refunds,
    share_cards,
    tiers,
)
from wechat.pay import PayProtocolError, nonce, parse_xml, sign, to_xml, verify

if TYPE_CHECKING:
    from collections.abc import Mapping

logger = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")  # the time zone of WeChat Pay's time_end


class NotifyRefused(Exception):
    """Not genuine, not ours, or not matching the order: answer FAIL and change nothing."""


@dataclass(frozen=True)
class NotifyOutcome:
    order_id: str | None
    applied: bool  # False: a repeat, or a failed payment with nothing to do
    honoured: bool


async def handle_notify(
    body: bytes, *, api_key: str, appid: str, mch_id: str, now: datetime
) -> NotifyOutcome:
    try:
        data = parse_xml(body)
    except PayProtocolError as exc:
        raise NotifyRefused(f"unreadable notify: {exc}") from exc
    if not verify(data, api_key):
        raise NotifyRefused("bad signature")
    if data.get("return_code") != "SUCCESS":
        raise NotifyRefused(f"return_code {data.get('return_code')}")
    if data.get("appid") != appid or data.get("mch_id") != mch_id:
        raise NotifyRefused("appid or mch_id is not ours")
    if data.get("result_code") != "SUCCESS":
        logger.info("payment failed for %s: %s", data.get("out_trade_no"), data.get("err_code"))
        return NotifyOutcome(order_id=None, applied=False, honoured=False)
    try:
        amount = int(data.get("total_fee", ""))
    except ValueError:
        raise NotifyRefused("total_fee is not a number") from None
    transaction_id = data.get("transaction_id", "")
    if not transaction_id:
        raise NotifyRefused("no transaction_id")
    return await _apply(data.get("out_trade_no", ""), transaction_id, amount, data, now)


_PAY_SQL = (
    "SELECT outcome, order_id, ord, team, completed, card, owed_orders, owed_amounts, "
    "tier_settled, tier_failed, first_order_templates, accrued "
    "FROM qunshop_pay_order($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
)


def _rules() -> list[Any]:
    """What the statement needs of rules kept in Python: the tiers' defaults, the points of a
    member without perks, the growth rules without a row, and the group tie's window."""
    return [
        tiers.DEFAULT_WINDOW_DAYS,
        tiers.DEFAULT_TZ,
        tiers.RULES_ID,
        tiers.NO_PERKS.points_multiplier_pct,
        growth_rules.SCOPE,
        earnings.DEFAULT_BPS,
        earnings.GROUP_WINDOW,
    ]


async def _apply(
    out_trade_no: str, transaction_id: str, amount: int, data: dict[str, str], now: datetime
) -> NotifyOutcome:
    """One transition and one set of side effects per transaction id, however many deliveries.

    ``qunshop_pay_order`` (migrations 0080, 0130, 0160, 0170, 0200) does, in one statement,
    the locks, the payment row (once per transaction id), the checks, the seat, the order and
    its coupon, the team's success and its news when this payment fills it, and for an
    honoured payment the member's tier without a ladder, the points, the earnings; it answers
    the order's row.

    It is asked alone first, its own transaction: most payments owe nothing more, one that
    fills its team included (0200: the success and its news are the statement's). One that
    Python must follow in the same transaction (refused, refunds at its team's price, a share
    card, first-order coupons, a tier ladder) is answered ``in_transaction`` with nothing
    written, and asked again inside a transaction that the follow-ups share.
    """
    args = [out_trade_no, transaction_id, amount, json.dumps(data), now, *_rules()]
    _, rows = await connections.get("default").execute_query(_PAY_SQL, [*args, True])
    if rows[0]["outcome"] != "in_transaction":
        return await _answer(rows[0], out_trade_no, transaction_id, amount, now)
    async with in_transaction() as db:
        _, rows = await db.execute_query(_PAY_SQL, [*args, False])
        return await _answer(rows[0], out_trade_no, transaction_id, amount, now)


async def _answer(
    answer: Mapping[str, Any], out_trade_no: str, transaction_id: str, amount: int, now: datetime
) -> NotifyOutcome:
    """The statement's answer, and what follows it in its transaction."""
    outcome, order_id = answer["outcome"], answer["order_id"]
    if outcome == "unknown":
        raise NotifyRefused(f"unknown out_trade_no {out_trade_no!r}")
    if outcome == "mismatch":
        logger.error("amount mismatch on order %s: notified %s", order_id, amount)
        raise NotifyRefused("amount mismatch")
    if outcome == "repeat":
        return NotifyOutcome(order_id=str(order_id), applied=False, honoured=False)
    if outcome == "honoured":
        await _honoured(answer, now)
    else:
        await _refuse(_order_of(answer), outcome, transaction_id, amount, now)
    return NotifyOutcome(order_id=str(order_id), applied=True, honoured=outcome == "honoured")


def _order_of(answer: Mapping[str, Any]) -> Order:
    return Order._init_from_db(**dict(answer["ord"].items()))


def _team_of(answer: Mapping[str, Any]) -> Team | None:
    row = answer["team"]
    return Team._init_from_db(**dict(row.items())) if row else None


async def _honoured(answer: Mapping[str, Any], now: datetime) -> None:
    """What an honoured payment owes that its statement could not do. Most owe nothing
    more (answered alone, not ``in_transaction``): no model is built for them."""
    if answer["accrued"]:
        logger.info("order %s accrued %s earnings entries", answer["order_id"], answer["accrued"])
    if answer["completed"]:
        await groupbuy.completed(
            _team_of(answer),
            owed_orders=answer["owed_orders"],
            owed_amounts=answer["owed_amounts"],
            now=now,
            card=answer["card"],
        )
    elif answer["card"]:
        await share_cards.changed(_team_of(answer), now=now)
    perks = await tiers.on_paid(
        answer["ord"]["user_id"],
        settled=answer["tier_settled"],
        failed=answer["tier_failed"],
        now=now,
    )
    if perks is None and not answer["first_order_templates"]:
        return
    order = _order_of(answer)
    if perks is not None:  # a ladder: the points its perks earn
        await points.earn_for_order(order, multiplier_percent=perks.points_multiplier_pct, now=now)
    if answer["first_order_templates"]:
        await coupon_grants.on_first_order(
            order, template_ids=answer["first_order_templates"], now=now
        )


async def _refuse(
    order: Order, outcome: str, transaction_id: str, amount: int, now: datetime
) -> None:
    """A payment the order cannot take (recorded ``refunded`` by the function) is sent back;
    a new-user offer someone already used cancels the order first (seat or stock back)."""
    if outcome == "offer_used":
        logger.warning("order %s: new-user offer, but %s paid meanwhile", order.id, order.user_id)
        await _cancel_unhonoured(order, now)
    if order.status is OrderStatus.CANCELLED:
        await orders.transition(order, OrderStatus.REFUNDING)
    await refunds.owe(
        order=order,
        payment=await Payment.get(transaction_id=transaction_id),
        amount=amount,
        reason="unhonourable_payment",
        now=now,
    )


async def _cancel_unhonoured(order: Order, now: datetime) -> None:
    """The order cannot be paid at its price: it is cancelled (seat or stock back)."""
    if order.kind is OrderKind.GROUP:
        seat = await Seat.get(order_id=order.id)
        await groupbuy.release_seat(seat.id, now=now, force=True)
    else:
        await orders.transition(order, OrderStatus.CANCELLED)
        await Sku.filter(id=order.sku_id).update(stock=F("stock") + order.quantity)
    order.status = (await Order.get(id=order.id)).status


async def simulated_notify(
    *, order: Order, api_key: str, appid: str, mch_id: str, transaction_id: str, now: datetime
) -> bytes:
    """The notify WeChat Pay would send for ``order``, signed with our key (development).

    Refused (409) unless the order awaits payment: WeChat Pay takes no money for an order
    that is paid, cancelled or past its window, so neither does the simulation.
    """
    pricing.ensure_payable(order, now)
    user = await User.get(id=order.user_id)
    params = {
        "return_code": "SUCCESS",
        "result_code": "SUCCESS",
        "appid": appid,
        "mch_id": mch_id,
        "nonce_str": nonce(),
        "openid": user.openid,
        "trade_type": "JSAPI",
        "bank_type": "OTHERS",
        "total_fee": str(order.amount),
        "cash_fee": str(order.amount),
        "fee_type": "CNY",
        "transaction_id": transaction_id,
        "out_trade_no": order.out_trade_no,
        "time_end": now.astimezone(SHANGHAI).strftime("%Y%m%d%H%M%S"),  # WeChat Pay's clock
        "sign_type": "HMAC-SHA256",
    }
    params["sign"] = sign(params, api_key, "HMAC-SHA256")
    return to_xml(params)
