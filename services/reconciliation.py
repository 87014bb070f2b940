"""Reconciliation: WeChat Pay's bill of a day, matched with the payments and refunds we hold.

Once a day, after WeChat Pay has made the bills (from 09:00 Shanghai), the clock queues the
previous day's run (``schedule``, once per day through the outbox's dedupe key); the outbox
downloads the bill (``run``), retrying while WeChat Pay is still making it. Each run lists
its differences for an operator, and alerts when there are any (or when the bill could not
be had): an error in the log and a message to every admin who can be reached.

- paid_unknown: the bill has a payment (or refund) our books do not;
- known_unpaid: our books have a payment (or refund) of that day the bill does not;
- amount_mismatch: both have it, for different amounts.

Our day is WeChat Pay's: a payment counts on the day of its ``time_end`` (the notify's, in
Shanghai time), a refund on the day it was asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from models.outbox import OutboxMessage
from models.payment import Payment, Refund, RefundStatus
from models.reconciliation import BillDifference, BillRun, BillRunStatus, DifferenceKind
from models.user import Role, User
from qunshop.errors import Conflict, ErrorCode, NotFound
from services import notify, outbox
from services.ids import parse_uuid
from services.outbox import GiveUp, RetryLater
from wechat import bill
from wechat.api import PayError

if TYPE_CHECKING:
    from wechat.api import PayClient

logger = logging.getLogger(__name__)

KIND = "reconcile.bill"
SHANGHAI = ZoneInfo("Asia/Shanghai")  # WeChat Pay's days
BILLS_READY = time(10, 0)  # WeChat Pay makes the bills from 09:00; ask after 10:00
PAYMENT, REFUND = "payment", "refund"
# Refunds WeChat Pay has (or had) in hand: a pending one was never sent, a failed one closed.
SENT = (RefundStatus.SUBMITTED, RefundStatus.SUCCEEDED)
Alert = Callable[[BillRun, list[BillDifference]], str]


@dataclass(frozen=True)
class Found:
    kind: DifferenceKind
    subject: str
    out_trade_no: str = ""
    transaction_id: str = ""
    out_refund_no: str = ""
    bill_amount: int | None = None
    our_amount: int | None = None


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=SHANGHAI)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def _paid_on(payment: Payment) -> date:
    """The payment's day in WeChat Pay's time: its notify's time_end, else when it came."""
    stamp = str((payment.payload or {}).get("time_end", ""))
    try:
        return datetime.strptime(stamp, "%Y%m%d%H%M%S").date()  # noqa: DTZ007 - Shanghai text
    except ValueError:
        return payment.received_at.astimezone(SHANGHAI).date()


async def _our_payments(day: date) -> dict[str, Payment]:
    start, end = _day_bounds(day)
    near = await Payment.filter(
        received_at__gte=start - timedelta(days=1), received_at__lt=end + timedelta(days=1)
    ).prefetch_related("order")
    return {p.transaction_id: p for p in near if _paid_on(p) == day}


async def _our_refunds(day: date) -> dict[str, Refund]:
    start, end = _day_bounds(day)
    found = await Refund.filter(
        created_at__gte=start, created_at__lt=end, status__in=SENT
    ).prefetch_related("order")
    return {r.out_refund_no: r for r in found}


async def match(day: date, rows: list[bill.BillRow]) -> list[Found]:
    """Every difference between the bill's rows and our books for ``day``."""
    found: list[Found] = []
    paid = {r.transaction_id: r for r in rows if r.trade_state != "REFUND"}
    refunded = {r.out_refund_no: r for r in rows if r.trade_state == "REFUND"}
    ours = await _our_payments(day)
    for tid, row in paid.items():
        payment = ours.get(tid) or await Payment.get_or_none(transaction_id=tid)
        if payment is None:
            found.append(
                Found(
                    DifferenceKind.PAID_UNKNOWN,
                    PAYMENT,
                    row.out_trade_no,
                    tid,
                    bill_amount=row.total_fee,
                )
            )
        elif payment.amount != row.total_fee:
            found.append(
                Found(
                    DifferenceKind.AMOUNT_MISMATCH,
                    PAYMENT,
                    row.out_trade_no,
                    tid,
                    bill_amount=row.total_fee,
                    our_amount=payment.amount,
                )
            )
    for tid, payment in ours.items():
        if tid not in paid:
            await payment.fetch_related("order")
            found.append(
                Found(
                    DifferenceKind.KNOWN_UNPAID,
                    PAYMENT,
                    payment.order.out_trade_no,
                    tid,
                    our_amount=payment.amount,
                )
            )
    our_refunds = await _our_refunds(day)
    for number, row in refunded.items():
        refund = our_refunds.get(number) or await Refund.get_or_none(out_refund_no=number)
        if refund is None:
            found.append(
                Found(
                    DifferenceKind.PAID_UNKNOWN,
                    REFUND,
                    row.out_trade_no,
                    row.transaction_id,
                    number,
                    bill_amount=row.refund_fee,
                )
            )
        elif refund.amount != row.refund_fee:
            found.append(
                Found(
                    DifferenceKind.AMOUNT_MISMATCH,
                    REFUND,
                    row.out_trade_no,
                    row.transaction_id,
                    number,
                    bill_amount=row.refund_fee,
                    our_amount=refund.amount,
                )
            )
    for number, refund in our_refunds.items():
        if number not in refunded:
            found.append(
                Found(
                    DifferenceKind.KNOWN_UNPAID,
                    REFUND,
                    refund.order.out_trade_no,
                    "",
                    number,
                    our_amount=refund.amount,
                )
            )
    return found


