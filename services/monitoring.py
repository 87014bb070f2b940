"""What the operators' alerts watch, read from the database in a few aggregate queries.

``/metrics`` asks for this at scrape time (the doors cache it for a few seconds), so every
figure is one indexed aggregate, never a scan of all orders:

- the outbox: messages pending, due now, the age of the oldest pending one, and parked
  (dead) messages waiting for a person;
- refunds WeChat Pay closed (``failed``: money still owed) and refunds pending past an hour;
- the clock: the worst lag of the job runs in the last five minutes, failures in the hour;
- reconciliation differences on the orders of the last two days: payments honoured on
  orders that never counted as paid, and payments refunded with no refund row to send the
  money back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise import connections

LAG_WINDOW = timedelta(minutes=5)
FAILURE_WINDOW = timedelta(hours=1)
RECONCILE_WINDOW = timedelta(days=2)
REFUND_STUCK_AFTER = timedelta(hours=1)

_OUTBOX = """
SELECT count(*) AS pending,
       count(*) FILTER (WHERE next_attempt_at <= $1) AS due,
       min(created_at) AS oldest
FROM outbox WHERE status = 'pending'
"""
_PARKED = "SELECT count(*) FROM outbox WHERE status = 'dead'"
_REFUNDS = """
SELECT count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status IN ('pending', 'submitted') AND created_at < $1) AS stuck
FROM refunds WHERE status IN ('failed', 'pending', 'submitted')
"""
_CLOCK = """
SELECT max(lag_ms) FILTER (WHERE ran_at >= $1) AS lag_ms,
       count(*) FILTER (WHERE NOT ok) AS failures,
       max(ran_at) AS last_run
FROM job_runs WHERE ran_at >= $2
"""
# Money in with nothing to show for it: an honoured payment on an order still awaiting
# payment or cancelled, or a payment to send back with no refund row that sends it.
_RECONCILE = """
SELECT count(DISTINCT p.id) FROM payments p JOIN orders o ON o.id = p.order_id
LEFT JOIN refunds r ON r.payment_id = p.id
WHERE o.created_at >= $1
  AND ((p.outcome = 'honoured' AND o.status IN ('pending_payment', 'cancelled'))
       OR (p.outcome = 'refunded' AND r.id IS NULL))
"""


@dataclass(frozen=True)
class Health:
    outbox_pending: int
    outbox_due: int
    outbox_oldest_age_seconds: float  # 0 when nothing is pending
    outbox_parked: int
    refunds_failed: int
    refunds_stuck: int
    scheduler_lag_seconds: float | None  # None: no job ran in the last five minutes
    scheduler_failures: int
    scheduler_last_run_age_seconds: float | None
    reconciliation_differences: int


async def health(*, now: datetime) -> Health:
    db = connections.get("default")
    pending, due, oldest = (await db.execute_query_dict(_OUTBOX, [now]))[0].values()
    parked = (await db.execute_query_dict(_PARKED))[0]["count"]
    failed, stuck = (await db.execute_query_dict(_REFUNDS, [now - REFUND_STUCK_AFTER]))[0].values()
    lag_ms, failures, last_run = (
        await db.execute_query_dict(_CLOCK, [now - LAG_WINDOW, now - FAILURE_WINDOW])
    )[0].values()
    differences = (await db.execute_query_dict(_RECONCILE, [now - RECONCILE_WINDOW]))[0]["count"]
    return Health(
        outbox_pending=pending,
        outbox_due=due,
        outbox_oldest_age_seconds=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
        outbox_parked=parked,
        refunds_failed=failed,
        refunds_stuck=stuck,
        scheduler_lag_seconds=lag_ms / 1000 if lag_ms is not None else None,
        scheduler_failures=failures,
        scheduler_last_run_age_seconds=(
            max((now - last_run).total_seconds(), 0.0) if last_run else None
        ),
        reconciliation_differences=differences,
    )
