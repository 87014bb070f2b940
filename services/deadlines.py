"""Everything with a deadline, in one place: what is due now, and when the next thing is.

Deadlines live in database columns (team deadlines, reservation expiries, reminders,
activity times); the clock asks here, so a restart loses nothing.
"""

from __future__ import annotations

from datetime import datetime

from models.activity import Activity
from services import aftersales, bargains, batches, due_rows, reminders


async def next_due(now: datetime) -> datetime | None:
    """The earliest future (or overdue) deadline of any kind; None when nothing is pending."""
    candidates: list[datetime] = []
    lapsing = await due_rows.earliest()  # teams, seats and unpaid orders, the large tables
    if lapsing:
        candidates.append(lapsing)
    activity = (
        await Activity.filter(active=True, next_run_at__isnull=False)
        .order_by("next_run_at")
        .first()
    )
    if activity and activity.next_run_at:
        candidates.append(activity.next_run_at)
    after_sale = await aftersales.next_due()
    if after_sale:
        candidates.append(after_sale)
    cutoff = await batches.next_due()
    if cutoff:
        candidates.append(cutoff)
    bargain = await bargains.next_deadline()
    if bargain:
        candidates.append(bargain)
    reminder = await reminders.next_team_reminder(now)
    if reminder:
        candidates.append(reminder)
    return min(candidates) if candidates else None