def yesterday(now: datetime) -> date:
    return now.astimezone(SHANGHAI).date() - timedelta(days=1)


async def schedule(*, now: datetime) -> bool:
    """For the clock: once a day, after the bills are made, queue yesterday's run."""
    if now.astimezone(SHANGHAI).time() < BILLS_READY:
        return False
    day = yesterday(now)
    key = f"reconcile:{day.isoformat()}"
    if await OutboxMessage.exists(dedupe_key=key):  # every sweep asks: mostly, it is queued
        return False
    return await outbox.enqueue(KIND, {"bill_date": day.isoformat()}, dedupe_key=key, now=now)


async def run(
    payload: dict[str, Any], *, pay: PayClient, alert: Alert, now: Callable[[], datetime]
) -> BillRun:
    """Outbox handler: download the day's bill, match it, record and alert."""
    day = date.fromisoformat(str(payload["bill_date"]))
    try:
        text = await pay.download_bill(bill_date=day)
        rows = bill.parse(text)
    except PayError as exc:
        if exc.retryable:
            raise RetryLater(f"{exc.code}: {exc.message}") from exc
        done = await _record(day, [], [], now(), error=f"{exc.code}: {exc.message}")
        await _alert(done, [], alert=alert, now=now())
        raise GiveUp(f"bill of {day}: {exc.code}") from exc
    except bill.BillFormatError as exc:
        done = await _record(day, [], [], now(), error=f"unreadable bill: {exc}")
        await _alert(done, [], alert=alert, now=now())
        raise GiveUp(f"bill of {day}: {exc}") from exc
    found = await match(day, rows)
    done = await _record(day, rows, found, now())
    if found:
        await _alert(done, await differences(done), alert=alert, now=now())
    return done


async def _record(
    day: date, rows: list[bill.BillRow], found: list[Found], now: datetime, *, error: str = ""
) -> BillRun:
    """The day's run (a re-run replaces the day's earlier one and its differences)."""
    values = {
        "status": BillRunStatus.FAILED if error else BillRunStatus.DONE,
        "payments": sum(1 for r in rows if r.trade_state != "REFUND"),
        "refunds": sum(1 for r in rows if r.trade_state == "REFUND"),
        "differences": len(found),
        "error": error[:500],
        "ran_at": now,
    }
    async with in_transaction():
        done, made = await BillRun.get_or_create(defaults=values, bill_date=day)
        if not made:
            await BillRun.filter(id=done.id).update(**values)
            await BillDifference.filter(run_id=done.id).delete()
        for item in found:
            await BillDifference.create(
                run_id=done.id,
                kind=item.kind,
                subject=item.subject,
                out_trade_no=item.out_trade_no,
                transaction_id=item.transaction_id,
                out_refund_no=item.out_refund_no,
                bill_amount=item.bill_amount,
                our_amount=item.our_amount,
            )
    logger.info("bill of %s: %s rows, %s differences", day, len(rows), len(found))
    return await BillRun.get(id=done.id)


async def _alert(run: BillRun, found: list[BillDifference], *, alert: Alert, now: datetime) -> None:
    """An error in the log, and a message to every admin reachable in the chat."""
    logger.error(
        "reconciliation of %s: %s (%s differences)",
        run.bill_date,
        run.error or "differences found",
        run.differences,
    )
    message = notify.text(alert(run, found))
    for admin in await User.filter(role=Role.ADMIN):
        await notify.to_user(
            user=admin,
            message=message,
            dedupe_key=f"reconcile:{run.bill_date}:{run.ran_at.isoformat()}:{admin.id}",
            now=now,
        )


async def runs(*, limit: int = 30) -> list[BillRun]:
    return list(await BillRun.all().order_by("-bill_date").limit(limit))


def parse_day(text: str) -> date:
    """A path's yyyy-mm-dd; anything else names no run."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise NotFound(ErrorCode.BILL_RUN_NOT_FOUND, f"no reconciliation of {text!r}") from None


async def run_of(day: date) -> BillRun:
    found = await BillRun.get_or_none(bill_date=day)
    if found is None:
        raise NotFound(ErrorCode.BILL_RUN_NOT_FOUND, f"no reconciliation of {day}")
    return found


async def differences(run: BillRun, *, open_only: bool = False) -> list[BillDifference]:
    query = BillDifference.filter(run_id=run.id)
    if open_only:
        query = query.filter(resolved_at__isnull=True)
    return list(await query.order_by("kind", "subject", "out_trade_no"))


async def resolve(
    *, actor_id: object, difference_id: str, note: str, now: datetime
) -> BillDifference:
    """An operator says what was done about a difference."""
    key = parse_uuid(difference_id)
    item = await BillDifference.get_or_none(id=key) if key else None
    if item is None:
        raise NotFound(ErrorCode.BILL_DIFFERENCE_NOT_FOUND, "no such difference")
    won = await BillDifference.filter(id=item.id, resolved_at__isnull=True).update(
        resolved_at=now, resolved_by_id=actor_id, note=note[:500]
    )
    if won != 1:
        raise Conflict(ErrorCode.BILL_DIFFERENCE_RESOLVED, "the difference was already resolved")
    return await BillDifference.get(id=item.id)


async def request_run(*, day: date, now: datetime) -> bool:
    """An operator asks for a day's run again (after fixing the books, say): queued now."""
    return await outbox.enqueue(
        KIND,
        {"bill_date": day.isoformat()},
        dedupe_key=f"reconcile:{day.isoformat()}:{now.isoformat()}",
        now=now,
    )
